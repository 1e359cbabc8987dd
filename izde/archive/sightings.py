"""Sightings: where and when a person was seen, from the alerts a search raised.

Alerts of one person on one camera close together in time are one sighting: the person walked past, and the
tracker may have lost and found them again (or a chunk boundary cut the passage in two).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_GAP_S = 60.0


@dataclass(frozen=True, slots=True)
class Hit:
    """One alert of a search, as a sighting is built from it: a matched track's interval and its distance."""

    alert_id: str
    person_id: str
    person: str
    camera: str
    start: datetime  # when the matched track was first seen (or the alert's time, when not known)
    end: datetime  # the alert's time or the track's last sighting, whichever is later
    distance: float
    threshold: float


@dataclass(frozen=True, slots=True)
class Sighting:
    person_id: str
    person: str
    camera: str
    start: datetime
    end: datetime
    alerts: tuple[str, ...]
    best_alert_id: str
    best_distance: float
    threshold: float

    def as_json(self) -> dict[str, object]:
        return {
            "person": self.person,
            "camera": self.camera,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "alerts": len(self.alerts),
            "alert_ids": list(self.alerts),
            "best_alert": self.best_alert_id,
            "best_distance": round(self.best_distance, 4),
            "threshold": self.threshold,
        }


def sightings(hits: Iterable[Hit], gap_s: float = DEFAULT_GAP_S) -> list[Sighting]:
    """Merge each person's hits on each camera whose intervals are less than ``gap_s`` apart; ordered by time."""
    groups: dict[tuple[str, str], list[Hit]] = {}
    for h in hits:
        groups.setdefault((h.person_id, h.camera), []).append(h)
    gap = timedelta(seconds=gap_s)
    out: list[Sighting] = []
    for group in groups.values():
        group.sort(key=lambda h: (h.start, h.alert_id))
        run: list[Hit] = []
        for h in group:
            if run and h.start - max(x.end for x in run) > gap:
                out.append(_sighting(run))
                run = []
            run.append(h)
        out.append(_sighting(run))
    out.sort(key=lambda s: (s.start, s.camera, s.person))
    return out


def _sighting(run: list[Hit]) -> Sighting:
    best = min(run, key=lambda h: (h.distance, h.alert_id))
    return Sighting(
        person_id=best.person_id,
        person=best.person,
        camera=best.camera,
        start=min(h.start for h in run),
        end=max(h.end for h in run),
        alerts=tuple(h.alert_id for h in run),
        best_alert_id=best.alert_id,
        best_distance=best.distance,
        threshold=best.threshold,
    )
