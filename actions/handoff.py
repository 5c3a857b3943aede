"""Give the citizen a way to reach a person."""
from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from dichvucong.knowledge.base import default_knowledge_base
from dichvucong.settings import settings


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[str, Any],
    ) -> List[EventType]:
        support = settings().support
        lines = [
            "Bạn có thể liên hệ cán bộ hỗ trợ:",
            f"• Tổng đài hỗ trợ Cổng Dịch vụ công quốc gia: {support.hotline} (theo chân trang dichvucong.gov.vn)",
            f"• Email: {support.email}",
            f"• Trực tiếp: {support.office}, {support.office_hours}.",
        ]
        procedure = default_knowledge_base().get(tracker.get_slot("procedure"))
        if procedure:
            agency = next((f.text for f in procedure.agency), None)
            if agency:
                lines.append(f"Với thủ tục {procedure.short_name}: {agency}")
        lines.append(
            "Lưu ý: cán bộ không bao giờ hỏi mật khẩu hay mã OTP của bạn qua tin nhắn."
        )
        dispatcher.utter_message(response="utter_handoff", answer="\n".join(lines))
        return []
