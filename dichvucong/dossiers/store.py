"""All reads and writes of dossiers, their history, subscriptions and lookups.

Every public method opens and commits its own short transaction and returns
detached ORM objects whose columns stay readable (``expire_on_commit=False``).
Errors caused by bad input raise :class:`DossierError`, a ``ValueError`` whose
message is Vietnamese and can be shown to staff as is.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import re
from pathlib import Path
from typing import Iterable, List, Sequence, Tuple, Union

from sqlalchemy import create_engine, event, inspect, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from dichvucong.codes import EXAMPLE_CODE, code_date, normalize_code
from dichvucong.dossiers.models import (
    FINAL_STATUSES,
    NOTIFICATION_KINDS,
    OPEN_STATUSES,
    RUNNING_STATUSES,
    STATUS_LABELS,
    STATUSES,
    VIETNAM_TZ,
    Dossier,
    Notification,
    Status,
    StatusEvent,
    Subscription,
    as_utc,
    utcnow,
)
from dichvucong.knowledge.base import PROCEDURE_IDS
from dichvucong.privacy import (
    digest,
    digits_only,
    normalize_identity,
    normalize_phone,
)
from dichvucong.settings import PROJECT_ROOT, settings
from dichvucong.throttle import CODE_POLICY, Policy, Throttle

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"

Reminder = Tuple[Dossier, Subscription, str]
DossierRef = Union[Dossier, int]


class DossierError(ValueError):
    """Invalid input or state; the message is Vietnamese and meant for people."""


class DossierNotFound(DossierError):
    pass


class DossierExists(DossierError):
    pass


def fmt_date(value: dt.date) -> str:
    return value.strftime("%d/%m/%Y")


# --- engine and schema -------------------------------------------------------


def make_engine(url: str | None = None) -> Engine:
    """An engine for ``url`` (DATABASE_URL by default); creates an SQLite file's folder."""
    url = url or settings().dossiers.database_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, future=True)
        # SQLite ignores foreign keys (and ON DELETE CASCADE) unless asked per connection.
        event.listen(engine, "connect", _sqlite_foreign_keys)
        return engine
    return create_engine(url, future=True, pool_pre_ping=True)


def _sqlite_foreign_keys(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def alembic_config(url: str | None = None):
    from alembic.config import Config

    cfg = Config(str(ALEMBIC_INI)) if ALEMBIC_INI.exists() else Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would eat the "%" of percent-encoded passwords.
    cfg.set_main_option("sqlalchemy.url", (url or settings().dossiers.database_url).replace("%", "%%"))
    return cfg


def migrate(url: str | None = None, revision: str = "head") -> None:
    """``alembic upgrade <revision>`` on ``url``: the only way the schema is created."""
    from alembic import command

    make_engine(url).dispose()  # creates the SQLite folder before Alembic connects
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


# --- lookup scopes -----------------------------------------------------------


def _scope(prefix: str, value: str) -> str:
    key = f"{prefix}:{value}"
    # Sender ids come from outside; very long ones are hashed to fit the column.
    if len(key) > 200:
        key = f"{prefix}:sha256:{hashlib.sha256(value.encode()).hexdigest()}"
    return key


CODE_PREFIX = "code:"


def conversation_key(sender_id: str) -> str:
    return _scope("conv", sender_id)


def code_key(code: str) -> str:
    return _scope("code", normalize_code(code) or code.strip().upper())


# --- the repository ----------------------------------------------------------


class DossierRepository:
    def __init__(
        self,
        engine: Engine,
        *,
        pepper: str | None = None,
        max_failures: int | None = None,
        lock_minutes: int | None = None,
        window_minutes: int | None = None,
    ) -> None:
        self.engine = engine
        self._sessions = sessionmaker(bind=engine, future=True, expire_on_commit=False)
        defaults = settings().dossiers
        self.pepper = defaults.pepper if pepper is None else pepper
        max_failures = max_failures or defaults.lookup_max_failures
        lock_time = dt.timedelta(minutes=lock_minutes or defaults.lookup_lock_minutes)
        # Failures are counted over a window as long as the lock itself unless
        # told otherwise: three wrong guesses spread over a day are not an attack.
        window = dt.timedelta(minutes=window_minutes or lock_minutes or defaults.lookup_lock_minutes)
        self.conversation_policy = Policy(max_failures=max_failures, lock=lock_time, window=window)
        self.code_policy = dataclasses.replace(
            CODE_POLICY, max_failures=max_failures, lock=lock_time, window=window
        )
        self.throttle = Throttle(self._sessions, self._policy)

    @classmethod
    def from_url(cls, url: str | None = None, **kwargs) -> DossierRepository:
        return cls(make_engine(url), **kwargs)

    def session(self) -> Session:
        return self._sessions()

    def schema_ready(self) -> bool:
        """True once the migrations have created the tables."""
        return inspect(self.engine).has_table(Dossier.__tablename__)

    def dispose(self) -> None:
        self.engine.dispose()

    def _digest(self, value: str, code: str) -> str:
        return digest(value, code, self.pepper)

    # --- dossiers ------------------------------------------------------------

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
        canonical = _require_code(code)
        fields = self._validated_fields(
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
                if _find(session, canonical) is not None:
                    raise DossierExists(f"Hồ sơ {canonical} đã có trong cơ sở dữ liệu.")
                session.add(dossier)
                session.add(
                    StatusEvent(
                        dossier=dossier,
                        status=Status.received.value,
                        at=at,
                        actor=_clean(actor),
                        office=dossier.receiving_agency,
                    )
                )
        except IntegrityError as error:  # the same code added concurrently
            raise DossierExists(f"Hồ sơ {canonical} đã có trong cơ sở dữ liệu.") from error
        return dossier

    add_dossier = add

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
        canonical = _require_code(code)
        with self._sessions.begin() as session:
            dossier = _get_or_raise(session, canonical, for_update=True)
            fields = self._validated_fields(
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

    def _validated_fields(self, code: str, *, partial: bool = False, **raw) -> dict:
        procedure_id = (raw["procedure_id"] or "").strip()
        if procedure_id not in PROCEDURE_IDS:
            raise DossierError(
                f"Thủ tục “{procedure_id}” không có trong danh mục. "
                f"Dùng một trong: {', '.join(PROCEDURE_IDS)}."
            )
        name = " ".join((raw["applicant_name"] or "").split())
        if not name:
            raise DossierError("Thiếu họ tên người nộp hồ sơ.")
        agency = " ".join((raw["receiving_agency"] or "").split())
        if not agency:
            raise DossierError("Thiếu tên cơ quan tiếp nhận hồ sơ.")
        received_at, due_at = raw["received_at"], raw["due_at"]
        if not isinstance(due_at, dt.date):
            raise DossierError("Thiếu ngày hẹn trả kết quả.")
        if due_at < received_at:
            raise DossierError(
                f"Ngày hẹn trả kết quả ({fmt_date(due_at)}) không được trước "
                f"ngày tiếp nhận ({fmt_date(received_at)})."
            )
        fields = dict(
            procedure_id=procedure_id,
            applicant_name=name,
            receiving_agency=agency,
            received_at=received_at,
            due_at=due_at,
        )
        # The numbers themselves are neither echoed in messages nor kept.
        if raw["id_number"] or not partial:
            identity = normalize_identity(raw["id_number"] or "")
            if identity is None:
                raise DossierError(
                    "Số định danh cá nhân phải gồm 12 chữ số (hoặc 9 chữ số nếu là CMND cũ)."
                )
            fields["id_digest"] = self._digest(identity, code)
            fields["id_last4_digest"] = self._digest(identity[-4:], code)
        if raw["phone"]:
            phone = normalize_phone(raw["phone"])
            if phone is None:
                raise DossierError(
                    "Số điện thoại không hợp lệ: cần dạng 0912345678 hoặc +84 912 345 678."
                )
            fields["phone_digest"] = self._digest(phone, code)
            fields["phone_last4_digest"] = self._digest(phone[-4:], code)
        return fields

    def get(self, code: str) -> Dossier | None:
        """The dossier with this code (typed in any accepted form), or None."""
        canonical = normalize_code(code or "")
        if canonical is None:
            return None
        with self._sessions() as session:
            return _find(session, canonical)

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
        canonical = _require_code(code)
        status, actor, reason, items, instructions = check_status_change(
            status, actor, reason, missing_items, instructions
        )
        label = STATUS_LABELS[status]
        at = as_utc(at) if at else utcnow()
        with self._sessions.begin() as session:
            dossier = _get_or_raise(session, canonical, for_update=True)
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
                office=_clean(office) or dossier.receiving_agency,
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
        canonical = _require_code(code)
        with self._sessions() as session:
            dossier = _get_or_raise(session, canonical)
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
            query = query.where(Dossier.status == _require_status(status))
        if procedure_id:
            if procedure_id not in PROCEDURE_IDS:
                raise DossierError(
                    f"Thủ tục “{procedure_id}” không có trong danh mục. "
                    f"Dùng một trong: {', '.join(PROCEDURE_IDS)}."
                )
            query = query.where(Dossier.procedure_id == procedure_id)
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

    # --- identity checks -----------------------------------------------------

    def verify(self, code: str, digits: str) -> Dossier | None:
        """The dossier if ``digits`` prove the citizen owns it, else None.

        ``digits`` are the last four digits of the identity number or of the
        registered phone (a full identity or phone number also works). An
        unknown code and wrong digits give the same None after the same
        amount of work, so the answer does not reveal which codes exist.
        """
        canonical = normalize_code(code or "") or ""
        dossier = self.get(canonical) if canonical else None
        number = digits_only(digits or "")
        if len(number) == 4:
            candidate = number
            targets = [_attr(dossier, "id_last4_digest"), _attr(dossier, "phone_last4_digest")]
        elif normalize_identity(number):
            candidate = number
            targets = [_attr(dossier, "id_digest")]
        elif normalize_phone(digits or ""):
            candidate = normalize_phone(digits or "")
            targets = [_attr(dossier, "phone_digest")]
        else:
            candidate = number
            targets = []
        return dossier if self._matches(candidate, canonical, targets) and dossier else None

    def verify_phone(self, code: str, phone: str) -> Dossier | None:
        """The dossier if ``phone`` (e.g. a contact shared on Telegram) is the registered one."""
        canonical = normalize_code(code or "") or ""
        dossier = self.get(canonical) if canonical else None
        candidate = normalize_phone(phone or "") or ""
        ok = self._matches(candidate, canonical, [_attr(dossier, "phone_digest")])
        return dossier if ok and candidate and dossier else None

    def _matches(self, candidate: str, code: str, targets: Iterable[str | None]) -> bool:
        computed = self._digest(candidate, code)
        ok = False
        for target in targets:
            # Compare against a dummy when there is nothing stored, to keep timing flat.
            ok |= hmac.compare_digest(computed, target or _DUMMY) and target is not None
        return ok

    # --- lockout (dichvucong.throttle) ----------------------------------------

    def _policy(self, key: str) -> Policy:
        return self.code_policy if key.startswith(CODE_PREFIX) else self.conversation_policy

    def check_locked(
        self, keys: Iterable[str], now: dt.datetime | None = None
    ) -> dt.datetime | None:
        """The time until which any of ``keys`` is locked, or None if none is."""
        return self.throttle.locked_until(keys, now)

    def record_failure(
        self, keys: Iterable[str], now: dt.datetime | None = None
    ) -> dt.datetime | None:
        """Count one failed lookup against every key; returns the lock end if now locked."""
        return self.throttle.fail(keys, now)

    def clear_failures(self, keys: Iterable[str]) -> None:
        """A successful lookup: the streaks end (the daily and monthly caps still count)."""
        self.throttle.succeed(keys)

    def unlock(self, code: str) -> int:
        """Staff lift a dossier code's lock (e.g. after a citizen's call)."""
        return self.throttle.unlock([code_key(_require_code(code))])

    # --- subscriptions -------------------------------------------------------

    def subscribe(
        self, code: str, channel: str, recipient_id: str, now: dt.datetime | None = None
    ) -> Subscription:
        """Follow a dossier on a channel; subscribing twice keeps one active subscription."""
        canonical = _require_code(code)
        channel = _require_channel(channel)
        recipient_id = (recipient_id or "").strip()
        if not recipient_id:
            raise DossierError("Thiếu mã người nhận thông báo.")
        for attempt in range(2):
            try:
                with self._sessions.begin() as session:
                    dossier = _get_or_raise(session, canonical)
                    row = session.execute(
                        select(Subscription).where(
                            Subscription.dossier_id == dossier.id,
                            Subscription.channel == channel,
                            Subscription.recipient_id == recipient_id,
                        )
                    ).scalar_one_or_none()
                    if row is None:
                        row = Subscription(
                            dossier=dossier,
                            channel=channel,
                            recipient_id=recipient_id,
                            created_at=as_utc(now) if now else utcnow(),
                            active=True,
                        )
                        session.add(row)
                    row.active = True
                return row
            except IntegrityError:
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def unsubscribe(self, code: str | None, channel: str, recipient_id: str) -> int:
        """Stop notices for one dossier, or for all of them when ``code`` is None.

        Returns how many subscriptions were active and are now stopped.
        """
        channel = _require_channel(channel)
        query = select(Subscription).where(
            Subscription.channel == channel,
            Subscription.recipient_id == (recipient_id or "").strip(),
            Subscription.active.is_(True),
        )
        with self._sessions.begin() as session:
            if code is not None:
                dossier = _find(session, _require_code(code))
                if dossier is None:
                    return 0
                query = query.where(Subscription.dossier_id == dossier.id)
            rows = list(session.execute(query).scalars())
            for row in rows:
                row.active = False
        return len(rows)

    def subscribers(self, code: str) -> List[Subscription]:
        """Active subscriptions of a dossier, oldest first."""
        canonical = _require_code(code)
        with self._sessions() as session:
            dossier = _get_or_raise(session, canonical)
            return list(
                session.execute(
                    select(Subscription)
                    .where(Subscription.dossier_id == dossier.id, Subscription.active.is_(True))
                    .order_by(Subscription.created_at, Subscription.id)
                ).scalars()
            )

    def subscriptions_for(self, channel: str, recipient_id: str) -> List[Subscription]:
        """Active subscriptions of one person on one channel (each with ``.dossier``)."""
        channel = _require_channel(channel)
        with self._sessions() as session:
            return list(
                session.execute(
                    select(Subscription)
                    .where(
                        Subscription.channel == channel,
                        Subscription.recipient_id == (recipient_id or "").strip(),
                        Subscription.active.is_(True),
                    )
                    .order_by(Subscription.created_at, Subscription.id)
                ).scalars()
            )

    # --- notifications -------------------------------------------------------

    def pending_reminders(
        self, today: dt.date | None = None, days: int | None = None
    ) -> List[Reminder]:
        """(dossier, subscription, kind) for overdue and stalled notices not yet sent.

        An overdue notice goes out once per subscription. A stalled notice goes
        out once per subscription and per status: if the status changes and the
        dossier stalls again, it is due again. An overdue dossier is not also
        reported as stalled.
        """
        today = today or settings().today()
        overdue = self.overdue(today)
        overdue_ids = {dossier.id for dossier in overdue}
        stalled = [d for d in self.stalled(today, days) if d.id not in overdue_ids]
        reminders: List[Reminder] = []
        with self._sessions() as session:
            for kind, dossiers in (("overdue", overdue), ("stalled", stalled)):
                for dossier in dossiers:
                    event_id = _latest_event_id(session, dossier.id) if kind == "stalled" else None
                    for subscription in _active_subscriptions(session, dossier.id):
                        if not _notified(session, subscription.id, kind, event_id):
                            reminders.append((dossier, subscription, kind))
        return reminders

    def mark_notified(
        self,
        dossier: DossierRef,
        subscription: Union[Subscription, int],
        kind: str,
        event: Union[StatusEvent, int, None] = None,
        at: dt.datetime | None = None,
    ) -> Notification:
        """Record that a notice went out; recording the same notice twice is harmless."""
        if kind not in NOTIFICATION_KINDS:
            raise DossierError(f"Loại thông báo “{kind}” không hợp lệ.")
        dossier_id = _id(dossier)
        subscription_id = _id(subscription)
        with self._sessions.begin() as session:
            if kind == "overdue":
                event_id = None
            elif event is not None:
                event_id = _id(event)
            elif kind == "stalled":
                event_id = _latest_event_id(session, dossier_id)
            else:
                raise DossierError("Thông báo đổi trạng thái phải gắn với một lần cập nhật.")
            existing = _notified(session, subscription_id, kind, event_id)
            if existing is not None:
                return existing
            row = Notification(
                dossier_id=dossier_id,
                subscription_id=subscription_id,
                kind=kind,
                event_id=event_id,
                sent_at=as_utc(at) if at else utcnow(),
            )
            session.add(row)
        return row

    def was_notified(
        self,
        subscription: Union[Subscription, int],
        kind: str,
        event: Union[StatusEvent, int, None] = None,
    ) -> bool:
        with self._sessions() as session:
            event_id = None if event is None else _id(event)
            return _notified(session, _id(subscription), kind, event_id) is not None


# --- helpers -----------------------------------------------------------------

_DUMMY = "0" * 64
_CHANNEL = re.compile(r"[a-z0-9_.\-]{1,32}")


def _attr(dossier: Dossier | None, name: str) -> str | None:
    return getattr(dossier, name) if dossier is not None else _DUMMY


def _id(value) -> int:
    return value if isinstance(value, int) else value.id


def _clean(value: str | None) -> str | None:
    value = " ".join((value or "").split()) if value is not None else None
    return value or None


def _clean_items(items: Union[Sequence[str], str] | None) -> List[str]:
    if items is None:
        return []
    if isinstance(items, str):
        items = [items]
    # "|" and line breaks separate items in CSV cells and on the command line.
    pieces = [piece for raw in items for piece in re.split(r"[|\n]", str(raw))]
    return [item for item in (_clean(piece) for piece in pieces) if item]


def check_status_change(
    status: Union[str, Status],
    actor: str | None,
    reason: str | None = None,
    missing_items: Union[Sequence[str], str] | None = None,
    instructions: str | None = None,
) -> Tuple[str, str, str | None, List[str], str | None]:
    """Validate and clean the inputs of a status change without touching the database.

    Returns (status, actor, reason, missing_items, instructions). The CSV import
    calls it before adding a dossier so that a bad row adds nothing at all.
    """
    status = _require_status(status)
    actor = _clean(actor)
    reason = _clean(reason)
    instructions = _clean(instructions)
    items = _clean_items(missing_items)
    if not actor:
        raise DossierError("Thiếu tên cán bộ cập nhật trạng thái.")
    label = STATUS_LABELS[status]
    if status == Status.needs_supplement.value:
        if not items:
            raise DossierError(
                f"Trạng thái “{label}” phải nêu chính xác từng giấy tờ còn thiếu hoặc chưa hợp lệ."
            )
        if not instructions:
            raise DossierError(
                f"Trạng thái “{label}” phải kèm hướng dẫn bổ sung: nộp ở đâu, "
                "bằng cách nào, trong thời hạn nào."
            )
    elif items:
        raise DossierError(
            "Danh sách giấy tờ cần bổ sung chỉ dùng cho trạng thái "
            f"“{STATUS_LABELS[Status.needs_supplement.value]}”."
        )
    if status == Status.rejected.value and not reason:
        raise DossierError(f"Trạng thái “{label}” phải ghi rõ lý do từ chối.")
    return status, actor, reason, items, instructions


def _require_code(code: str) -> str:
    canonical = normalize_code(code or "")
    if canonical is None:
        raise DossierError(
            f"Mã hồ sơ “{(code or '').strip()}” không đúng định dạng (ví dụ đúng: {EXAMPLE_CODE})."
        )
    return canonical


def _require_status(status: Union[str, Status]) -> str:
    value = status.value if isinstance(status, Status) else (status or "").strip()
    if value not in STATUSES:
        choices = "; ".join(f"{key} ({label})" for key, label in STATUS_LABELS.items())
        raise DossierError(f"Trạng thái “{value}” không hợp lệ. Dùng một trong: {choices}.")
    return value


def _require_channel(channel: str) -> str:
    value = (channel or "").strip().lower()
    if not _CHANNEL.fullmatch(value):
        raise DossierError(f"Kênh nhận thông báo “{channel}” không hợp lệ.")
    return value


def _find(session: Session, code: str, for_update: bool = False) -> Dossier | None:
    query = select(Dossier).where(Dossier.code == code)
    if for_update:
        query = query.with_for_update()
    return session.execute(query).scalar_one_or_none()


def _get_or_raise(session: Session, code: str, for_update: bool = False) -> Dossier:
    dossier = _find(session, code, for_update)
    if dossier is None:
        raise DossierNotFound(f"Không tìm thấy hồ sơ có mã {code}.")
    return dossier


def _stalled_cutoff(today: dt.date | None, days: int | None) -> dt.datetime:
    today = today or settings().today()
    days = settings().dossiers.stalled_after_days if days is None else days
    # Unchanged since at least the Vietnamese calendar day ``today - days``.
    first_fresh_day = today - dt.timedelta(days=days - 1)
    return dt.datetime.combine(first_fresh_day, dt.time(), VIETNAM_TZ).astimezone(dt.timezone.utc)


def _latest_event_id(session: Session, dossier_id: int) -> int | None:
    return session.execute(
        select(StatusEvent.id)
        .where(StatusEvent.dossier_id == dossier_id)
        .order_by(StatusEvent.at.desc(), StatusEvent.id.desc())
        .limit(1)
    ).scalar()


def _active_subscriptions(session: Session, dossier_id: int) -> List[Subscription]:
    return list(
        session.execute(
            select(Subscription)
            .where(Subscription.dossier_id == dossier_id, Subscription.active.is_(True))
            .order_by(Subscription.id)
        ).scalars()
    )


def _notified(
    session: Session, subscription_id: int, kind: str, event_id: int | None
) -> Notification | None:
    query = select(Notification).where(
        Notification.subscription_id == subscription_id, Notification.kind == kind
    )
    if kind != "overdue":
        query = query.where(
            Notification.event_id.is_(None)
            if event_id is None
            else Notification.event_id == event_id
        )
    return session.execute(query.limit(1)).scalar_one_or_none()
