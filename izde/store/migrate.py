"""Schema migrations, configured in code so that an installed izde needs no alembic.ini.

To write a new revision during development::

    from alembic import command
    from izde.store.migrate import alembic_config
    command.revision(alembic_config("sqlite:////tmp/dev.db"), message="...", autogenerate=True)

(upgrade the development database to head first, so that autogenerate sees only the new change).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL

from izde.store.engine import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_MIGRATION_LOCK_KEY = 0x697A6465_6D696772  # "izdemigr": an arbitrary constant shared by all izde processes


def alembic_config(url: str | URL | None = None, connection: Connection | None = None) -> Config:
    """An Alembic configuration for izde's migrations, bound to a URL or an open connection."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Revision files are named by hand (0001_initial.py ...), so new ones follow the same order.
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if url is not None:
        rendered = url.render_as_string(hide_password=False) if isinstance(url, URL) else url
        # ConfigParser interpolation: a literal % in a password must be doubled.
        cfg.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest revision this izde knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def current_revision(engine: Engine) -> str | None:
    """The database's revision, or None when it has never been migrated."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine_or_url: Engine | str | URL, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` (default: the newest), in one transaction where supported."""
    if isinstance(engine_or_url, Engine):
        _upgrade_with(engine_or_url, revision)
        return
    engine = make_engine(engine_or_url)
    try:
        _upgrade_with(engine, revision)
    finally:
        engine.dispose()


def downgrade(engine: Engine, revision: str) -> None:
    """Downgrade to ``revision`` ("base" removes every table). For development and tests."""
    with engine.begin() as conn:
        command.downgrade(alembic_config(connection=conn), revision)


def _upgrade_with(engine: Engine, revision: str) -> None:
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Two izde processes starting together must not both create the tables; the lock ends with
            # the transaction. (On SQLite the migration's BEGIN IMMEDIATE already serialises them.)
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
        command.upgrade(alembic_config(connection=conn), revision)
