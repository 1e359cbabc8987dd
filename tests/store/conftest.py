"""Fixtures running store tests on a temporary SQLite file and on PostgreSQL.

PostgreSQL: a fresh database per test module, made through the ``postgres`` maintenance database of the
server named by IZDE_TEST_PG_URL and dropped afterwards; tables are emptied between tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from izde.config import Settings
from izde.store.db import Database
from izde.store.models import Base, Organisation
from tests.support.backends import require_backend

PG_DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@contextmanager
def fresh_pg_database() -> Iterator[str]:
    """URL of a new, empty PostgreSQL database, dropped on exit; without a server the test is skipped (locally)
    or fails (in CI)."""
    base = make_url(os.environ.get("IZDE_TEST_PG_URL", PG_DEFAULT_URL))
    shown = base.render_as_string(hide_password=True)
    try:
        admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    except ModuleNotFoundError as e:
        require_backend("PostgreSQL", f"driver not installed ({e}); install izde[dev]")
    try:
        with admin.connect():
            pass
    except OperationalError as e:
        admin.dispose()
        require_backend("PostgreSQL", f"unreachable at {shown} (set IZDE_TEST_PG_URL): {e.orig}")
    name = f"izde_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def pg_copy(url: str) -> Iterator[str]:
    """URL of a new database made from the one at ``url`` (which nobody may be connected to), dropped on exit.

    Copying a prepared database is much faster than preparing it again (argon2 hashing is deliberately slow)."""
    source = make_url(url)
    admin = create_engine(source.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = f"izde_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{source.database}"')
        try:
            yield source.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@pytest.fixture(scope="module")
def pg_module_url() -> Iterator[str]:
    with fresh_pg_database() as url:
        yield url


def _empty_pg_tables(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            existing = set(inspect(conn).get_table_names())
            tables = [t.name for t in Base.metadata.sorted_tables if t.name in existing]
            if tables:
                conn.exec_driver_sql("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL on each backend; PostgreSQL tables start empty for every test."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'home' / 'izde.db'}"
    url: str = request.getfixturevalue("pg_module_url")
    _empty_pg_tables(url)
    return url


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def settings(home: Path, db_url: str) -> Settings:
    return Settings(home=home, database_url=db_url)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    """The database as one organisation's users reach it: records belong to an organisation."""
    with Database.open(settings) as database:
        with database.session() as session:
            org = Organisation(name="Test Police", law_enforcement=True)
            session.add(org)
            session.flush()
            org_id = org.id
        yield database.scoped(org_id)
