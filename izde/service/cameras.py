"""Cameras: registered by an administrator; sessions read only registered sources."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from izde.errors import Conflict, InvalidInput, SourceError
from izde.governance.roles import Action
from izde.governance.sources import SourcePolicy, SourceRefused, check_source
from izde.pipeline.sources import parse_source
from izde.service.core import Core
from izde.store import runs as run_store
from izde.store.lookup import not_found
from izde.store.models import Camera, WatchRun


@dataclass(frozen=True, slots=True)
class CameraView:
    """A camera as shown to people: its source location stays on the server (it may hold credentials)."""

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


@dataclass(frozen=True, slots=True)
class RunView:
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


def run_view(r: WatchRun) -> RunView:
    return RunView(
        r.id,
        r.camera,
        r.source_kind,
        r.status,
        r.started_at,
        r.ended_at,
        r.authorisation_id,
        r.frames_read,
        r.frames_analysed,
        r.frames_dropped,
        r.faces_seen,
        r.tracks_seen,
        r.alerts_raised,
        r.error,
        r.stop_reason,
    )


class CameraService(Core):
    def add_camera(self, name: str, source: str, description: str = "") -> CameraView:
        self.require(Action.CAMERA_ADMIN)
        name = name.strip()
        if not name or len(name) > 100:
            raise InvalidInput("a camera needs a name of 1 to 100 characters")
        spec = parse_source(source)  # refuses a missing file or folder now rather than at the first session
        check_source(spec.kind.value, spec.location, SourcePolicy.of(self.settings))
        assert self.actor is not None
        try:
            with self.db.session() as session:
                if session.scalar(select(Camera.id).where(Camera.name == name)) is not None:
                    raise Conflict(f"camera {name} already exists")
                row = Camera(name=name, source=spec.location, description=description.strip()[:500])
                row.created_by = self.actor.user_id
                session.add(row)
                session.flush()
                self.audit(session, "camera.add", "camera", row.id, name=name, source_kind=spec.kind.value)
        except IntegrityError:
            raise Conflict(f"camera {name} already exists") from None
        return self.camera(name)

    def cameras(self) -> list[CameraView]:
        self.require(Action.CAMERA_READ)
        with self.db.session(readonly=True) as session:
            return [_camera_view(session, c) for c in session.scalars(select(Camera).order_by(Camera.name))]

    def camera(self, name: str) -> CameraView:
        self.require(Action.CAMERA_READ)
        with self.db.session(readonly=True) as session:
            return _camera_view(session, _find_camera(session, name))

    def _camera_source(self, name: str) -> str:
        """Where a session reads the camera from; for the watch service, which checks the permission."""
        with self.db.session(readonly=True) as session:
            return _find_camera(session, name).source

    def _session_source(self, camera: str, source: str | None) -> str:
        """The source a session on ``camera`` reads: the registered one (a camera is more than a label, so a
        different source under its name is refused); an unregistered camera's only while
        ``cameras.registered_only`` is off. Either way the source policy applies."""
        with self.db.session(readonly=True) as session:
            registered = session.scalar(select(Camera.source).where(Camera.name == camera.strip()))
        if registered is not None:
            if source and parse_source(source).location != registered:
                raise SourceRefused(
                    f"camera {camera} is registered with another source",
                    "leave the source out to read the registered one, or register a camera for this source",
                )
            chosen = registered
        elif self.settings.cameras.registered_only:
            raise not_found("camera", camera, "an administrator registers cameras ('izde cameras add NAME SOURCE')")
        elif not source:
            raise InvalidInput("a source is required for an unregistered camera")
        else:
            chosen = source
        spec = parse_source(chosen)
        check_source(spec.kind.value, spec.location, SourcePolicy.of(self.settings))
        return chosen

    def runs(self, camera: str | None = None, limit: int = 50) -> list[RunView]:
        """Watch runs with their counters (aggregates only: no faces, no persons)."""
        self.require(Action.CAMERA_READ)
        with self.db.session(readonly=True) as session:
            return [run_view(r) for r in run_store.list_runs(session, camera=camera, limit=limit)]

    def run(self, ref: str) -> RunView:
        self.require(Action.CAMERA_READ)
        with self.db.session(readonly=True) as session:
            return run_view(run_store.get_run(session, ref))


def _find_camera(session: Session, name: str) -> Camera:
    row = session.scalar(select(Camera).where(Camera.name == name.strip()))
    if row is None:
        raise not_found("camera", name, "an administrator registers cameras")
    return row


def _camera_view(session: Session, c: Camera) -> CameraView:
    last = session.scalar(
        select(WatchRun).where(WatchRun.camera == c.name).order_by(WatchRun.started_at.desc()).limit(1)
    )
    kind = parse_source_kind(c.source)
    return CameraView(
        c.id,
        c.name,
        c.description,
        kind,
        kind in ("stream", "webcam"),
        c.created_at,
        last.id if last else None,
        last.status if last else None,
        last.started_at if last else None,
        last.ended_at if last else None,
    )


def parse_source_kind(source: str) -> str:
    """The kind of a stored source, without failing when a registered file has since gone."""
    try:
        return parse_source(source).kind.value
    except SourceError:
        return "missing"
