"""Reading user accounts for their administration: one by name, all with their last login, and the active ones
locked for a change that must see every administrator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from izde.store.lookup import not_found
from izde.store.models import Organisation, Token, User


@dataclass(frozen=True, slots=True)
class AccountRow:
    user: User
    organisation: str
    last_login: datetime | None


def find_user(session: Session, username: str, organisation_id: str) -> User:
    """A user of ``organisation_id``; another organisation's user is "not found", like a name nobody has."""
    user = session.scalar(
        select(User).where(User.username == username.strip().lower(), User.organisation_id == organisation_id)
    )
    if user is None:
        raise not_found("user", username, "list them with 'izde users list'")
    return user


def accounts(session: Session, organisation_id: str, user_id: str | None = None) -> list[AccountRow]:
    """Every user of the organisation (or the one with ``user_id``) by name. The last login is when their newest
    token was issued: only a login issues one, and tokens are kept (revoked or expired) as long as the user is."""
    last = select(Token.user_id, func.max(Token.created_at).label("at")).group_by(Token.user_id).subquery("last_login")
    q = (
        select(User, Organisation.name, last.c.at)
        .join(Organisation, Organisation.id == User.organisation_id)
        .outerjoin(last, last.c.user_id == User.id)
        .where(User.organisation_id == organisation_id)
        .order_by(User.username)
    )
    if user_id is not None:
        q = q.where(User.id == user_id)
    return [AccountRow(user, org, at) for user, org, at in session.execute(q)]


def lock_active_users(session: Session, organisation_id: str) -> list[User]:
    """The organisation's active users, locked until the transaction ends (PostgreSQL; SQLite writers hold the
    database lock).

    Two administrators demoting each other at the same moment would otherwise each see the other still active
    and both succeed, leaving nobody to administer the deployment."""
    q = select(User).where(User.active.is_(True), User.organisation_id == organisation_id)
    return list(session.scalars(q.order_by(User.id).with_for_update()))
