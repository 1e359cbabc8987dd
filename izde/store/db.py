"""Opening izde's database: data directory, engine, migrations, sessions."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from alembic.util.exc import CommandError
from sqlalchemy import Engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session

from izde.config import Settings
from izde.errors import IzdeError
from izde.store import migrate
from izde.store.crypto import ENVELOPE_KEY, Envelope, default_key_path, provider_from
from izde.store.engine import READONLY_OPTION, make_engine
from izde.store.files import FILE_MODE, FileStore, Stage
from izde.store.scope import scope

_URL_HINT = "use e.g. sqlite:////path/to/izde.db or postgresql+psycopg://user@host:5432/izde"


class Database:
    """An open izde database and the file store of its data directory."""

    def __init__(self, engine: Engine, files: FileStore, organisation_id: str | None = None) -> None:
        self.engine = engine
        self.files = files
        self.organisation_id = organisation_id
        self._readonly_engine = engine.execution_options(**{READONLY_OPTION: True})

    def scoped(self, organisation_id: str) -> Database:
        """The same database and files, with sessions that see and write only this organisation's rows."""
        if not organisation_id:
            raise ValueError("a scoped database needs an organisation id")
        return Database(self.engine, self.files, organisation_id)

    @classmethod
    def open(cls, settings: Settings, *, migrate_schema: bool = True) -> Database:
        """Create the data directory if needed, connect and upgrade the schema to the newest revision.

        Raises :class:`IzdeError` with a hint when any of that fails.
        """
        home = Path(settings.home).expanduser()
        _make_home(home)
        url = _parse_url(settings.db_url)
        _prepare_sqlite_file(url)
        try:
            engine = make_engine(url)
        except NoSuchModuleError as e:
            raise IzdeError(
                f"no database driver for {url.drivername}: {e}",
                "for PostgreSQL install izde[postgres] and use a postgresql+psycopg:// URL",
            ) from e
        except ArgumentError as e:
            raise IzdeError(f"invalid database URL {_shown(url)}: {e}", _URL_HINT) from e
        try:
            if migrate_schema:
                migrate.upgrade(engine)
            else:
                with engine.connect():
                    pass
        except CommandError as e:
            engine.dispose()
            raise IzdeError(
                f"the database {_shown(url)} has a schema this izde does not know ({e})",
                "it was probably made by a newer izde; upgrade izde",
            ) from e
        except DBAPIError as e:
            engine.dispose()
            raise IzdeError(
                f"cannot open the database {_shown(url)}: {e.orig}",
                "check that the server runs and the URL, user and permissions are right"
                if url.get_backend_name() != "sqlite"
                else "check that the data directory is writable and not on a network file system",
            ) from e
        try:
            envelope = _envelope(settings, home)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, FileStore(home, envelope))

    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[Session]:
        """A session that commits when the block ends normally and rolls back on an exception.

        ``readonly`` sessions always roll back, and on SQLite do not take the write lock. Sessions of a
        :meth:`scoped` database see and write only that organisation's rows.
        Objects stay readable after the block (no expiry on commit).
        """
        session = Session(self._readonly_engine if readonly else self.engine, expire_on_commit=False)
        session.info[ENVELOPE_KEY] = self.files.envelope
        if self.organisation_id is not None:
            scope(session, self.organisation_id)
        try:
            yield session
            if readonly:
                session.rollback()
            else:
                session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def transaction(self) -> Iterator[tuple[Session, Stage]]:
        """A session and a file stage committed in the safe order: database first, then files.

        If the block or the database commit fails, the rows are rolled back and the staged files removed.
        """
        with self.files.staged() as stage:
            with self.session() as session:
                yield session, stage
            stage.commit()

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _make_home(home: Path) -> None:
    try:
        if not home.is_dir():
            # Parents too, each private: the folder will hold biometric templates and photos.
            FileStore(home).make_dirs(home)
    except OSError as e:
        raise IzdeError(
            f"cannot create the data directory {home}: {e.strerror or e}",
            "set IZDE_HOME (or --home) to a writable directory",
        ) from e
    if not os.access(home, os.W_OK | os.X_OK):
        raise IzdeError(
            f"the data directory {home} is not writable",
            "fix its permissions or set IZDE_HOME to another directory",
        )


def _envelope(settings: Settings, home: Path) -> Envelope:
    """The data key's envelope. A missing key ring is created for a data directory that holds nothing sealed
    yet (a new deployment, or one from before encryption at rest, which the upgrade then seals); where sealed
    files exist, a missing key is lost, and making a new one would hide that."""
    key_file = settings.security.data_key_file
    path = key_file.expanduser() if key_file is not None else default_key_path(home)
    create = not path.exists() and not FileStore(home).has_sealed_files()
    return Envelope(provider_from(key_file, home, create=create))


def _parse_url(text: str) -> URL:
    try:
        return make_url(text)
    except ArgumentError as e:
        # The text is not echoed: it may hold a password.
        raise IzdeError("the database URL is not a valid SQLAlchemy URL", _URL_HINT) from e


def _prepare_sqlite_file(url: URL) -> None:
    """Create a missing SQLite file as 0600; SQLite would create it (and its WAL files) world-readable."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return
    if url.database.startswith("file:"):  # URI filenames: leave them to SQLite
        return
    path = Path(url.database)
    if path.exists():
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass
    except OSError as e:
        raise IzdeError(
            f"cannot create the database file {path}: {e.strerror or e}",
            "check that its folder exists and is writable",
        ) from e


def _shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)
