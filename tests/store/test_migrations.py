"""The migrations create exactly the schema of izde.store.models, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, inspect

from izde.store import migrate
from izde.store.engine import make_engine
from izde.store.models import Base
from tests.store.conftest import BACKENDS, fresh_pg_database


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a brand-new empty database (its own PostgreSQL database per test)."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
        yield eng
        eng.dispose()
        return
    with fresh_pg_database() as url:
        eng = make_engine(url)
        yield eng
        eng.dispose()


def diff(engine: Engine, metadata: MetaData) -> list[Any]:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return list(compare_metadata(ctx, metadata))


def test_migrated_schema_equals_models(engine: Engine) -> None:
    migrate.upgrade(engine)
    assert diff(engine, Base.metadata) == []
    assert migrate.current_revision(engine) == migrate.head_revision()


def test_comparison_is_not_vacuous(engine: Engine) -> None:
    # A model the migrations never created must show up, or the test above proves nothing.
    migrate.upgrade(engine)
    extra = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(extra)
    Table("ghost", extra, Column("id", Integer, primary_key=True), Column("name", String(10)))
    extra.tables["persons"].append_column(Column("nickname", String(50)))
    kinds = {d[0] if isinstance(d, tuple) else d[0][0] for d in diff(engine, extra)}
    assert {"add_table", "add_column"} <= kinds


def test_upgrade_is_idempotent_and_downgrade_removes_everything(engine: Engine) -> None:
    migrate.upgrade(engine)
    migrate.upgrade(engine)  # already at head: nothing to do, no error
    migrate.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    assert diff(engine, Base.metadata) == []


def test_upgrade_accepts_a_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'u.db'}"
    migrate.upgrade(url)
    eng = make_engine(url)
    try:
        assert set(Base.metadata.tables) <= set(inspect(eng).get_table_names())
    finally:
        eng.dispose()


def test_concurrent_upgrades_of_a_new_database(engine: Engine) -> None:
    # Two processes opening a new database at once: one creates the tables, the other finds them.
    errors: list[BaseException] = []

    def work() -> None:
        other = make_engine(engine.url)
        try:
            migrate.upgrade(other)
        except BaseException as e:
            errors.append(e)
        finally:
            other.dispose()

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert diff(engine, Base.metadata) == []
