"""Dossier records and their status history: register, correct, move, list.

The half of the repository staff use every day; lookups by citizens
(``verification``) and notices (``subscriptions``) build on it.
"""

from __future__ import annotations

import datetime as dt
from typing import List, Sequence, Union

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from dichvucong.codes import code_date, normalize_code
from dichvucong.dossiers.models import (
    FINAL_STATUSES,
    OPEN_STATUSES,
    RUNNING_STATUSES,
    STATUS_LABELS,
    VIETNAM_TZ,
    Dossier,
    Status,
    StatusEvent,
    as_utc,
    utcnow,
)
from dichvucong.dossiers.store.base import RepositoryBase, find, get_or_raise
from dichvucong.dossiers.store.validation import (
    DossierError,
    DossierExists,
    check_status_change,
    clean,
    require_code,
    require_procedure,
    require_status,
    validated_fields,
)
from dichvucong.settings import settings


class DossierRecords(RepositoryBase):
    def add(
        self,
        code: str,
        procedure_id: str,
        applicant_name: str,
        id_number: str,
        phone: str | None = None,
        *,
        receiving_agency: str,
        due_at: dt.date,
        received_at: dt.date | None = None,
        actor: str | None = None,
        at: dt.datetime | None = None,
    ) -> Dossier:
        """Register a received dossier and its first history entry ("Đã tiếp nhận")."""
        canonical = require_code(code)
        fields = validated_fields(
            self._digest,
            canonical,
            procedure_id=procedure_id,
            applicant_name=applicant_name,
            id_number=id_number,
            phone=phone,
            receiving_agency=receiving_agency,
            received_at=received_at or code_date(canonical),
            due_at=due_at,
        )
        at = as_utc(at) if at else utcnow()
        dossier = Dossier(code=canonical, status=Status.received.value, updated_at=at, **fields)
        try:
            with self._sessions.begin() as session:
                if find(session, canonical) is not None:
                    raise DossierExists(f"Hồ sơ {canonical} đã có trong cơ sở dữ liệu.")
                session.add(dossier)
                session.add(
                    StatusEvent(
                        dossier=dossier,
                        status=Status.received.value,
                        at=at,
                        actor=clean(actor),
                        office=dossier.receiving_agency,
                    )
                )
        except IntegrityError as error:  # the same code added concurrently
            raise DossierExists(f"Hồ sơ {canonical} đã có trong cơ sở dữ liệu.") from error
        return dossier

    def edit(
        self,
        code: str,
        *,
        procedure_id: str | None = None,
        applicant_name: str | None = None,
        id_number: str | None = None,
        phone: str | None = None,
        receiving_agency: str | None = None,
        received_at: dt.date | None = None,
        due_at: dt.date | None = None,
    ) -> Dossier:
        """Correct the registration data of a dossier; None leaves a field unchanged.

        ``updated_at`` is left alone: it dates the last status change, which is
        what "stalled" is measured against.
        """
        canonical = require_code(code)
        with self._sessions.begin() as session:
            dossier = get_or_raise(session, canonical, for_update=True)
            fields = validated_fields(
                self._digest,
                canonical,
                procedure_id=procedure_id or dossier.procedure_id,
                applicant_name=applicant_name or dossier.applicant_name,
                id_number=id_number,
                phone=phone,
                receiving_agency=receiving_agency or dossier.receiving_agency,
                received_at=received_at or dossier.received_at,
                due_at=due_at or dossier.due_at,
                partial=True,
            )
            for name, value in fields.items():
                setattr(dossier, name, value)
        return dossier

    def get(self, code: str) -> Dossier | None:
        """The dossier with this code (typed in any accepted form), or None."""
        canonical = normalize_code(code or "")
        if canonical is None:
            return None
        with self._sessions() as session:
            return find(session, canonical)

    def update_status(
        self,
        code: str,
        status: Union[str, Status],
        actor: str | None,
        office: str | None,
        reason: str | None = None,
        missing_items: Union[Sequence[str], str] | None = None,
        instructions: str | None = None,
        at: dt.datetime | None = None,
    ) -> StatusEvent:
        """Move a dossier to ``status`` and record who did it, where and why."""
        canonical = require_code(code)
        status, actor, reason, items, instructions = check_status_change(
            status, actor, reason, missing_items, instructions
        )
        label = STATUS_LABELS[status]
        at = as_utc(at) if at else utcnow()
        with self._sessions.begin() as session:
            dossier = get_or_raise(session, canonical, for_update=True)
            if dossier.status in FINAL_STATUSES:
                raise DossierError(
                    f"Hồ sơ {canonical} đã kết thúc với trạng thái “{dossier.status_label}”; "
                    f"không thể chuyển sang “{label}”."
                )
            event_row = StatusEvent(
                dossier=dossier,
                status=status,
                at=at,
                actor=actor,
                office=clean(office) or dossier.receiving_agency,
                reason=reason,
                missing_items=items or None,
                instructions=instructions,
            )
            session.add(event_row)
            dossier.status = status
            dossier.updated_at = at
        return event_row

    def history(self, code: str) -> List[StatusEvent]:
        """Every status change of a dossier, oldest first."""
        canonical = require_code(code)
        with self._sessions() as session:
            dossier = get_or_raise(session, canonical)
            return list(
                session.execute(
                    select(StatusEvent)
                    .where(StatusEvent.dossier_id == dossier.id)
                    .order_by(StatusEvent.at, StatusEvent.id)
                ).scalars()
            )

    def list(self, status: str | None = None, procedure_id: str | None = None) -> List[Dossier]:
        query = select(Dossier).order_by(Dossier.received_at, Dossier.code)
        if status:
            query = query.where(Dossier.status == require_status(status))
        if procedure_id:
            query = query.where(Dossier.procedure_id == require_procedure(procedure_id))
        with self._sessions() as session:
            return list(session.execute(query).scalars())

    def overdue(self, today: dt.date | None = None) -> List[Dossier]:
        """Dossiers past their due date while the office still works on them."""
        today = today or settings().today()
        query = (
            select(Dossier)
            .where(Dossier.status.in_(sorted(RUNNING_STATUSES)), Dossier.due_at < today)
            .order_by(Dossier.due_at, Dossier.code)
        )
        with self._sessions() as session:
            return list(session.execute(query).scalars())

    def stalled(self, today: dt.date | None = None, days: int | None = None) -> List[Dossier]:
        """Open dossiers whose status has not changed for at least ``days`` days."""
        query = (
            select(Dossier)
            .where(
                Dossier.status.in_(sorted(OPEN_STATUSES)),
                Dossier.updated_at < _stalled_cutoff(today, days),
            )
            .order_by(Dossier.updated_at, Dossier.code)
        )
        with self._sessions() as session:
            return list(session.execute(query).scalars())


def _stalled_cutoff(today: dt.date | None, days: int | None) -> dt.datetime:
    today = today or settings().today()
    days = settings().dossiers.stalled_after_days if days is None else days
    # Unchanged since at least the Vietnamese calendar day ``today - days``.
    first_fresh_day = today - dt.timedelta(days=days - 1)
    return dt.datetime.combine(first_fresh_day, dt.time(), VIETNAM_TZ).astimezone(dt.timezone.utc)
