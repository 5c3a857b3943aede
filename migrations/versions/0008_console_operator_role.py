"""Console role "operator": staff who take handoff tickets and answer citizens.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 13:15:00+00:00

Only the CHECK constraint of ``console_users.role`` changes. On PostgreSQL it is
dropped and created again. SQLite cannot alter a constraint, and the usual batch
rebuild (copy, DROP TABLE, rename) would, with ``PRAGMA foreign_keys=ON`` (set
on every connection by ``make_engine``), cascade the drop to the sessions and
null every reviewer in the annotations and tags. So on SQLite the table's
stored definition is edited in place, SQLite's documented procedure for
loosening a CHECK (https://www.sqlite.org/lang_altertable.html, "making other
kinds of table schema changes"): no row is touched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Frozen copies of bot/console/db.py's ROLES before and after.
BEFORE = ("reviewer", "trainer")
AFTER = ("reviewer", "trainer", "operator")
NAME = "ck_console_users_role"


def _in(values) -> str:
    return ", ".join(f"'{value}'" for value in values)


def _sqlite_replace(old: str, new: str) -> None:
    bind = op.get_bind()
    sql = bind.execute(sa.text(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'console_users'"
    )).scalar_one()
    if old not in sql:
        raise RuntimeError(f"console_users has an unexpected definition: {sql}")
    version = bind.execute(sa.text("PRAGMA schema_version")).scalar_one()
    bind.execute(sa.text("PRAGMA writable_schema=ON"))
    bind.execute(
        sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' "
                "AND name = 'console_users'"),
        {"sql": sql.replace(old, new)},
    )
    # A new schema version makes every connection re-read the definition.
    bind.execute(sa.text(f"PRAGMA schema_version={int(version) + 1}"))
    bind.execute(sa.text("PRAGMA writable_schema=OFF"))
    problems = bind.execute(sa.text("PRAGMA integrity_check")).scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"integrity check failed after editing console_users: {problems}")


def _change(old_roles, new_roles) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_replace(f"role IN ({_in(old_roles)})", f"role IN ({_in(new_roles)})")
        return
    op.drop_constraint(op.f(NAME), "console_users", type_="check")
    op.create_check_constraint(op.f(NAME), "console_users", f"role IN ({_in(new_roles)})")


def upgrade() -> None:
    _change(BEFORE, AFTER)


def downgrade() -> None:
    # An operator account cannot exist under the old constraint: it goes, with its sessions.
    op.execute("DELETE FROM console_users WHERE role = 'operator'")
    _change(AFTER, BEFORE)
