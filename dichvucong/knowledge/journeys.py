"""Life-event journeys (birth, death, marriage, moving house, lost card).

Interface stub shared by the life-event NLU/actions and the answers work; it
is replaced by the real journey composer.
"""
from __future__ import annotations

import datetime as dt

from dichvucong.knowledge.answers import Answer

JOURNEY_IDS = ("birth", "death", "marriage", "moving_house", "lost_card")


def compose_journey(journey_id: str, today: dt.date | None = None) -> Answer | None:
    """The short journey answer (text + one button per step), or None."""
    return None
