"""Erasing a citizen's data on request ("xóa dữ liệu của tôi"), after confirmation.

The dossier subscriptions of the conversation are deleted at once. Its stored
events cannot be deleted from here: the tracker store writes this turn's events
after the action returns, and would write the conversation back. So the action
restarts the conversation, and its own event in the tracker store is the erase
request that the daily retention run (``python -m bot.cli.retention``,
``dichvucong.retention``) carries out: every event of the conversation up to the
citizen's next message.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, Restarted
from rasa_sdk.executor import CollectingDispatcher

from actions.dossier_lookup import call, repository
from dichvucong import retention
from dichvucong.knowledge.answers import date_vi

logger = logging.getLogger(__name__)
VIETNAM = dt.timezone(dt.timedelta(hours=7))


def erase_answer(subscriptions: int, due: dt.datetime) -> str:
    local = due.astimezone(VIETNAM)
    deleted = (
        f"Đã xóa {subscriptions} đăng ký nhận thông báo hồ sơ của cuộc trò chuyện này."
        if subscriptions else "Cuộc trò chuyện này không có đăng ký nhận thông báo hồ sơ nào."
    )
    return (
        f"{deleted} Lịch sử tin nhắn của cuộc trò chuyện này (kể cả tin này) sẽ được xóa hẳn "
        f"khỏi hệ thống trong lần xóa dữ liệu hằng ngày, chậm nhất lúc {local:%H:%M} ngày "
        f"{date_vi(local.date())}. Hồ sơ thủ tục đã nộp tại cơ quan không bị ảnh hưởng. "
        "Từ giờ cuộc trò chuyện bắt đầu lại từ đầu."
    )


class ActionEraseMyData(Action):
    def name(self) -> str:
        return retention.ERASE_ACTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        try:
            removed = await call(
                retention.erase_subscriptions, repository().engine, [tracker.sender_id]
            )
        except Exception:  # noqa: BLE001 - the erase request still stands; retention retries
            logger.exception("subscriptions of an erased conversation not deleted")
            removed = 0
        dispatcher.utter_message(
            response="utter_erase_done", answer=erase_answer(removed, retention.erase_due_at())
        )
        return [Restarted()]
