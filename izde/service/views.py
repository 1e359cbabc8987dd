"""What the service returns: plain values, separate from database rows. Templates never appear here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path


@dataclass(frozen=True, slots=True)
class PhotoView:
    id: str
    provenance: str
    capture_date: date | None
    quality: float
    face_box: tuple[int, int, int, int]
    path: Path
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PersonView:
    """A watchlist entry as shown to people: no templates, ever."""

    id: str
    display_name: str
    category: str
    legal_basis: str
    issuing_authority: str
    expires_on: date
    status: str
    created_at: datetime
    photos: tuple[PhotoView, ...]


@dataclass(frozen=True, slots=True)
class AlertView:
    id: str
    camera: str
    person_id: str
    person_name: str
    run_id: str
    track_id: int
    created_at: datetime
    frame_time: datetime
    position_s: float
    distance: float
    threshold: float
    quality: float
    status: str
    evidence_path: Path | None  # only for roles that may see evidence, and each such view is audited
    seq: int | None = None  # the committed sequence the live feed pages by


@dataclass(slots=True)
class WatchReport:
    run_id: str
    camera: str
    source: str
    status: str  # completed, failed or stopped
    error: str | None
    frames_read: int
    frames_analysed: int
    frames_dropped: int
    faces_seen: int
    tracks_seen: int
    alerts: list[AlertView] = field(default_factory=list)
    stop_reason: str | None = None
    reconnects: int = 0  # live sources: times the stream dropped and was reopened

    @property
    def finished(self) -> bool:
        return self.status == "completed"
