"""Organisations, users (argon2id passwords) and login tokens (only their SHA-256 is stored)."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from izde.errors import Conflict, InvalidInput, IzdeError, NotFound
from izde.governance.roles import Actor, Role
from izde.store.models import Organisation, Token, User

_hasher = PasswordHasher()
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
MIN_PASSWORD = 12


class AuthenticationFailed(IzdeError):
    exit_code = 5


def parse_roles(values: Iterable[str]) -> frozenset[Role]:
    roles = set()
    for v in values:
        for part in v.split(","):
            name = part.strip().lower()
            if not name:
                continue
            try:
                roles.add(Role(name))
            except ValueError:
                raise InvalidInput(f"unknown role {part!r}", "roles: " + ", ".join(r.value for r in Role)) from None
    if not roles:
        raise InvalidInput("a user needs at least one role", "roles: " + ", ".join(r.value for r in Role))
    return frozenset(roles)


def roles_of(user: User) -> frozenset[Role]:
    return frozenset(Role(r) for r in user.roles.split(",") if r)


def roles_text(roles: frozenset[Role]) -> str:
    """The stored form: sorted, comma-separated role names."""
    return ",".join(sorted(r.value for r in roles))


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"the password is shorter than {MIN_PASSWORD} characters")
    if len(set(password)) < 5:
        raise InvalidInput("the password repeats too few characters to be safe")


def user_count(session: Session) -> int:
    return int(session.scalar(select(func.count(User.id))) or 0)


def get_or_create_organisation(session: Session, name: str, law_enforcement: bool | None = None) -> Organisation:
    org = find_organisation(session, name)
    if org is None:
        if law_enforcement is None:
            raise InvalidInput(
                f"organisation {name!r} does not exist", "create it by adding a user with --law-enforcement/--civil"
            )
        org = Organisation(name=name, law_enforcement=law_enforcement, created_at=datetime.now(UTC))
        session.add(org)
        session.flush()
    elif law_enforcement is not None and org.law_enforcement != law_enforcement:
        raise InvalidInput(f"organisation {name!r} exists with law_enforcement={org.law_enforcement}")
    return org


def find_organisation(session: Session, name: str) -> Organisation | None:
    return session.scalar(select(Organisation).where(Organisation.name == name))


def check_admin_of(actor: Actor, existing: Organisation | None) -> None:
    """Pure rule: an administrator adds users to their own organisation, or starts a new one with its first
    users (a new agency joining the deployment); never to another existing organisation, whose data the new
    account would then reach. That one is "not found", as every other organisation's record is."""
    if existing is None or existing.id == actor.organisation_id:
        return
    raise NotFound(
        f"{actor.username} administers no organisation {existing.name!r}",
        "an administrator of that organisation adds its users",
    )


def create_user(
    session: Session, username: str, password: str, roles: frozenset[Role], organisation: Organisation
) -> User:
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise InvalidInput(f"invalid user name {username!r}", "use 2-63 lower-case letters, digits, '.', '_' or '-'")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise Conflict(f"user {username} already exists")
    check_password(password)
    user = User(
        username=username,
        password_hash=_hasher.hash(password),
        organisation_id=organisation.id,
        roles=roles_text(roles),
        active=True,
        created_at=datetime.now(UTC),
    )
    session.add(user)
    session.flush()
    return user


def actor_of(session: Session, user: User) -> Actor:
    org = session.get(Organisation, user.organisation_id)
    assert org is not None
    return Actor(user.id, user.username, roles_of(user), org.name, org.law_enforcement, org.id)


def set_password(user: User, password: str) -> None:
    check_password(password)
    user.password_hash = _hasher.hash(password)


def authenticate(session: Session, username: str, password: str) -> User:
    """The user, if the password is right. The same message for every failure, so names cannot be probed."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    failure = AuthenticationFailed("wrong user name or password")
    if user is None or not user.active:
        _hasher.hash(password)  # spend the same time as a real check
        raise failure
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise failure from None
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, kind: str = "session", ttl: timedelta = timedelta(hours=12)) -> str:
    token = "izde_" + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session.add(
        Token(
            user_id=user.id, token_hash=_digest(token), kind=kind, created_at=now, expires_at=now + ttl, revoked=False
        )
    )
    session.flush()
    return token


def actor_for_token(session: Session, token: str) -> Actor:
    row = session.scalar(select(Token).where(Token.token_hash == _digest(token.strip())))
    if row is None or row.revoked or row.expires_at <= datetime.now(UTC):
        raise AuthenticationFailed("not logged in, or the session expired", "log in with 'izde login'")
    actor = active_actor(session, row.user_id)
    if actor is None:
        raise AuthenticationFailed("this account is disabled")
    return actor


def active_actor(session: Session, user_id: str) -> Actor | None:
    """The user as they stand now (current roles and organisation), or None once their account is disabled."""
    user = session.get(User, user_id)
    return actor_of(session, user) if user is not None and user.active else None


def revoke_token(session: Session, token: str) -> bool:
    row = session.scalar(select(Token).where(Token.token_hash == _digest(token.strip())))
    if row is None or row.revoked:
        return False
    row.revoked = True
    return True


def revoke_user_tokens(session: Session, user_id: str) -> int:
    """End every unexpired session and token of a user at once; returns how many there were."""
    result = session.execute(
        update(Token)
        .where(Token.user_id == user_id, Token.revoked.is_(False), Token.expires_at > datetime.now(UTC))
        .values(revoked=True)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
