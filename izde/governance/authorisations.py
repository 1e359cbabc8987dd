"""Authorisations: the legal scope of a watch session, and the pure rules that check a session against it."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from izde.governance.roles import Decision

URGENT_GRACE = timedelta(hours=24)
# A search of recorded footage after the event ("post-remote") may start before the grant; Art. 26(10) of the AI
# Act gives the authority 48 hours to decide.
POST_EVENT_GRACE = timedelta(hours=48)


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


def standing(scope: Scope, now: datetime, grace: timedelta = URGENT_GRACE) -> Decision:
    """Whether the authorisation itself allows watching now (granted, or urgent and within ``grace``)."""
    if scope.status is Status.GRANTED:
        return Decision(True, "granted")
    if scope.status is Status.REJECTED:
        return Decision(False, "the authorisation was rejected")
    if scope.urgent_reason:
        if now - scope.requested_at < grace:
            return Decision(True, "urgent start, pending grant")
        return Decision(False, f"the urgent start was not granted within {_hours(grace)} hours")
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


def search_allowed(
    scope: Scope,
    footage: Iterable[tuple[str, datetime, datetime]],
    now: datetime,
    grace: timedelta = POST_EVENT_GRACE,
) -> Decision:
    """May a retrospective search cover ``footage`` (camera, recording start, recording end) under this
    authorisation now? Every camera and all of the time searched must be covered; nothing is searched in part."""
    d = standing(scope, now, grace)
    if not d.allowed:
        return d
    if not scope.has_fria:
        return Decision(False, "record the fundamental-rights impact assessment for this authorisation first")
    if not scope.covers_recorded:
        return Decision(False, "the authorisation does not cover recorded footage")
    items = list(footage)
    if not items:
        return Decision(False, "there is no footage to search")
    outside = sorted({c for c, _, _ in items} - scope.cameras)
    if outside:
        covered = ", ".join(sorted(scope.cameras))
        return Decision(False, f"camera(s) {', '.join(outside)} not covered (covered: {covered})")
    first, last = min(s for _, s, _ in items), max(e for _, _, e in items)
    if first < scope.starts_at or last > scope.ends_at:
        return Decision(
            False,
            f"the footage spans {first.isoformat(timespec='seconds')} .. {last.isoformat(timespec='seconds')}, "
            f"outside the authorised window {scope.starts_at.isoformat(timespec='seconds')} .. "
            f"{scope.ends_at.isoformat(timespec='seconds')}",
        )
    return Decision(True, d.reason)


def _hours(t: timedelta) -> str:
    return f"{t.total_seconds() / 3600:g}"


def stop_reason(scope: Scope, footage_time: datetime, now: datetime) -> str | None:
    """Why a running session must stop now, or None to go on."""
    d = standing(scope, now)
    if not d.allowed:
        return d.reason
    if footage_time >= scope.ends_at:
        return "the authorised window has ended"
    return None
