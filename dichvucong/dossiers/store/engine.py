"""Engines and schema: the one place that knows how to connect and migrate.

Kept apart from the repository so that Alembic's ``migrations/env.py`` and the
staff CLI can build an engine or upgrade the schema without a repository.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url

from dichvucong.settings import PROJECT_ROOT, settings

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"


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
