"""A real PostgreSQL server for the store tests: one fresh database per use.

The tests fail, rather than skip, when the server is unreachable (CI starts
it); SKIP_POSTGRES=1 skips them on a machine without one.
"""
from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

PG_URL = os.environ.get(
    "DOSSIER_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)

class PostgresServer:
    """Creates uniquely named databases on one server and drops them all at the end."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.admin = sa.create_engine(
            self.url.set(database="postgres"), future=True, isolation_level="AUTOCOMMIT"
        )
        self.created: list = []

    def check(self) -> None:
        with self.admin.connect() as connection:
            connection.execute(sa.text("SELECT 1"))

    def create_database(self) -> str:
        name = f"dossier_test_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self.admin.connect() as connection:
            for name in self.created:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_server():
    if os.environ.get("SKIP_POSTGRES") == "1":
        pytest.skip("SKIP_POSTGRES=1: PostgreSQL tests skipped on request")
    server = PostgresServer(PG_URL)
    try:
        server.check()
    except sa.exc.OperationalError as error:
        server.admin.dispose()
        pytest.fail(
            f"PostgreSQL is unreachable at {server.url.render_as_string(hide_password=True)} "
            f"({str(error.orig).strip()}). Start the server, point DOSSIER_TEST_POSTGRES_URL "
            "at one, or set SKIP_POSTGRES=1 to skip the PostgreSQL tests.",
            pytrace=False,
        )
    yield server
    server.drop_all()
