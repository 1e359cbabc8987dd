"""Failed logins per (user name, address): recorded when an attempt starts, read to decide the next one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from izde.store.models import LoginFailure

# The first half of the PostgreSQL advisory-lock key of every login key ("izlg"); the second is the key's hash.
_LOCK_CLASS = 0x697A6C67


def lock(session: Session, username: str, address: str) -> None:
    """Hold the key until the transaction ends, so that attempts on it count and record one after another.

    On SQLite every writing transaction already holds the database's write lock (``BEGIN IMMEDIATE``)."""
    if session.get_bind().dialect.name == "postgresql":
        key = func.hashtext(username + "\n" + address)
        session.execute(select(func.pg_advisory_xact_lock(_LOCK_CLASS, key)))


def since(session: Session, username: str, address: str, start: datetime) -> list[datetime]:
    """When the key's failures from ``start`` on happened."""
    query = select(LoginFailure.at).where(
        LoginFailure.username == username, LoginFailure.address == address, LoginFailure.at >= start
    )
    return list(session.scalars(query))


def add(session: Session, username: str, address: str, at: datetime, *, forget_before: datetime) -> None:
    """Record one failure, and delete every key's failures from before ``forget_before``.

    Pruning here keeps the table as small as the window allows without a separate clean-up job."""
    session.execute(delete(LoginFailure).where(LoginFailure.at < forget_before))
    session.add(LoginFailure(username=username, address=address, at=at))
    session.flush()


def clear(session: Session, username: str, address: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.username == username, LoginFailure.address == address))
