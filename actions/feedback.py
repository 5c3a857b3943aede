"""Citizens rate an answer with 👍/👎; the rating stays in the tracker for staff."""
from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

RATING_BUTTONS = [
    {"title": "👍 Hữu ích", "payload": '/rate_answer{"rating":"up"}'},
    {"title": "👎 Chưa đúng", "payload": '/rate_answer{"rating":"down"}'},
]


class ActionRateAnswer(Action):
    def name(self) -> str:
        return "action_rate_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        rating = next(tracker.get_latest_entity_values("rating"), None)
        if rating == "down":
            dispatcher.utter_message(response="utter_thanks_negative_rating")
        else:
            dispatcher.utter_message(response="utter_thanks_positive_rating")
        return []
