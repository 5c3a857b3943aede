"""Deleting conversations past their retention period, and those citizens asked to erase.

    python -m bot.cli.retention [--dry-run] [--days 90] [--lookup-days 30]
                                [--tracker-db PATH | --tracker-url URL] [--database-url URL]

Run once a day by cron (docs/privacy.md). The defaults come from RETENTION_DAYS,
RETENTION_LOOKUP_DAYS, TRACKER_URL or TRACKER_DB (var/tracker.db) and DATABASE_URL.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path
from typing import List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.cli.common import ExitCode, Parser, err, out
from bot.console.tracker_reader import tracker_engine
from dichvucong import retention
from dichvucong.dossiers.store import make_engine
from dichvucong.settings import VAR_DIR, env_path, settings


def writable_tracker_engine(url: str | None, sqlite_path: Path | None) -> Engine:
    """The console's tracker engine (``tracker_reader.tracker_engine``), allowed to delete.

    The console's engine is read-only on purpose (PostgreSQL ``readonly``, SQLite
    ``mode=ro``); this one is the same connection, writable. An SQLite file is
    opened ``mode=rw``: a missing file is an error, never created.
    """
    if url:
        engine = tracker_engine(url, None)
        if engine.dialect.name != "postgresql":
            return engine
        # The console's PostgreSQL engine carries postgresql_readonly: same URL, without it.
        return sa.create_engine(url, future=True, pool_pre_ping=True)
    path = Path(sqlite_path).resolve()

    def connect():
        return sqlite3.connect(f"{path.as_uri()}?mode=rw", uri=True, timeout=30,
                               check_same_thread=False)

    return sa.create_engine("sqlite://", creator=connect, future=True)


def build_parser(defaults: retention.RetentionSettings) -> Parser:
    parser = Parser(
        prog="python -m bot.cli.retention",
        description="Xóa hội thoại quá thời hạn lưu và hội thoại người dân yêu cầu xóa.",
    )
    parser.add_argument("--dry-run", action="store_true",
                        help="chỉ đếm, không xóa gì")
    parser.add_argument("--days", type=int, default=defaults.days,
                        help=f"thời hạn lưu hội thoại thường, theo ngày (mặc định {defaults.days})")
    parser.add_argument("--lookup-days", type=int, default=defaults.lookup_days,
                        help="thời hạn lưu hội thoại có tra cứu hồ sơ "
                        f"(mặc định {defaults.lookup_days})")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--tracker-db", type=Path, help="tệp SQLite của kho hội thoại")
    where.add_argument("--tracker-url", help="URL SQLAlchemy của kho hội thoại (PostgreSQL)")
    parser.add_argument("--database-url", help="URL của kho hồ sơ (đăng ký theo dõi)")
    return parser


def _tracker_source(args) -> tuple[str | None, Path | None]:
    if args.tracker_url or args.tracker_db:
        return args.tracker_url, args.tracker_db
    url = os.environ.get("TRACKER_URL") or None
    return url, None if url else env_path(os.environ, "TRACKER_DB", VAR_DIR / "tracker.db")


def execute(args) -> retention.RetentionReport:
    url, path = _tracker_source(args)
    if not url and not Path(path).exists():
        raise retention.RetentionError(f"Chưa có kho hội thoại tại {path}.")
    tracker = writable_tracker_engine(url, path)
    dossiers = make_engine(args.database_url or settings().dossiers.database_url)
    try:
        return retention.run(
            tracker, dossiers, retention.RetentionSettings(args.days, args.lookup_days),
            dry_run=args.dry_run,
        )
    finally:
        tracker.dispose()
        dossiers.dispose()


def main(argv: Optional[List[str]] = None) -> int:
    try:
        defaults = retention.RetentionSettings.from_env()
    except ValueError:
        err("RETENTION_DAYS và RETENTION_LOOKUP_DAYS phải là số ngày từ 1 trở lên.")
        return int(ExitCode.FAILED)
    args = build_parser(defaults).parse_args(argv)
    try:
        report = execute(args)
    except (retention.RetentionError, ValueError) as error:
        err(str(error))
        return int(ExitCode.FAILED)
    out(("Chạy thử (không xóa gì). " if args.dry_run else "") + report.summary())
    return int(ExitCode.OK)


if __name__ == "__main__":
    sys.exit(main())
