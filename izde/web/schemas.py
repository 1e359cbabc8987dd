"""What the API sends and accepts. Built from the service's views, never from database rows: no templates,
no file paths, no camera source locations ever leave the server."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from izde.archive.service import SearchView
from izde.archive.sightings import Sighting
from izde.governance.authorisations import Objective
from izde.governance.review import Decision
from izde.governance.roles import Role
from izde.runner.base import SessionInfo, WorkerInfo
from izde.service.auditlog import AuditView, SummaryReport
from izde.service.authorisations import AuthorisationView, FriaView
from izde.service.cameras import CameraView, RunView
from izde.service.settings import ChangeView
from izde.service.users import UserView
from izde.service.views import AlertView, PersonView, PhotoView
from izde.store.persons import PersonSummary

API = "/api/v1"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ErrorOut(BaseModel):
    error: str = Field(description="What went wrong, for people.")
    hint: str | None = Field(None, description="What to do about it, where known.")


class LoginIn(_In):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


class MeOut(BaseModel):
    username: str
    roles: list[str]
    organisation: str
    law_enforcement: bool


class LoginOut(MeOut):
    token: str = Field(description="Bearer token for machine clients: 'Authorization: Bearer <token>'.")


class PhotoOut(BaseModel):
    id: str
    provenance: str
    capture_date: date | None
    quality: float
    face_box: tuple[int, int, int, int]
    created_at: datetime
    url: str = Field(description="The image; served only to roles that may see photos, and each view is audited.")

    @classmethod
    def of(cls, person_id: str, p: PhotoView) -> PhotoOut:
        return cls(
            id=p.id,
            provenance=p.provenance,
            capture_date=p.capture_date,
            quality=p.quality,
            face_box=p.face_box,
            created_at=p.created_at,
            url=f"{API}/persons/{person_id}/photos/{p.id}",
        )


class PersonSummaryOut(BaseModel):
    id: str
    display_name: str
    category: str
    status: str
    expires_on: date
    created_at: datetime
    photo_count: int

    @classmethod
    def of(cls, p: PersonSummary) -> PersonSummaryOut:
        # Same field names as the service's view: let pydantic copy them.
        return cls.model_validate(p, from_attributes=True)


class PersonOut(BaseModel):
    id: str
    display_name: str
    category: str
    legal_basis: str
    issuing_authority: str
    expires_on: date
    status: str
    created_at: datetime
    photos: list[PhotoOut]

    @classmethod
    def of(cls, p: PersonView) -> PersonOut:
        return cls(
            id=p.id,
            display_name=p.display_name,
            category=p.category,
            legal_basis=p.legal_basis,
            issuing_authority=p.issuing_authority,
            expires_on=p.expires_on,
            status=p.status,
            created_at=p.created_at,
            photos=[PhotoOut.of(p.id, ph) for ph in p.photos],
        )


class RemovalOut(BaseModel):
    person_id: str
    photos: int
    templates: int
    alerts: int


class NoteIn(_In):
    note: str | None = Field(None, max_length=2000)


class AuthorisationIn(_In):
    objective: Objective
    offence_code: str | None = Field(None, max_length=50)
    issuing_authority: str = Field(min_length=1, max_length=200)
    reference: str = Field(min_length=1, max_length=200)
    starts_at: datetime
    ends_at: datetime
    covers_live: bool = False
    covers_recorded: bool = True
    persons: list[str] = Field(min_length=1, max_length=1000, description="Watchlist person ids.")
    cameras: list[str] = Field(min_length=1, max_length=1000)
    urgent_reason: str | None = Field(None, max_length=2000)


class DecisionIn(_In):
    grant: bool
    note: str | None = Field(None, max_length=2000)


class FriaIn(_In):
    summary: str = Field(min_length=1, max_length=10000)


class FriaOut(BaseModel):
    summary: str
    document_sha256: str | None
    recorded_by: str = Field(description="The user name of who recorded it.")
    recorded_at: datetime

    @classmethod
    def of(cls, f: FriaView) -> FriaOut:
        # Same field names as the service's view: let pydantic copy them.
        return cls.model_validate(f, from_attributes=True)


class AuthorisationOut(BaseModel):
    id: str
    objective: str
    offence_code: str | None
    issuing_authority: str
    reference: str
    starts_at: datetime
    ends_at: datetime
    covers_live: bool
    covers_recorded: bool
    status: str
    urgent_reason: str | None
    requested_at: datetime
    decided_at: datetime | None
    persons: list[str]
    cameras: list[str]
    fria_recorded: bool
    fria: FriaOut | None = Field(None, description="The newest recorded impact assessment.")

    @classmethod
    def of(cls, a: AuthorisationView) -> AuthorisationOut:
        return cls(
            id=a.id,
            objective=a.objective,
            offence_code=a.offence_code,
            issuing_authority=a.issuing_authority,
            reference=a.reference,
            starts_at=a.starts_at,
            ends_at=a.ends_at,
            covers_live=a.covers_live,
            covers_recorded=a.covers_recorded,
            status=a.status,
            urgent_reason=a.urgent_reason,
            requested_at=a.requested_at,
            decided_at=a.decided_at,
            persons=list(a.persons),
            cameras=list(a.cameras),
            fria_recorded=a.fria_recorded,
            fria=FriaOut.of(a.fria) if a.fria else None,
        )


class CameraIn(_In):
    name: str = Field(min_length=1, max_length=100)
    source: str = Field(min_length=1, max_length=2000, description="File, image folder, rtsp/http URL or webcam index.")
    description: str = Field("", max_length=500)
    latitude: float | None = Field(None, ge=-90, le=90, description="Where the camera is (WGS 84), for maps.")
    longitude: float | None = Field(None, ge=-180, le=180)


class CameraOut(BaseModel):
    id: str
    name: str
    description: str
    source_kind: str
    live: bool
    created_at: datetime
    last_run_id: str | None
    last_run_status: str | None
    last_run_started_at: datetime | None
    last_run_ended_at: datetime | None
    latitude: float | None = None
    longitude: float | None = None

    @classmethod
    def of(cls, c: CameraView) -> CameraOut:
        # Same field names as the service's view: let pydantic copy them.
        return cls.model_validate(c, from_attributes=True)


class RunOut(BaseModel):
    id: str
    camera: str
    source_kind: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    authorisation_id: str | None
    frames_read: int
    frames_analysed: int
    frames_dropped: int
    faces_seen: int
    tracks_seen: int
    alerts_raised: int
    error: str | None
    stop_reason: str | None

    @classmethod
    def of(cls, r: RunView) -> RunOut:
        # Same field names as the service's view: let pydantic copy them.
        return cls.model_validate(r, from_attributes=True)


class SessionIn(_In):
    camera: str = Field(min_length=1, max_length=100, description="A registered camera.")
    authorisation: str = Field(min_length=1, max_length=64, description="Id of the authorisation it runs under.")
    recorded_at: datetime | None = Field(
        None, description="For recorded footage: when the recording started (with a time zone)."
    )
    fps: float | None = Field(None, gt=0, le=30, description="Frames analysed per second (default: settings).")


class SessionOut(BaseModel):
    id: str
    camera: str
    authorisation_id: str
    started_by: str
    status: str = Field(description="starting, queued, running, completed, failed or stopped")
    health: str = Field(description="ok, stalled (no frame for a while), or finished")
    run_id: str | None
    started_at: datetime
    ended_at: datetime | None
    frames_read: int
    frames_dropped: int
    frames_analysed: int
    faces_seen: int
    tracks_seen: int
    alerts: int
    error: str | None
    stop_reason: str | None
    worker: str | None = Field(None, description="the fleet worker running the session; none on this server")

    @classmethod
    def of(cls, s: SessionInfo) -> SessionOut:
        return cls(
            id=s.id,
            camera=s.camera,
            authorisation_id=s.authorisation_id,
            started_by=s.started_by,
            status=s.status,
            health=s.health,
            run_id=s.run_id,
            started_at=s.started_at,
            ended_at=s.ended_at,
            frames_read=s.frames_read,
            frames_dropped=s.frames_dropped,
            frames_analysed=s.frames_analysed,
            faces_seen=s.faces_seen,
            tracks_seen=s.tracks_seen,
            alerts=s.alerts,
            error=s.error,
            stop_reason=s.stop_reason,
            worker=s.worker,
        )


class WorkerOut(BaseModel):
    name: str
    host: str
    capacity: int
    sessions: list[str]
    last_heartbeat: datetime
    frames_analysed_per_s: float
    frames_dropped: int

    @classmethod
    def of(cls, w: WorkerInfo) -> WorkerOut:
        return cls(
            name=w.name,
            host=w.host,
            capacity=w.capacity,
            sessions=list(w.sessions),
            last_heartbeat=w.last_heartbeat,
            frames_analysed_per_s=w.frames_analysed_per_s,
            frames_dropped=w.frames_dropped,
        )


class FleetOut(BaseModel):
    broker: bool = Field(description="whether sessions run on fleet workers (broker.url set) or in this server")
    workers: list[WorkerOut]
    sessions: list[SessionOut]


class AlertOut(BaseModel):
    id: str
    camera: str
    person_id: str
    person_name: str
    run_id: str
    created_at: datetime
    frame_time: datetime
    position_s: float
    distance: float
    threshold: float
    quality: float
    status: str
    candidate_only: Literal[True] = Field(True, description="A match is a lead for human review, never an identity.")
    evidence_url: str | None = Field(None, description="Only for roles that may see evidence; each view audited.")

    @classmethod
    def of(cls, a: AlertView, evidence: bool = False) -> AlertOut:
        return cls(
            id=a.id,
            camera=a.camera,
            person_id=a.person_id,
            person_name=a.person_name,
            run_id=a.run_id,
            created_at=a.created_at,
            frame_time=a.frame_time,
            position_s=a.position_s,
            distance=a.distance,
            threshold=a.threshold,
            quality=a.quality,
            status=a.status,
            evidence_url=f"{API}/alerts/{a.id}/evidence" if evidence and a.evidence_path is not None else None,
        )


class ReviewOut(BaseModel):
    user_id: str
    decision: str
    at: datetime
    note: str | None


class AlertDetailOut(AlertOut):
    reviews: list[ReviewOut]


class ReviewIn(_In):
    decision: Decision
    note: str | None = Field(None, max_length=2000)


class AuditOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    subject_type: str | None
    subject_id: str | None
    details: dict[str, Any]
    hash: str

    @classmethod
    def of(cls, e: AuditView) -> AuditOut:
        # Same field names as the service's view: let pydantic copy them.
        return cls.model_validate(e, from_attributes=True)


class ThresholdChangeIn(_In):
    value: float = Field(gt=0.0, lt=2.0)
    reason: str = Field(min_length=1, max_length=2000)


class ThresholdDecisionIn(_In):
    approve: bool


class ChangeOut(BaseModel):
    id: str
    key: str
    value: float
    reason: str
    status: str
    proposed_at: datetime
    decided_at: datetime | None

    @classmethod
    def of(cls, c: ChangeView) -> ChangeOut:
        # Same field names as the service's view: let pydantic copy them.
        return cls.model_validate(c, from_attributes=True)


class ThresholdOut(BaseModel):
    value: float = Field(description="The threshold in force: the last approved change, else the configured one.")
    changes: list[ChangeOut]


class ReportLink(BaseModel):
    name: str
    url: str
    description: str


class ReportsOut(BaseModel):
    summary: dict[str, Any]
    reports: list[ReportLink]

    @classmethod
    def of(cls, s: SummaryReport, links: list[ReportLink]) -> ReportsOut:
        return cls(
            summary={
                "alerts_by_status": s.alerts_by_status,
                "runs_by_status": s.runs_by_status,
                "faces_seen": s.faces_seen,
                "tracks_seen": s.tracks_seen,
                "cameras_counted": s.cameras,
            },
            reports=links,
        )


class UserIn(_In):
    username: str = Field(min_length=2, max_length=63, description="Lower-case letters, digits, '.', '_' or '-'.")
    password: str = Field(min_length=1, max_length=1000, description="At least 12 characters.")
    roles: list[Role] = Field(min_length=1, max_length=len(Role))
    organisation: str = Field(min_length=1, max_length=200)
    law_enforcement: bool | None = Field(None, description="Only when the organisation is new.")


class RolesIn(_In):
    roles: list[Role] = Field(min_length=1, max_length=len(Role), description="The new roles, replacing the old.")


class PasswordIn(_In):
    password: str = Field(min_length=1, max_length=1000, description="At least 12 characters.")


class UserOut(BaseModel):
    """A user account as administrators see it: never a password hash or a token."""

    id: str
    username: str
    roles: list[str]
    organisation: str
    active: bool = Field(description="False once disabled: no login, and every session and token refused.")
    created_at: datetime
    last_login: datetime | None

    @classmethod
    def of(cls, u: UserView) -> UserOut:
        # Same field names as the service's view: let pydantic copy them.
        return cls.model_validate(u, from_attributes=True)


class SearchIn(_In):
    archive: str | None = Field(
        None, max_length=4000, description="Folder on the server laid out ARCHIVE/CAMERA/FILE (or give manifest)."
    )
    manifest: str | None = Field(None, max_length=4000, description="CSV camera,start,path on the server.")
    authorisation: str = Field(min_length=1, max_length=64)
    case: str = Field(min_length=1, max_length=200, description="The investigation file the search serves.")
    persons: list[str] = Field(default_factory=list, max_length=100, description="Default: all it names.")
    workers: int = Field(1, ge=1, le=64)
    analysis_fps: float | None = Field(None, gt=0, le=60)
    chunk_s: float | None = Field(None, ge=5, le=86400)


class SearchOut(BaseModel):
    id: str
    case: str
    authorisation_id: str
    status: str = Field(description="running, stopping, stopped, completed, failed or purged")
    stop_reason: str | None
    created_at: datetime
    finished_at: datetime | None
    persons: list[str]
    analysis_fps: float
    footage_from: datetime
    footage_to: datetime
    footage_hours: float
    recordings: int
    refused: list[str] = Field(description="Files not searched, with the reason")
    chunks: int
    chunks_done: int
    chunks_failed: int
    progress: float = Field(description="Fraction of the footage searched, 0 to 1")
    alerts: int

    @classmethod
    def of(cls, v: SearchView) -> SearchOut:
        return cls(
            id=v.id,
            case=v.case,
            authorisation_id=v.authorisation_id,
            status=v.status,
            stop_reason=v.stop_reason,
            created_at=v.created_at,
            finished_at=v.finished_at,
            persons=list(v.persons),
            analysis_fps=v.analysis_fps,
            footage_from=v.footage_from,
            footage_to=v.footage_to,
            footage_hours=round(v.footage_s / 3600, 4),
            recordings=v.recordings,
            refused=[f"{p}: {r}" for p, r in v.refused],
            chunks=v.chunks,
            chunks_done=v.chunks_done,
            chunks_failed=v.chunks_failed,
            progress=round(v.fraction, 4),
            alerts=v.alerts,
        )


class SightingOut(BaseModel):
    person: str
    camera: str
    start: datetime
    end: datetime
    alerts: int
    alert_ids: list[str]
    best_alert: str
    best_distance: float
    threshold: float

    @classmethod
    def of(cls, s: Sighting) -> SightingOut:
        return cls(
            person=s.person,
            camera=s.camera,
            start=s.start,
            end=s.end,
            alerts=len(s.alerts),
            alert_ids=list(s.alerts),
            best_alert=s.best_alert_id,
            best_distance=s.best_distance,
            threshold=s.threshold,
        )
