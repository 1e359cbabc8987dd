"""The rules that keep a deployment administrable: pure functions over accounts, applied by the user service.

Users are added, disabled and given roles by administrators, so a change that leaves no active administrator
would lock everyone out of user administration for good (only a fresh ``izde init`` on an empty database makes
one). An administrator also never disables or demotes themselves: a second administrator must do it, which
keeps a departing administrator's own account from being the one that decides about it.

Separation of duties: administrators manage accounts and cameras, and never also hold a role that works on
personal data (curator, approver, operator), so one administrator cannot propose, approve, watch and confirm
alone. Nobody raises their own roles. The changes by which an administrator could still act as someone else (a
new administrator; another user's password reset) are allowed, since a deployment must be able to recover
accounts, but each raises a ``security.alert`` entry for the auditors (:data:`PRIVILEGED_ALERT`), who see
them with ``izde audit alerts``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from izde.errors import Conflict
from izde.governance.roles import PermissionDenied, Role

PRIVILEGED_ALERT = "security.alert"  # the audit action auditors review privileged account changes by
# Roles that work on personal data; an administrator holds none of them.
DATA_ROLES = frozenset({Role.CURATOR, Role.APPROVER, Role.OPERATOR})


class SeparationOfDuties(PermissionDenied):
    """The roles or the change would let one person hold powers that must stay with different people."""


def check_roles(roles: frozenset[Role]) -> None:
    """Refuse a role set that joins administration with a role working on personal data."""
    mixed = roles & DATA_ROLES
    if Role.ADMIN in roles and mixed:
        raise SeparationOfDuties(
            f"an administrator cannot also be {', '.join(sorted(r.value for r in mixed))}",
            "give those roles to a separate account of another person",
        )


def privileged(actor_id: str, before: Account | None, after: Account, password_reset: bool = False) -> str | None:
    """Why a change needs the auditors' attention, or None: a new administrator, or another user's password
    set by an administrator (who could then log in as them)."""
    if Role.ADMIN in after.roles and (before is None or Role.ADMIN not in before.roles):
        return "administrator role granted"
    if password_reset and after.user_id != actor_id:
        return "password of another user reset by an administrator"
    return None


class LastAdministrator(Conflict):
    """The change would leave the deployment without an active administrator."""


@dataclass(frozen=True, slots=True)
class Account:
    """What the rules need to know about a user: who, which roles, whether they may log in."""

    user_id: str
    username: str
    roles: frozenset[Role]
    active: bool

    @property
    def is_active_admin(self) -> bool:
        return self.active and Role.ADMIN in self.roles

    def disabled(self) -> Account:
        return replace(self, active=False)

    def enabled(self) -> Account:
        return replace(self, active=True)

    def with_roles(self, roles: frozenset[Role]) -> Account:
        return replace(self, roles=roles)


def check_change(actor_id: str, before: Account, after: Account, active_admins: int) -> None:
    """Raise unless the acting administrator may turn ``before`` into ``after``.

    ``active_admins`` counts the active administrators before the change, ``before`` included if it is one."""
    check_roles(after.roles)
    if before.user_id == actor_id:
        if before.active and not after.active:
            raise PermissionDenied("you cannot disable your own account", "another administrator must do it")
        if Role.ADMIN in before.roles and Role.ADMIN not in after.roles:
            raise PermissionDenied("you cannot remove your own admin role", "another administrator must do it")
        if after.roles - before.roles:
            raise SeparationOfDuties("you cannot give yourself roles", "another administrator must do it")
    if before.is_active_admin and not after.is_active_admin and active_admins <= 1:
        raise LastAdministrator(
            f"{before.username} is the last active administrator",
            "add or enable another administrator first ('izde users add NAME --role admin ...')",
        )
