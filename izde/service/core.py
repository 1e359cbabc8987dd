"""The service's core: settings, database, vision stack, the acting user, the permission check and audit."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sqlalchemy.orm import Session

from izde.config import Settings, load_settings
from izde.errors import InvalidInput
from izde.governance import audit as audit_chain
from izde.governance import audit_head, users
from izde.governance.login_limit import LOCAL_ADDRESS, LoginKey
from izde.governance.roles import Action, Actor, PermissionDenied, Role, authorize
from izde.governance.users import AuthenticationFailed
from izde.service import login_attempts
from izde.store import at_rest
from izde.store.db import Database
from izde.store.models import AuditEntry, User
from izde.store.scope import organisation_of
from izde.vision.stack import VisionStack, build_stack

TOKEN_RECHECK_S = 5.0  # how long a token-holding service trusts the roles it read; one indexed lookup per check


class Core:
    """One data directory (database, photos, evidence), its audit key, and who is acting."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        home: Path | str | None = None,
        token: str | None = None,
        **overrides: Any,
    ) -> None:
        self.settings = settings or load_settings(home=home, **overrides)
        self._db: Database | None = None
        self._stack: VisionStack | None = None
        self._key: bytes | None = None
        self.actor: Actor | None = None
        self._token: str | None = None
        self._token_checked = 0.0
        if token:
            self.use_token(token)

    # -- plumbing -------------------------------------------------------------------------------------------

    @property
    def db(self) -> Database:
        """The database as the acting user may see it: only their organisation's rows (izde.store.scope).
        Before anyone logs in it is unscoped, for the login itself; every personal-data path checks the
        permission first, which needs a user."""
        if self._db is None:
            self._open()
        assert self._db is not None
        actor = self.actor
        if actor is None or actor.is_system:
            return self._db
        return self._db.scoped(actor.organisation_id or "-")  # an actor without an organisation sees nothing

    @property
    def _deployment_db(self) -> Database:
        """Every organisation's rows: for what is deployment-wide by design (retention, the whole audit chain)."""
        if self._db is None:
            self._open()
        assert self._db is not None
        return self._db

    def _open(self) -> None:
        db = self._db = Database.open(self.settings)
        marker = db.files.home / at_rest.MARKER
        if marker.exists():
            return
        # Data written before encryption at rest is sealed once, on the first open by this version, audited.
        report = at_rest.seal_all(db, rewrap=False)
        if report.changed:
            with db.session() as session:
                self.audit(
                    session,
                    "data.sealed_at_rest",
                    "data_key",
                    db.files.envelope.provider.current()[0] if db.files.envelope else None,
                    actor="system",
                    files=report.files_sealed,
                    templates=report.templates_sealed,
                )
        marker.touch(mode=0o600)

    @property
    def stack(self) -> VisionStack:
        if self._stack is None:
            self._stack = build_stack(self.settings.vision)
        return self._stack

    @property
    def audit_key(self) -> bytes:
        if self._key is None:
            self._key = audit_chain.load_key(self.settings.audit_key_path)
        return self._key

    def close(self) -> None:
        if self._stack is not None:
            self._stack.close()  # its detection threads (vision.threads), if any
            self._stack = None
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- who acts -------------------------------------------------------------------------------------------

    def require(self, action: Action) -> Actor:
        """The central permission check for the acting user; every personal-data operation starts here."""
        if self._token is not None and time.monotonic() - self._token_checked >= TOKEN_RECHECK_S:
            self.use_token(self._token)  # a long-lived object sees a logout, a disabled account or new roles
        if self.actor is None:
            raise AuthenticationFailed("not logged in", "log in with 'izde login' (or pass a token)")
        try:
            authorize(self.actor, action)
        except PermissionDenied:
            # A refused attempt on personal data is itself something oversight must be able to see.
            with self.db.session() as session:
                self.audit(session, "permission.denied", "action", action.value)
            raise
        return self.actor

    def audit(
        self,
        session: Session,
        action: str,
        subject_type: str | None = None,
        subject_id: str | None = None,
        actor: Actor | str | None = None,
        **details: Any,
    ) -> AuditEntry:
        who = actor or self.actor or "anonymous"
        floor = audit_head.read_quietly(self.settings, self.audit_key)  # never restart below the head file
        row = audit_chain.record(session, self.audit_key, who, action, subject_type, subject_id, floor=floor, **details)
        # Whose entry it is: the session's organisation (system entries of a session), else the actor's.
        acting = who if isinstance(who, Actor) else self.actor
        row.organisation_id = organisation_of(session) or (acting.organisation_id if acting else None) or None
        # The head anchor moves only after the commit, so a rolled-back entry never becomes the head.
        audit_head.anchor_after_commit(session, self.settings, self.audit_key, row)
        return row

    def use_token(self, token: str) -> Actor:
        self.actor = self._token = None  # an invalid token leaves nobody acting, never the previous user
        with self.db.session(readonly=True) as session:
            actor = users.actor_for_token(session, token)
        self.actor, self._token, self._token_checked = actor, token, time.monotonic()
        return actor

    def login(self, username: str, password: str, *, address: str = LOCAL_ADDRESS) -> str:
        """Check the password and open a session; returns its token.

        ``address`` is where the attempt comes from (the client's IP address on the web). While the user name has
        too many recent failures from that address the attempt is refused with :class:`TooManyFailedLogins`,
        before the password is checked. Failures are counted and audited; a success clears the count."""
        key = LoginKey.of(username, address)
        limit = login_attempts.limit_of(self.settings)
        now = datetime.now(UTC)
        login_attempts.begin(self.db, key, limit, now)
        try:
            with self.db.session(readonly=True) as session:
                user_id = users.authenticate(session, username, password).id
        except AuthenticationFailed:
            with self.db.session() as session:
                # The failure that locks the key says for how long, so oversight sees password guessing.
                locked_for = login_attempts.wait(session, key, limit, now)
                details = {"locked_for_s": locked_for} if locked_for else {}
                self.audit(session, "login.failed", "user", None, actor=key.username, **details)
            raise
        with self.db.session() as session:
            login_attempts.succeeded(session, key)
            user = session.get(User, user_id)
            assert user is not None
            token = users.issue_token(session, user, ttl=timedelta(hours=self.settings.security.session_hours))
            self.actor = users.actor_of(session, user)
            self.audit(session, "login", "user", user.id)
        return token

    def logout(self, token: str) -> None:
        with self.db.session() as session:
            if users.revoke_token(session, token):
                self.audit(session, "logout", "user", self.actor.user_id if self.actor else None)
        self.actor = None

    def initialise(self, admin: str, password: str, organisation: str, law_enforcement: bool) -> None:
        """First start: the audit key and the first administrator. Refused once any user exists."""
        if not self.settings.audit_key_path.exists():
            audit_chain.create_key(self.settings.audit_key_path)
        self._key = None
        with self.db.session() as session:
            if users.user_count(session):
                raise InvalidInput("izde is already initialised", "an administrator adds users with 'izde users add'")
            org = users.get_or_create_organisation(session, organisation, law_enforcement)
            user = users.create_user(session, admin, password, frozenset({Role.ADMIN}), org)
            self.audit(
                session,
                "system.init",
                "user",
                user.id,
                actor="system",
                organisation=organisation,
                law_enforcement=law_enforcement,
            )


def token_from_environment(settings: Settings) -> str | None:
    """``IZDE_TOKEN`` for scripts, else the file ``izde login`` wrote."""
    env = os.environ.get("IZDE_TOKEN")
    if env:
        return env.strip()
    path = settings.token_path
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None
