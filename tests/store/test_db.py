"""Opening the database: private data directory, migrations, sessions, clear errors."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from izde.config import Settings
from izde.errors import IzdeError
from izde.store import migrate
from izde.store.db import Database
from izde.store.models import FaceCount


def test_open_creates_private_home_and_migrates(db: Database, home: Path, db_url: str) -> None:
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert migrate.current_revision(db.engine) == migrate.head_revision()
    if db_url.startswith("sqlite"):
        for f in home.glob("izde.db*"):  # the database and its WAL files hold templates: owner only
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_open_twice_is_fine(db: Database, settings: Settings) -> None:
    with Database.open(settings) as again:
        assert migrate.current_revision(again.engine) == migrate.head_revision()


def test_session_commits_or_rolls_back(db: Database) -> None:
    hour = datetime(2024, 1, 1, 10, tzinfo=UTC)
    with db.session() as s:
        s.add(FaceCount(camera="c1", hour=hour, faces=1, tracks=1))
    with pytest.raises(RuntimeError), db.session() as s:
        s.add(FaceCount(camera="c2", hour=hour, faces=1, tracks=1))
        s.flush()
        raise RuntimeError("abort")
    with db.session(readonly=True) as s:
        assert list(s.scalars(select(FaceCount.camera))) == ["c1"]
        s.add(FaceCount(camera="c3", hour=hour, faces=1, tracks=1))
        s.flush()  # a read-only session never commits what it did
    with db.session() as s:
        assert list(s.scalars(select(FaceCount.camera))) == ["c1"]


def test_times_come_back_as_utc_instants(db: Database) -> None:
    plus2 = timezone(timedelta(hours=2))
    with db.session() as s:
        s.add(FaceCount(camera="c", hour=datetime(2024, 1, 1, 12, tzinfo=plus2), faces=0, tracks=0))
    with db.session() as s:
        hour = s.scalars(select(FaceCount.hour)).one()
        assert hour == datetime(2024, 1, 1, 10, tzinfo=UTC) and hour.tzinfo == UTC
        # Filters compare instants, whatever the offset they are written in.
        assert s.scalars(select(FaceCount).where(FaceCount.hour >= datetime(2024, 1, 1, 11, tzinfo=plus2))).all()


def test_naive_times_are_refused(db: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime"), db.session() as s:
        s.add(FaceCount(camera="c", hour=datetime(2024, 1, 1, 12), faces=0, tracks=0))


def test_unwritable_home_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(IzdeError, match="cannot create the data directory") as e:
        Database.open(Settings(home=blocker / "home"))
    assert e.value.hint and "IZDE_HOME" in e.value.hint


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "not a valid SQLAlchemy URL"),
        ("nosuchdb://x/y", "no database driver"),
        ("sqlite:////nonexistent-dir/sub/izde.db", "cannot create the database file"),
        ("postgresql+psycopg://nobody:secret@127.0.0.1:1/none", "cannot open the database"),
    ],
)
def test_bad_database_urls_are_clear_errors(tmp_path: Path, url: str, message: str) -> None:
    with pytest.raises(IzdeError, match=message) as e:
        Database.open(Settings(home=tmp_path / "home", database_url=url))
    assert e.value.hint
    assert "secret" not in str(e.value)  # passwords are never echoed


def test_schema_from_a_newer_izde_is_a_clear_error(db: Database, settings: Settings) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
    try:
        with pytest.raises(IzdeError, match="schema this izde does not know") as e:
            Database.open(settings)
        assert e.value.hint and "newer" in e.value.hint
    finally:  # the PostgreSQL database is shared by the module's tests
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": migrate.head_revision()})
