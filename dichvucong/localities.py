"""Administrative units before and after the 1 July 2025 reorganisation.

Interface stub shared by the answers (dichvucong/knowledge/answers.py) and the
localities work: it is replaced by the real wrapper around vietnamadminunits.
"""
from __future__ import annotations


def office_line(procedure_id: str, locality: str | None) -> str | None:
    """One Vietnamese line naming where to go today for this procedure in the
    citizen's locality (the slot ``locality``), or None when unknown."""
    return None
