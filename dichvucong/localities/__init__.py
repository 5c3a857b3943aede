"""Administrative units before and after the 1 July 2025 reorganisation.

A wrapper around vietnamadminunits (MIT, offline data) that never reaches its
online geocoder (units.py), recognises old and new names in free text
(resolve.py) and words the answers (answers.py). ``office_line`` is what the
procedure answers call with the slot ``locality``.
"""
from __future__ import annotations

from dichvucong.localities.answers import change_answer, office_line, split_buttons, today
from dichvucong.localities.resolve import Resolution, resolve

__all__ = ["Resolution", "change_answer", "office_line", "resolve", "split_buttons", "today"]
