"""The rules that keep a deployment administrable: pure functions over accounts, applied by the user service.

Users are added, disabled and given roles by administrators, so a change that leaves no active administrator
would lock everyone out of user administration for good (only a fresh ``izde init`` on an empty database makes
one). An administrator also never disables or demotes themselves: a second administrator must do it, which
keeps a departing administrator's own account from being the one that decides about it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from izde.errors import Conflict
from izde.governance.roles import PermissionDenied, Role


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
    if before.user_id == actor_id:
        if before.active and not after.active:
            raise PermissionDenied("you cannot disable your own account", "another administrator must do it")
        if Role.ADMIN in before.roles and Role.ADMIN not in after.roles:
            raise PermissionDenied("you cannot remove your own admin role", "another administrator must do it")
    if before.is_active_admin and not after.is_active_admin and active_admins <= 1:
        raise LastAdministrator(
            f"{before.username} is the last active administrator",
            "add or enable another administrator first ('izde users add NAME --role admin ...')",
        )
