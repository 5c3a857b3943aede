"""How long conversations are kept, and erasing them (docs/privacy.md).

Rasa's SQL tracker store keeps every event of every conversation in one
``events`` table. This module deletes, through SQLAlchemy Core (SQLite and
PostgreSQL alike):

- conversations whose last event is older than ``days`` (90 by default), or
  than ``lookup_days`` (30) when they contained a dossier lookup (an event of
  the ``dossier_status_form`` loop or of the ``verified_dossier`` slot);
- conversations whose citizen asked to erase them ("xóa dữ liệu của tôi"): the
  action ``action_erase_my_data`` cannot delete its own conversation (the
  tracker store writes the turn's events after the action returns), so its
  event in the table is the request; everything of that conversation up to the
  citizen's next message is deleted, whatever its age;
- the dossier subscriptions of the conversations erased (table ``subscriptions``
  of the dossier store; their notices go with them by ``ON DELETE CASCADE``),
  and the reviewers' tags on them (``console_conversation_tags``, same
  database): a judgement of a conversation must not outlive it.

A dry run counts what would be deleted and deletes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import time
from typing import Dict, Iterable, Iterator, List, Mapping, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dichvucong.contract import SLOT_VERIFIED_DOSSIER
from dichvucong.tracker_events import events

ERASE_ACTION = "action_erase_my_data"
LOOKUP_NAMES = ("dossier_status_form", SLOT_VERIFIED_DOSSIER)
DEFAULT_DAYS = 90
DEFAULT_LOOKUP_DAYS = 30
_BATCH = 500

subscriptions = sa.table("subscriptions", sa.column("id", sa.Integer), sa.column("recipient_id", sa.String))
conversation_tags = sa.table(
    "console_conversation_tags", sa.column("id", sa.Integer), sa.column("sender_digest", sa.String)
)


def sender_digest(sender: str) -> str:
    """How the console keys a conversation's tag (no sender id in clear there)."""
    return hashlib.sha256(sender.encode("utf-8")).hexdigest()


class RetentionError(RuntimeError):
    """The tracker store or the dossier store cannot be reached; the message is Vietnamese."""


@dataclasses.dataclass(frozen=True)
class RetentionSettings:
    days: int = DEFAULT_DAYS
    lookup_days: int = DEFAULT_LOOKUP_DAYS

    def __post_init__(self) -> None:
        if self.days < 1 or self.lookup_days < 1:
            raise ValueError("Thời hạn lưu phải từ 1 ngày trở lên.")

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> RetentionSettings:
        env = os.environ if env is None else env
        return cls(
            days=int(env.get("RETENTION_DAYS") or DEFAULT_DAYS),
            lookup_days=int(env.get("RETENTION_LOOKUP_DAYS") or DEFAULT_LOOKUP_DAYS),
        )


@dataclasses.dataclass
class RetentionReport:
    dry_run: bool
    days: int
    lookup_days: int
    expired: int = 0  # conversations past their period (ordinary and with a lookup)
    expired_lookup: int = 0  # of which had a dossier lookup
    erase_requests: int = 0  # conversations whose citizen asked for erasure
    events: int = 0  # events deleted (or that would be)
    subscriptions: int = 0  # subscriptions deleted (or that would be)
    tags: int = 0  # reviewers' tags on the erased conversations
    senders: List[str] = dataclasses.field(default_factory=list)

    def as_dict(self) -> Dict[str, object]:
        data = dataclasses.asdict(self)
        data.pop("senders")
        return data

    def summary(self) -> str:
        verb = "Sẽ xóa" if self.dry_run else "Đã xóa"
        return (
            f"{verb} {self.expired} hội thoại quá hạn lưu ({self.days} ngày; {self.lookup_days} "
            f"ngày với hội thoại có tra cứu hồ sơ: {self.expired_lookup}), "
            f"{self.erase_requests} hội thoại người dân yêu cầu xóa, "
            f"{self.events} sự kiện, {self.subscriptions} đăng ký theo dõi hồ sơ và "
            f"{self.tags} nhận xét của cán bộ về các hội thoại đó."
        )


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _BATCH):
        yield items[start:start + _BATCH]


def _expired(connection: Connection, now: float, settings: RetentionSettings) -> Dict[str, bool]:
    """Senders whose last event is past their period -> whether they had a lookup."""
    lookup = sa.func.max(sa.case((events.c.action_name.in_(LOOKUP_NAMES), 1), else_=0))
    last = sa.func.max(events.c.timestamp)
    query = sa.select(events.c.sender_id, last, lookup).group_by(events.c.sender_id).having(
        sa.or_(
            last < now - settings.days * 86400,
            sa.and_(lookup == 1, last < now - settings.lookup_days * 86400),
        )
    )
    return {sender: bool(had) for sender, _, had in connection.execute(query)}


def _erase_requests(connection: Connection) -> Dict[str, Optional[int]]:
    """Senders who asked for erasure -> the id of their first message after it (or None)."""
    marks = (
        sa.select(events.c.sender_id, sa.func.max(events.c.id).label("mark"))
        .where(events.c.type_name == "action", events.c.action_name == ERASE_ACTION)
        .group_by(events.c.sender_id)
        .subquery()
    )
    after = (
        sa.select(sa.func.min(events.c.id))
        .where(
            events.c.sender_id == marks.c.sender_id,
            events.c.id > marks.c.mark,
            events.c.type_name == "user",
        )
        .scalar_subquery()
    )
    return {sender: until for sender, until in connection.execute(sa.select(marks.c.sender_id, after))}


def _event_filter(sender: str, until: Optional[int]):
    condition = events.c.sender_id == sender
    return condition if until is None else sa.and_(condition, events.c.id < until)


def _count_or_delete(connection: Connection, condition, dry_run: bool) -> int:
    if dry_run:
        return connection.execute(sa.select(sa.func.count()).select_from(events).where(condition)).scalar_one()
    return connection.execute(sa.delete(events).where(condition)).rowcount


def _erase_events(
    connection: Connection, whole: Iterable[str], partial: Mapping[str, int], dry_run: bool
) -> int:
    total = 0
    for chunk in _chunks(sorted(whole)):
        total += _count_or_delete(connection, events.c.sender_id.in_(chunk), dry_run)
    for sender, until in partial.items():
        total += _count_or_delete(connection, _event_filter(sender, until), dry_run)
    return total


def _erase_rows(engine: Engine, column: sa.Column, values: Sequence[str], dry_run: bool) -> int:
    """Delete (or count) the rows of ``column``'s table whose value is one of ``values``."""
    table, total = column.table, 0
    with engine.begin() as connection:
        if not sa.inspect(connection).has_table(table.name):
            return 0  # a store migrated before the table existed holds none
        for chunk in _chunks(list(values)):
            condition = column.in_(chunk)
            if dry_run:
                total += connection.execute(
                    sa.select(sa.func.count()).select_from(table).where(condition)
                ).scalar_one()
            else:
                total += connection.execute(sa.delete(table).where(condition)).rowcount
    return total


def erase_subscriptions(engine: Engine, senders: Sequence[str], dry_run: bool = False) -> int:
    """Delete (or count) the dossier subscriptions whose recipient is one of ``senders``."""
    return _erase_rows(engine, subscriptions.c.recipient_id, senders, dry_run)


def erase_tags(engine: Engine, senders: Sequence[str], dry_run: bool = False) -> int:
    """Delete (or count) the reviewers' tags on the conversations of ``senders``."""
    digests = [sender_digest(sender) for sender in senders]
    return _erase_rows(engine, conversation_tags.c.sender_digest, digests, dry_run)


def run(
    tracker: Engine,
    dossiers: Engine | None,
    settings: RetentionSettings,
    *,
    dry_run: bool = False,
    now: float | None = None,
) -> RetentionReport:
    """Apply the retention periods and the erase requests (one transaction on the tracker)."""
    now = time.time() if now is None else now
    report = RetentionReport(dry_run=dry_run, days=settings.days, lookup_days=settings.lookup_days)
    try:
        with tracker.begin() as connection:
            expired = _expired(connection, now, settings)
            requests = _erase_requests(connection)
            # A conversation past its period goes entirely, asked for or not.
            partial = {s: u for s, u in requests.items() if s not in expired and u is not None}
            whole = set(expired) | {s for s, u in requests.items() if u is None}
            report.expired = len(expired)
            report.expired_lookup = sum(expired.values())
            report.erase_requests = len(requests)
            report.events = _erase_events(connection, whole, partial, dry_run)
    except sa.exc.SQLAlchemyError as error:
        raise RetentionError(_tracker_message(error)) from error
    report.senders = sorted(whole | set(partial))
    if dossiers is not None and report.senders:
        try:
            report.subscriptions = erase_subscriptions(dossiers, report.senders, dry_run)
            report.tags = erase_tags(dossiers, report.senders, dry_run)
        except sa.exc.SQLAlchemyError as error:
            raise RetentionError(
                f"Đã xử lý kho hội thoại nhưng không xóa được đăng ký theo dõi: {type(error).__name__}."
            ) from error
    return report


def _tracker_message(error: Exception) -> str:
    if "no such table" in str(error) or "does not exist" in str(error):
        return "Kho hội thoại chưa có bảng events."
    return f"Không xử lý được kho hội thoại: {type(error).__name__}."


def erase_due_at(now: dt.datetime | None = None) -> dt.datetime:
    """When a requested erasure is done at the latest: the next daily run (within 24 hours)."""
    return (now or dt.datetime.now(dt.timezone.utc)) + dt.timedelta(hours=24)
