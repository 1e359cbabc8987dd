"""The login limit over the database: every process that logs people in counts against the same failures.

An attempt is recorded as a failure before its password is checked, and the record goes when the password
proves right. Counting first and recording after the check would let attempts that arrive together (threads of
one server, several servers) all pass the count before any of them is recorded; counting and recording under
the key's lock, in one transaction, makes them take turns."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from izde.config import Settings
from izde.governance.login_limit import LoginKey, LoginLimit, TooManyFailedLogins, seconds_to_wait
from izde.store import login_failures
from izde.store.db import Database


def limit_of(settings: Settings) -> LoginLimit:
    return LoginLimit(settings.security.login_attempts, timedelta(seconds=settings.security.login_window_s))


def wait(session: Session, key: LoginKey, limit: LoginLimit, now: datetime) -> int:
    """Seconds the key has to wait, from its failures in the window (0: it may try now)."""
    return seconds_to_wait(login_failures.since(session, key.username, key.address, now - limit.window), limit, now)


def begin(db: Database, key: LoginKey, limit: LoginLimit, now: datetime) -> None:
    """Record an attempt as a failure, or raise :class:`TooManyFailedLogins` and record nothing."""
    # A locked-out key costs one read: no write lock, and no password hashing by the caller.
    with db.session(readonly=True) as session:
        seconds = wait(session, key, limit, now)
    if seconds:
        raise TooManyFailedLogins(key, seconds)
    with db.session() as session:
        login_failures.lock(session, key.username, key.address)
        seconds = wait(session, key, limit, now)  # again: another attempt may have been recorded meanwhile
        if seconds:
            raise TooManyFailedLogins(key, seconds)
        login_failures.add(session, key.username, key.address, now, forget_before=now - limit.window)


def succeeded(session: Session, key: LoginKey) -> None:
    """The password was right: the key's failures no longer count (this attempt's own record included)."""
    login_failures.clear(session, key.username, key.address)
