"""Dossier figures for the overview: the share resolved early or on time, per office,
procedure and month, against each office's target, and the overdue and stalled lists.

This is the figure provinces report (e.g. 99.46 % in thị xã Phước Long's Đề án 06
review). A dossier counts as resolved on the Vietnamese day of its first decision
(result ready, returned or rejected) and is compared with its due date as stored:
before it is early, on it on time, after it late. The dossier tables live in the
console's own database (``DATABASE_URL``). The lists show dossier codes, procedures
and offices, never the applicant.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy import func, select

from bot.console.db import Database
from bot.console.quality import QualityConfig
from dichvucong.dossiers.models import (
    OPEN_STATUSES,
    RUNNING_STATUSES,
    STATUS_LABELS,
    VIETNAM_TZ,
    Dossier,
    Status,
    StatusEvent,
    local_date,
)

DECISIONS = (Status.result_ready.value, Status.returned.value, Status.rejected.value)
LIST_LIMIT = 50


@dataclass
class Group:
    """Resolved dossiers of one office, procedure or month."""

    key: str
    target: float
    early: int = 0
    on_time: int = 0
    late: int = 0

    @property
    def resolved(self) -> int:
        return self.early + self.on_time + self.late

    @property
    def share(self) -> float | None:
        return (self.early + self.on_time) / self.resolved if self.resolved else None

    @property
    def meets_target(self) -> bool | None:
        share = self.share
        return None if share is None else share >= self.target

    def add(self, resolved_on: dt.date, due: dt.date) -> None:
        if resolved_on < due:
            self.early += 1
        elif resolved_on == due:
            self.on_time += 1
        else:
            self.late += 1

    def as_dict(self) -> Dict[str, Any]:
        return {"key": self.key, "resolved": self.resolved, "early": self.early,
                "on_time": self.on_time, "late": self.late, "share": self.share,
                "target": self.target, "meets_target": self.meets_target}


@dataclass
class DossierFigures:
    start: dt.date
    end: dt.date
    total: Group
    offices: List[Group] = field(default_factory=list)
    procedures: List[Group] = field(default_factory=list)
    months: List[Group] = field(default_factory=list)
    overdue: List[Dict[str, Any]] = field(default_factory=list)
    overdue_count: int = 0
    stalled: List[Dict[str, Any]] = field(default_factory=list)
    stalled_count: int = 0

    def as_dict(self) -> Dict[str, Any]:
        return {
            "from": self.start.isoformat(), "to": self.end.isoformat(),
            "total": self.total.as_dict(),
            "offices": [g.as_dict() for g in self.offices],
            "procedures": [g.as_dict() for g in self.procedures],
            "months": [g.as_dict() for g in self.months],
            "overdue": {"count": self.overdue_count, "dossiers": self.overdue},
            "stalled": {"count": self.stalled_count, "dossiers": self.stalled},
        }


def _resolutions(db: Database) -> List[Tuple[Dossier, dt.datetime]]:
    """Every dossier that has a decision, with the moment of its first decision."""
    first = (
        select(StatusEvent.dossier_id, func.min(StatusEvent.at).label("at"))
        .where(StatusEvent.status.in_(DECISIONS))
        .group_by(StatusEvent.dossier_id)
        .subquery()
    )
    query = select(Dossier, first.c.at).join(first, first.c.dossier_id == Dossier.id)
    with db.session() as session:
        return [(dossier, _aware(at)) for dossier, at in session.execute(query)]


def _aware(value: dt.datetime) -> dt.datetime:
    """``func.min`` bypasses the column type: SQLite hands back a naive UTC value."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _group(groups: Dict[str, Group], key: str, target: float) -> Group:
    if key not in groups:
        groups[key] = Group(key, target)
    return groups[key]


def _row(dossier: Dossier, today: dt.date) -> Dict[str, Any]:
    return {
        "code": dossier.code, "procedure": dossier.procedure_id,
        "office": dossier.receiving_agency, "status": dossier.status,
        "status_label": STATUS_LABELS.get(dossier.status, dossier.status),
        "due": dossier.due_at.isoformat(), "days_late": max((today - dossier.due_at).days, 0),
        "updated": local_date(dossier.updated_at).isoformat(),
    }


def _lists(db: Database, today: dt.date, stalled_days: int):
    cutoff = dt.datetime.combine(today - dt.timedelta(days=stalled_days - 1), dt.time(),
                                 VIETNAM_TZ)
    overdue = (select(Dossier)
               .where(Dossier.status.in_(sorted(RUNNING_STATUSES)), Dossier.due_at < today)
               .order_by(Dossier.due_at, Dossier.code))
    stalled = (select(Dossier)
               .where(Dossier.status.in_(sorted(OPEN_STATUSES)), Dossier.updated_at < cutoff)
               .order_by(Dossier.updated_at, Dossier.code))
    with db.session() as session:
        late = list(session.execute(overdue).scalars())
        still = list(session.execute(stalled).scalars())
    return late, still


def compute(db: Database, start: dt.date, end: dt.date, cfg: QualityConfig,
            today: Optional[dt.date] = None, stalled_days: int = 7) -> DossierFigures:
    """Figures for the dossiers resolved between ``start`` and ``end`` (Vietnam days)."""
    today = today or dt.datetime.now(VIETNAM_TZ).date()
    figures = DossierFigures(start, end, Group("Tất cả", cfg.default_target))
    offices: Dict[str, Group] = {}
    procedures: Dict[str, Group] = {}
    months: Dict[str, Group] = {}
    for dossier, at in _resolutions(db):
        resolved_on = local_date(at)
        if not start <= resolved_on <= end:
            continue
        office = dossier.receiving_agency
        for group in (
            figures.total,
            _group(offices, office, cfg.target_for(office)),
            _group(procedures, dossier.procedure_id, cfg.default_target),
            _group(months, resolved_on.strftime("%Y-%m"), cfg.default_target),
        ):
            group.add(resolved_on, dossier.due_at)
    figures.offices = sorted(offices.values(), key=lambda g: (g.share or 0, g.key))
    figures.procedures = sorted(procedures.values(), key=lambda g: g.key)
    figures.months = sorted(months.values(), key=lambda g: g.key)
    late, still = _lists(db, today, stalled_days)
    figures.overdue_count, figures.stalled_count = len(late), len(still)
    figures.overdue = [_row(d, today) for d in late[:LIST_LIMIT]]
    figures.stalled = [_row(d, today) for d in still[:LIST_LIMIT]]
    return figures
