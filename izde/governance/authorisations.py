"""Authorisations: the legal scope of a watch session, and the pure rules that check a session against it."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from izde.governance.roles import Decision

URGENT_GRACE = timedelta(hours=24)


class Objective(enum.StrEnum):
    MISSING_PERSON = "missing_person"  # targeted search for a missing person or a victim
    IMMINENT_THREAT = "imminent_threat"  # prevention of a specific, imminent threat to life
    SERIOUS_OFFENCE = "serious_offence"  # locating a suspect of a serious offence (offence code required)


class Status(enum.StrEnum):
    REQUESTED = "requested"
    GRANTED = "granted"
    REJECTED = "rejected"


class AuthorisationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    objective: Objective
    offence_code: str | None = Field(None, max_length=50)
    issuing_authority: str = Field(min_length=1, max_length=200)
    reference: str = Field(min_length=1, max_length=200)
    starts_at: datetime
    ends_at: datetime
    covers_live: bool
    covers_recorded: bool
    persons: tuple[str, ...] = Field(min_length=1, description="Watchlist persons covered (ids or names).")
    cameras: tuple[str, ...] = Field(min_length=1)
    urgent_reason: str | None = Field(None, max_length=2000)

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("give the time with a zone, e.g. 2026-11-26T08:00:00+00:00")
        return v

    @model_validator(mode="after")
    def _coherent(self) -> AuthorisationSpec:
        if self.ends_at <= self.starts_at:
            raise ValueError("the window ends before it starts")
        if not (self.covers_live or self.covers_recorded):
            raise ValueError("an authorisation covers live footage, recorded footage or both")
        if self.objective is Objective.SERIOUS_OFFENCE and not self.offence_code:
            raise ValueError("locating a suspect of a serious offence needs the offence code")
        if any(not c.strip() for c in self.cameras):
            raise ValueError("camera names cannot be empty")
        return self


@dataclass(frozen=True, slots=True)
class Scope:
    """What the session checks hold of one authorisation."""

    id: str
    status: Status
    starts_at: datetime
    ends_at: datetime
    covers_live: bool
    covers_recorded: bool
    cameras: frozenset[str]
    persons: frozenset[str]
    urgent_reason: str | None
    requested_at: datetime
    has_fria: bool


def standing(scope: Scope, now: datetime) -> Decision:
    """Whether the authorisation itself allows watching now (granted, or urgent and within 24 hours)."""
    if scope.status is Status.GRANTED:
        return Decision(True, "granted")
    if scope.status is Status.REJECTED:
        return Decision(False, "the authorisation was rejected")
    if scope.urgent_reason:
        if now - scope.requested_at < URGENT_GRACE:
            return Decision(True, "urgent start, pending grant")
        return Decision(False, "the urgent start was not granted within 24 hours")
    return Decision(False, "the authorisation is requested but not granted yet (no urgent reason was stated)")


def session_allowed(scope: Scope, camera: str, live: bool, at: datetime, now: datetime) -> Decision:
    """May a session watch ``camera`` (live or recorded, footage time ``at``) under this authorisation now?"""
    d = standing(scope, now)
    if not d.allowed:
        return d
    if not scope.has_fria:
        return Decision(
            False,
            "remote biometric identification is high-risk: record the fundamental-rights impact assessment "
            "for this authorisation before the first session",
        )
    if camera not in scope.cameras:
        return Decision(False, f"camera {camera!r} is not covered (covered: {', '.join(sorted(scope.cameras))})")
    if live and not scope.covers_live:
        return Decision(False, "the authorisation does not cover live footage")
    if not live and not scope.covers_recorded:
        return Decision(False, "the authorisation does not cover recorded footage")
    if not scope.starts_at <= at < scope.ends_at:
        what = "now" if live else "the recording's time"
        return Decision(
            False,
            f"{what} ({at.isoformat(timespec='seconds')}) is outside the authorised window "
            f"{scope.starts_at.isoformat(timespec='seconds')} .. {scope.ends_at.isoformat(timespec='seconds')}",
        )
    return Decision(True, d.reason)


def stop_reason(scope: Scope, footage_time: datetime, now: datetime) -> str | None:
    """Why a running session must stop now, or None to go on."""
    d = standing(scope, now)
    if not d.allowed:
        return d.reason
    if footage_time >= scope.ends_at:
        return "the authorised window has ended"
    return None
