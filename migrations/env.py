"""Alembic environment for the dossier database (SQLite or PostgreSQL)."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

import bot.console.db  # noqa: F401  (console tables share the metadata)
import dichvucong.handoff.models  # noqa: F401  (handoff tables share it too)
from dichvucong.dossiers.models import Base
from dichvucong.dossiers.store import make_engine
from dichvucong.settings import settings

config = context.config

# Only the alembic command line configures logging: when the application
# migrates programmatically its own logging setup must stay untouched.
if config.cmd_opts is not None and config.config_file_name is not None:
    fileConfig(config.config_file_name)

target_metadata = Base.metadata


def _url() -> str:
    return (
        context.get_x_argument(as_dictionary=True).get("url")
        or config.get_main_option("sqlalchemy.url")
        or settings().dossiers.database_url
    )


def _configure(**kwargs) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
        render_as_batch=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url())
    try:
        with engine.connect() as connection:
            _configure(connection=connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
