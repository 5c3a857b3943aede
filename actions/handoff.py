"""Give the citizen a way to reach a person."""
from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from dichvucong import settings as config
from dichvucong.knowledge.base import default_knowledge_base


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[str, Any],
    ) -> List[EventType]:
        lines = [
            "Bạn có thể liên hệ cán bộ hỗ trợ:",
            f"• Tổng đài hỗ trợ Cổng Dịch vụ công quốc gia: {config.HOTLINE} (theo chân trang dichvucong.gov.vn)",
            f"• Email: {config.SUPPORT_EMAIL}",
            f"• Trực tiếp: {config.OFFICE_NAME}, {config.OFFICE_HOURS}.",
        ]
        procedure = default_knowledge_base().get(tracker.get_slot("procedure"))
        if procedure:
            agency = next((f.text for f in procedure.agency), None)
            if agency:
                lines.append(f"Với thủ tục {procedure.short_name}: {agency}")
        lines.append(
            "Lưu ý: cán bộ không bao giờ hỏi mật khẩu hay mã OTP của bạn qua tin nhắn."
        )
        dispatcher.utter_message(response="utter_procedure_answer", answer="\n".join(lines))
        return []
