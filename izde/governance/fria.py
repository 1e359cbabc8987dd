"""The fundamental-rights impact assessment (Art. 27) data pack: what the deployer's assessment needs to state,
filled in from configuration and records. It supports the assessment; it does not replace the people doing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from izde.config import Settings
from izde.governance.review import CONFIRMATIONS_NEEDED
from izde.governance.risk import Classification

DEFAULT_COMPLAINTS = (
    "Anyone who believes they were wrongly identified or affected may complain to the data protection officer of "
    "the operating organisation and to the national data protection supervisory authority; complaints are "
    "recorded and answered in writing."
)


def false_match_estimate(
    threshold: float, size: int, home: Path | None = None, descriptors: Sequence[str] = ("dlib",)
) -> float:
    """Share of passers-by (not on the list) expected to raise a false candidate alert, from the calibration
    in force (the deployment's own 'izde eval calibrate' file, else the LFW one shipped with izde for the score
    ``descriptors`` match by)."""
    from izde.eval import calibration

    cal, _ = calibration.load(None, home, descriptors)
    return round(cal.false_alerts(threshold, size) / calibration.FACES, 4) if size > 0 else 0.0


@dataclass(frozen=True, slots=True)
class FriaInputs:
    authorisation: dict[str, Any]
    settings: Settings
    threshold: float
    persons_by_category: dict[str, int]
    cameras: list[str]
    sessions: int
    hours: float
    first_session: datetime | None
    last_session: datetime | None
    faces_by_camera: dict[str, int]
    tracks_by_camera: dict[str, int]
    risk: Classification
    complaints: str
    generated_at: datetime


def build(i: FriaInputs) -> dict[str, Any]:
    s = i.settings
    size = sum(i.persons_by_category.values())
    rate: float | None = false_match_estimate(i.threshold, size, s.home, s.vision.descriptors)
    tracks = sum(i.tracks_by_camera.values())
    a = i.authorisation
    if rate is None:
        false_matches = (
            f"The false-match rate at threshold {i.threshold} has not been measured; measure it with the "
            "accuracy benchmark before use."
        )
    else:
        false_matches = (
            f"At threshold {i.threshold} with {size} covered person(s), an estimated {rate:.2%} of passers-by who "
            f"are not on the list raise a false candidate alert (calibration in force; see 'izde threshold show')"
            + (
                f"; for the {tracks} tracks seen on these cameras so far that is about {rate * tracks:.0f}."
                if tracks
                else "."
            )
        )
    return {
        "title": "Fundamental-rights impact assessment: data pack",
        "generated_at": i.generated_at.isoformat(timespec="seconds"),
        "deployment": a,
        "classification": {
            "class": i.risk.risk_class.value,
            "reasons": list(i.risk.reasons),
            "missing": list(i.risk.missing),
        },
        "processes": [
            f"Frames are sampled at {s.pipeline.analysis_fps} per second from the covered cameras only.",
            f"Faces are detected ({s.vision.detector}) and tracked across frames; faces narrower than "
            f"{s.pipeline.min_face_px} px are counted, never recognised.",
            f"Up to {s.pipeline.best_shots} best shots per track are embedded ({s.vision.embedder} descriptor network) "
            f"and matched against the covered persons only (threshold {i.threshold}).",
            "A track that matches nobody is dropped in memory; only counts per camera and hour are kept.",
            "A match raises one alert with an evidence image (other faces blurred), then stays silent for "
            f"{s.pipeline.cooldown_s:.0f} s per person and camera; it is a candidate for human review, never an "
            "identification.",
        ],
        "period_and_frequency": {
            "authorised_window": [a.get("starts_at"), a.get("ends_at")],
            "live": a.get("covers_live"),
            "recorded": a.get("covers_recorded"),
            "sessions_so_far": i.sessions,
            "hours_so_far": round(i.hours, 2),
            "first_session": i.first_session.isoformat() if i.first_session else None,
            "last_session": i.last_session.isoformat() if i.last_session else None,
        },
        "people_affected": {
            "watchlisted_persons_by_category": dict(sorted(i.persons_by_category.items())),
            "passers_by": {
                "cameras": i.cameras,
                "faces_analysed_by_camera": dict(sorted(i.faces_by_camera.items())),
                "note": "Everyone passing the covered cameras is analysed; nothing is kept about those who "
                "match nobody beyond these counts.",
            },
        },
        "risks": {
            "false_matches": false_matches,
            "bias": "Face recognition error rates differ between demographic groups and with age, lighting and "
            "pose; izde infers no attributes, so differences cannot be monitored per group and are mitigated "
            "by human review of every candidate and by recent, good-quality reference photos.",
            "function_creep": "Searches are limited to the persons, cameras and time window of this "
            "authorisation; unknown faces are never clustered or enrolled; live use is limited to "
            "law-enforcement authorities for the listed objectives.",
        },
        "human_oversight": [
            f"Every alert needs {CONFIRMATIONS_NEEDED} different operators to confirm it before anyone acts.",
            "Watchlist entries and threshold changes are proposed by one person and approved by another.",
            "Every action is recorded in a keyed, hash-chained audit log that auditors verify (izde audit verify).",
        ],
        "mitigations": {
            "no_storage_of_non_matches": True,
            "evidence_blur": "faces other than the matched one are blurred in stored evidence",
            "retention_days": s.retention.model_dump(),
        },
        "complaints": i.complaints,
    }


def markdown(pack: dict[str, Any]) -> str:
    d = pack["deployment"]
    c = pack["classification"]
    p = pack["period_and_frequency"]
    people = pack["people_affected"]
    lines = [
        f"# {pack['title']}",
        "",
        f"Generated {pack['generated_at']} for authorisation {d.get('id')} ({d.get('reference')}, "
        f"{d.get('issuing_authority')}); objective {d.get('objective')}.",
        "",
        f"## Classification: {c['class']}",
        *[f"- {r}" for r in c["reasons"]],
        *([f"- **Missing:** {m}" for m in c["missing"]]),
        "",
        "## Processes",
        *[f"- {x}" for x in pack["processes"]],
        "",
        "## Period and frequency of use",
        f"- Authorised window: {p['authorised_window'][0]} to {p['authorised_window'][1]}"
        f" (live: {p['live']}, recorded: {p['recorded']})",
        f"- Sessions so far: {p['sessions_so_far']}, {p['hours_so_far']} hours"
        + (f", {p['first_session']} to {p['last_session']}" if p["first_session"] else ""),
        "",
        "## Categories of people affected",
        *[f"- Watchlisted ({k}): {v}" for k, v in people["watchlisted_persons_by_category"].items()],
        f"- Passers-by on cameras {', '.join(people['passers_by']['cameras'])}: "
        + (
            ", ".join(f"{k} {v} faces" for k, v in people["passers_by"]["faces_analysed_by_camera"].items())
            or "none analysed yet"
        ),
        f"- {people['passers_by']['note']}",
        "",
        "## Risks",
        *[f"- **{k.replace('_', ' ')}:** {v}" for k, v in pack["risks"].items()],
        "",
        "## Human oversight",
        *[f"- {x}" for x in pack["human_oversight"]],
        "",
        "## Mitigations",
        "- Faces that match nobody are not stored.",
        f"- Evidence: {pack['mitigations']['evidence_blur']}.",
        *[f"- Retention, {k.replace('_', ' ')}: {v}" for k, v in pack["mitigations"]["retention_days"].items()],
        "",
        "## Complaints",
        pack["complaints"],
        "",
    ]
    return "\n".join(lines)
