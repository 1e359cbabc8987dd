"""User administration: add, list, disable and enable users, change their roles, reset their passwords.

Every operation needs the admin role and is audited in its own transaction. A disabled user's sessions and
tokens end at once (they are revoked, and every request re-reads whether the account is active); so do a
user's sessions when their password is reset. Password material never reaches the audit log or a view."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from izde.errors import Conflict
from izde.governance import users
from izde.governance.admins import PRIVILEGED_ALERT, Account, check_change, check_roles, privileged
from izde.governance.roles import Action, Role
from izde.service.core import Core
from izde.store import accounts
from izde.store.models import User

# One change to one user, made in the caller's transaction; returns the details to audit (never a password).
Change = Callable[[User, Session], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class UserView:
    """A user as administrators see them; never the password hash or tokens."""

    id: str
    username: str
    roles: tuple[str, ...]
    organisation: str
    active: bool
    created_at: datetime
    last_login: datetime | None


def _account(user: User) -> Account:
    return Account(user.id, user.username, users.roles_of(user), user.active)


def _view(row: accounts.AccountRow) -> UserView:
    u = row.user
    roles = tuple(sorted(r.value for r in users.roles_of(u)))
    return UserView(u.id, u.username, roles, row.organisation, u.active, u.created_at, row.last_login)


class UserService(Core):
    def add_user(
        self, username: str, password: str, roles: frozenset[Role], organisation: str, law_enforcement: bool | None
    ) -> UserView:
        actor = self.require(Action.USER_ADMIN)
        check_roles(roles)
        with self.db.session() as session:
            org = users.get_or_create_organisation(session, organisation, law_enforcement)
            user = users.create_user(session, username, password, roles, org)
            self.audit(
                session,
                "user.add",
                "user",
                user.id,
                username=user.username,
                roles=sorted(r.value for r in roles),
                organisation=org.name,
            )
            self._alert_if_privileged(session, privileged(actor.user_id, None, _account(user)), "user.add", user)
            user_id = user.id
        return self._view_of(user_id)

    def users(self) -> list[UserView]:
        """Every user with their roles, organisation, whether they may log in, and when they last did."""
        self.require(Action.USER_ADMIN)
        with self.db.session() as session:
            rows = [_view(r) for r in accounts.accounts(session)]
            self.audit(session, "user.list", "user", None, count=len(rows))
        return rows

    def disable_user(self, username: str) -> UserView:
        """The user can no longer log in, and their sessions and tokens stop working at once."""

        def disable(user: User, session: Session) -> dict[str, Any]:
            if not user.active:
                raise Conflict(f"user {user.username} is already disabled")
            user.active = False
            # Revoked as well as refused: enabling the account again later must not revive old sessions.
            return {"sessions_ended": users.revoke_user_tokens(session, user.id)}

        return self._change(username, "user.disable", disable)

    def enable_user(self, username: str) -> UserView:
        """The user may log in again (with a new session: their old ones stay ended)."""

        def enable(user: User, session: Session) -> dict[str, Any]:
            if user.active:
                raise Conflict(f"user {user.username} is already active")
            user.active = True
            return {}

        return self._change(username, "user.enable", enable)

    def set_roles(self, username: str, roles: frozenset[Role]) -> UserView:
        """Replace the user's roles. Their open sessions act with the new roles from their next request."""

        def set_roles(user: User, session: Session) -> dict[str, Any]:
            before = sorted(r.value for r in users.roles_of(user))
            user.roles = users.roles_text(roles)
            return {"before": before, "after": sorted(r.value for r in roles)}

        return self._change(username, "user.roles", set_roles)

    def reset_password(self, username: str, password: str) -> UserView:
        """Set a new password and end the user's sessions, so that whoever held the old one is logged out."""

        def reset(user: User, session: Session) -> dict[str, Any]:
            users.set_password(user, password)
            return {"sessions_ended": users.revoke_user_tokens(session, user.id)}

        return self._change(username, "user.password_reset", reset)

    def _change(self, username: str, action: str, change: Change) -> UserView:
        """The permission check, then one change to one user, the administrability rules and the audit entry,
        in one transaction: a refused change leaves nothing behind."""
        actor = self.require(Action.USER_ADMIN)
        with self.db.session() as session:
            # Locked first, so the count of administrators cannot change before this transaction ends.
            admins = sum(1 for u in accounts.lock_active_users(session) if _account(u).is_active_admin)
            user = accounts.find_user(session, username)
            before = _account(user)
            details = change(user, session)
            check_change(actor.user_id, before, _account(user), admins)
            self.audit(session, action, "user", user.id, username=user.username, **details)
            reason = privileged(actor.user_id, before, _account(user), password_reset=action == "user.password_reset")
            self._alert_if_privileged(session, reason, action, user)
            user_id = user.id
        return self._view_of(user_id)

    def _alert_if_privileged(self, session: Session, reason: str | None, action: str, user: User) -> None:
        """A change by which an administrator could act as someone else: in the same transaction, an entry the
        auditors review (``izde audit alerts``)."""
        if reason is not None:
            self.audit(session, PRIVILEGED_ALERT, "user", user.id, reason=reason, change=action, username=user.username)

    def _view_of(self, user_id: str) -> UserView:
        with self.db.session(readonly=True) as session:
            return _view(accounts.accounts(session, user_id)[0])
