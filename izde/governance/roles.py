"""Roles, actions and the one permission check every command and route goes through.

Deny by default: an action is allowed only if one of the actor's roles lists it. The table is the policy;
it is small enough to read, and the permission-matrix tests check every cell of it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from izde.errors import IzdeError


class Role(enum.StrEnum):
    ADMIN = "admin"  # system settings and users; no access to watchlist photos or evidence
    CURATOR = "curator"  # proposes watchlist entries and requests authorisations
    APPROVER = "approver"  # approves entries, registers authorisations, approves threshold changes
    OPERATOR = "operator"  # runs watch sessions and reviews alerts
    AUDITOR = "auditor"  # reads the audit log and reports


class Action(enum.StrEnum):
    USER_ADMIN = "user.admin"
    SETTINGS_ADMIN = "settings.admin"
    WATCHLIST_READ = "watchlist.read"
    WATCHLIST_PROPOSE = "watchlist.propose"
    WATCHLIST_APPROVE = "watchlist.approve"
    WATCHLIST_REMOVE = "watchlist.remove"
    PHOTO_VIEW = "photo.view"
    AUTHORISATION_READ = "authorisation.read"
    AUTHORISATION_REQUEST = "authorisation.request"
    AUTHORISATION_DECIDE = "authorisation.decide"
    FRIA_RECORD = "fria.record"
    WATCH_LIVE = "watch.live"
    WATCH_RECORDED = "watch.recorded"
    ALERT_READ = "alert.read"
    ALERT_REVIEW = "alert.review"
    EVIDENCE_VIEW = "evidence.view"
    THRESHOLD_READ = "threshold.read"
    THRESHOLD_PROPOSE = "threshold.propose"
    THRESHOLD_APPROVE = "threshold.approve"
    AUDIT_READ = "audit.read"
    REPORT_READ = "report.read"
    PURGE = "purge.run"
    CAMERA_READ = "camera.read"
    CAMERA_ADMIN = "camera.admin"


A = Action
ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset({A.USER_ADMIN, A.SETTINGS_ADMIN, A.THRESHOLD_READ, A.PURGE, A.CAMERA_READ, A.CAMERA_ADMIN}),
    Role.CURATOR: frozenset(
        {
            A.WATCHLIST_READ,
            A.WATCHLIST_PROPOSE,
            A.WATCHLIST_REMOVE,
            A.PHOTO_VIEW,
            A.AUTHORISATION_READ,
            A.AUTHORISATION_REQUEST,
            A.FRIA_RECORD,
            A.CAMERA_READ,
        }
    ),
    Role.APPROVER: frozenset(
        {
            A.WATCHLIST_READ,
            A.WATCHLIST_APPROVE,
            A.WATCHLIST_REMOVE,
            A.PHOTO_VIEW,
            A.AUTHORISATION_READ,
            A.AUTHORISATION_DECIDE,
            A.FRIA_RECORD,
            A.THRESHOLD_READ,
            A.THRESHOLD_APPROVE,
            A.CAMERA_READ,
        }
    ),
    Role.OPERATOR: frozenset(
        {
            A.WATCHLIST_READ,
            A.PHOTO_VIEW,
            A.AUTHORISATION_READ,
            A.WATCH_LIVE,
            A.WATCH_RECORDED,
            A.ALERT_READ,
            A.ALERT_REVIEW,
            A.EVIDENCE_VIEW,
            A.THRESHOLD_READ,
            A.THRESHOLD_PROPOSE,
            A.CAMERA_READ,
        }
    ),
    Role.AUDITOR: frozenset(
        {A.AUDIT_READ, A.REPORT_READ, A.AUTHORISATION_READ, A.THRESHOLD_READ, A.ALERT_READ, A.CAMERA_READ}
    ),
}


class PermissionDenied(IzdeError):
    exit_code = 5


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a logged-in user (with their organisation's status) or the system itself."""

    user_id: str
    username: str
    roles: frozenset[Role]
    organisation: str
    law_enforcement: bool
    # Every query this actor makes is scoped to it (izde.store.scope); empty sees nothing.
    organisation_id: str = ""

    @property
    def is_system(self) -> bool:
        return self.user_id == SYSTEM.user_id


SYSTEM = Actor("system", "system", frozenset(), "izde", False)


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str


def decide(actor: Actor, action: Action) -> Decision:
    """Pure policy: may ``actor`` perform ``action``?"""
    if actor.is_system:
        return Decision(False, "the system account cannot act on personal data on anyone's behalf")
    granting = sorted(r.value for r in actor.roles if action in ROLE_ACTIONS[r])
    if granting:
        return Decision(True, f"allowed by role {granting[0]}")
    if action is Action.WATCH_LIVE and not actor.law_enforcement:
        return Decision(False, "real-time identification is reserved to law-enforcement authorities")
    needed = sorted(r.value for r, acts in ROLE_ACTIONS.items() if action in acts)
    return Decision(False, f"{action.value} needs the role {' or '.join(needed) or 'nobody has'}")


def live_allowed(actor: Actor) -> Decision:
    """Real-time identification needs the role and a law-enforcement organisation."""
    d = decide(actor, Action.WATCH_LIVE)
    if not d.allowed:
        return d
    if not actor.law_enforcement:
        return Decision(
            False,
            f"real-time identification is reserved to law-enforcement authorities; {actor.organisation} is not one",
        )
    return d


def decision(actor: Actor, action: Action) -> Decision:
    """The full policy for ``action``: the roles, and for live identification the organisation too."""
    return live_allowed(actor) if action is Action.WATCH_LIVE else decide(actor, action)


def authorize(actor: Actor, action: Action) -> None:
    """The central check. Raises :class:`PermissionDenied` saying what is missing."""
    d = decision(actor, action)
    if not d.allowed:
        raise PermissionDenied(f"{actor.username} may not {action.value}: {d.reason}")
