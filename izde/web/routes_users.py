"""User accounts, for administrators: add, list, disable and enable, roles, password resets."""

from __future__ import annotations

from fastapi import APIRouter

from izde.web.deps import Service
from izde.web.schemas import PasswordIn, RolesIn, UserIn, UserOut

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.get("", response_model=list[UserOut])
def list_users(service: Service) -> list[UserOut]:
    """Every user with roles, organisation, whether they may log in, and their last login."""
    return [UserOut.of(u) for u in service.users()]


@router.post("", response_model=UserOut, status_code=201)
def add_user(body: UserIn, service: Service) -> UserOut:
    """Add a user to an organisation (``law_enforcement`` only when the organisation is new)."""
    roles = frozenset(body.roles)
    return UserOut.of(service.add_user(body.username, body.password, roles, body.organisation, body.law_enforcement))


@router.post("/{username}/disable", response_model=UserOut)
def disable_user(username: str, service: Service) -> UserOut:
    """The user can no longer log in; their sessions and tokens are refused from the next request on.
    Refused (403) for your own account and (409) for the last active administrator."""
    return UserOut.of(service.disable_user(username))


@router.post("/{username}/enable", response_model=UserOut)
def enable_user(username: str, service: Service) -> UserOut:
    """The user may log in again; their old sessions stay ended."""
    return UserOut.of(service.enable_user(username))


@router.put("/{username}/roles", response_model=UserOut)
def set_roles(username: str, body: RolesIn, service: Service) -> UserOut:
    """Replace the user's roles. Nobody removes their own admin role; the last active administrator stays one."""
    return UserOut.of(service.set_roles(username, frozenset(body.roles)))


@router.post("/{username}/password", response_model=UserOut)
def reset_password(username: str, body: PasswordIn, service: Service) -> UserOut:
    """Set a new password and end the user's open sessions."""
    return UserOut.of(service.reset_password(username, body.password))
