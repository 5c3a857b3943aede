"""A custom action that cannot run tells the citizen so, in Vietnamese.

When the action servers are down (or the balancer in front of them answers
503), Rasa 3.6 logs the error, drops the action's events and goes on: the
citizen gets an empty reply and does not know whether to wait or retry. Here
``RemoteAction.run`` is wrapped: any failure to reach or hear from the action
server (a ``RasaException`` other than a rejection, which Rasa handles itself)
becomes one polite message, stored like any bot message. The citizen's own
message is stored as usual, and the next message runs the action again, so
service resumes as soon as an action server is back.
"""
from __future__ import annotations

import logging
from typing import Any, List

from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.shared.core.events import BotUttered, Event
from rasa.shared.exceptions import RasaException

logger = logging.getLogger(__name__)

ORIGINAL = RemoteAction.run
ACTIONS_UNAVAILABLE = (
    "Xin lỗi, một phần hệ thống đang tạm gián đoạn nên tôi chưa trả lời được yêu cầu "
    "này. Tin nhắn của bạn đã được ghi nhận; bạn vui lòng gửi lại sau ít phút."
)


async def run(self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any,
              domain: Any) -> List[Event]:
    try:
        return await ORIGINAL(self, output_channel, nlg, tracker, domain)
    except ActionExecutionRejection:
        raise
    except RasaException:
        logger.warning("custom action %s could not run (action server unavailable); "
                       "the citizen is told to retry", self.name())
        return [BotUttered(ACTIONS_UNAVAILABLE, metadata={"error": "actions_unavailable"})]


def install() -> None:
    RemoteAction.run = run
