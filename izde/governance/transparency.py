"""Transparency report: aggregate figures for the public, with no personal data.

Only counts, durations and camera names go in; the inputs are plain tuples so nothing about a person
(name, id, photo, evidence) can reach the output by accident. Alert figures come from the audit log, not
the alerts table, because retention deletes false alerts after days while the report covers a year.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

CONFIRMED_STATES = frozenset({"confirmed", "confirmed_true"})
FALSE_STATES = frozenset({"rejected", "confirmed_false"})

DEFINITIONS = {
    "hours": "Sum of the durations of watch sessions started in the period.",
    "faces": "Faces analysed (counted per camera and hour); nothing else is kept about people who match nobody.",
    "alerts": "Candidate matches raised for human review.",
    "confirmed": "Alerts confirmed by two operators (and not later found to be wrong).",
    "false_alerts": "Alerts rejected by an operator, or confirmed and later found to be another person.",
    "false_alert_rate": "false_alerts / (confirmed + false_alerts): the share of reviewed alerts that were wrong.",
    "pending": "Alerts not reviewed (yet).",
}


@dataclass(frozen=True, slots=True)
class Run:
    camera: str
    started_at: datetime
    ended_at: datetime


@dataclass(frozen=True, slots=True)
class AlertOutcome:
    camera: str
    raised_at: datetime
    state: str  # the last review's result, or pending


@dataclass(slots=True)
class Figures:
    sessions: int = 0
    hours: float = 0.0
    faces: int = 0
    alerts: int = 0
    confirmed: int = 0
    false_alerts: int = 0
    pending: int = 0

    @property
    def false_alert_rate(self) -> float | None:
        reviewed = self.confirmed + self.false_alerts
        return round(self.false_alerts / reviewed, 4) if reviewed else None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hours"] = round(self.hours, 2)
        d["false_alert_rate"] = self.false_alert_rate
        return d


@dataclass(slots=True)
class Report:
    period_from: date
    period_to: date  # inclusive
    generated_at: datetime
    authorisations: dict[str, int]
    total: Figures = field(default_factory=Figures)
    per_camera: dict[str, Figures] = field(default_factory=dict)
    per_month: dict[str, Figures] = field(default_factory=dict)
    audit_chain_ok: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": "izde transparency report",
            "period": {"from": self.period_from.isoformat(), "to": self.period_to.isoformat()},
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "authorisations": self.authorisations,
            "cameras": len(self.per_camera),
            "total": self.total.as_dict(),
            "per_camera": {k: v.as_dict() for k, v in sorted(self.per_camera.items())},
            "per_month": {k: v.as_dict() for k, v in sorted(self.per_month.items())},
            "audit_chain_ok": self.audit_chain_ok,
            "definitions": DEFINITIONS,
        }


def month(t: datetime | date) -> str:
    return f"{t.year:04d}-{t.month:02d}"


def aggregate(
    period_from: date,
    period_to: date,
    generated_at: datetime,
    authorisation_states: Iterable[str],
    runs: Iterable[Run],
    face_counts: Iterable[tuple[str, datetime, int]],
    alerts: Iterable[AlertOutcome],
) -> Report:
    """The report from already filtered inputs (everything in the period)."""
    states = list(authorisation_states)
    report = Report(
        period_from,
        period_to,
        generated_at,
        {
            "requested": len(states),
            "granted": states.count("granted"),
            "rejected": states.count("rejected"),
            "pending": states.count("requested"),
        },
    )
    cams: dict[str, Figures] = defaultdict(Figures)
    months: dict[str, Figures] = defaultdict(Figures)

    def each(camera: str, t: datetime) -> tuple[Figures, ...]:
        return report.total, cams[camera], months[month(t)]

    for r in runs:
        for f in each(r.camera, r.started_at):
            f.sessions += 1
            f.hours += max(0.0, (r.ended_at - r.started_at).total_seconds()) / 3600
    for camera, hour, faces in face_counts:
        for f in each(camera, hour):
            f.faces += faces
    for a in alerts:
        for f in each(a.camera, a.raised_at):
            f.alerts += 1
            if a.state in CONFIRMED_STATES:
                f.confirmed += 1
            elif a.state in FALSE_STATES:
                f.false_alerts += 1
            else:
                f.pending += 1
    report.per_camera, report.per_month = dict(cams), dict(months)
    return report
