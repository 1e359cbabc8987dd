"""Engines configured the same way for the application, migrations and tests."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url

# Seconds a SQLite connection waits for another process's write lock before failing.
SQLITE_BUSY_TIMEOUT_S = 30.0
# Execution option naming a read-only session: on SQLite it begins a deferred transaction.
READONLY_OPTION = "izde_readonly"


def make_engine(url: str | URL) -> Engine:
    """An engine for ``url``; SQLite engines get foreign keys, WAL and real transactions."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # pre_ping: a long ``izde watch`` outlives server restarts and idle-connection timeouts.
        return create_engine(parsed, pool_pre_ping=True)
    engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Python's sqlite3 (before 3.12's autocommit=False) starts transactions only before DML, so SELECTs
    # would not be repeatable and SAVEPOINT/DDL would escape the transaction. Take over BEGIN instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # Off by default in SQLite; without it ON DELETE CASCADE (person removal) silently does nothing.
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL lets readers (``izde alerts``) run while a watch process writes.
        _retry_while_locked(lambda: cursor.execute("PRAGMA journal_mode=WAL"))
    finally:
        cursor.close()


def _retry_while_locked(statement: Any) -> None:
    # SQLite answers "database is locked" at once, without its busy handler, to a connection that opens the
    # database while the last other connection is cleaning up its WAL files on close (sqlite.org/wal.html#busy).
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    delay = 0.01
    while True:
        try:
            statement()
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def _sqlite_begin(conn: Connection) -> None:
    # Writers take the write lock up front: a deferred transaction that reads then writes fails at once
    # with "database is locked" when another process committed in between, instead of waiting.
    if conn.get_execution_options().get(READONLY_OPTION):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
