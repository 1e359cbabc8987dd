"""Watch sessions as threads of the server process: the embedded default.

One thread per session, each with its own service acting as the operator who started it."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from izde.config import Settings
from izde.errors import Conflict, NotFound
from izde.governance.roles import Action, Actor
from izde.pipeline.sources import SourceStats
from izde.pipeline.watcher import WatchCounters
from izde.runner.base import SessionInfo, WorkerInfo
from izde.service.views import AlertView, WatchReport
from izde.vision.types import Frame

if TYPE_CHECKING:
    from izde.api import Izde

log = logging.getLogger(__name__)

START_TIMEOUT_S = 120.0  # opening a source and loading the networks the first time can take a while
STALLED_S = 30.0  # a running session that has not analysed a frame for this long is reported as stalled
JOIN_TIMEOUT_S = 10.0

# A service acting as the given user with the given settings, sharing the server's database and networks.
ServiceFactory = Callable[[Actor, Settings], "Izde"]


def with_fps(settings: Settings, fps: float | None) -> Settings:
    if fps is None:
        return settings
    return settings.model_copy(update={"pipeline": settings.pipeline.model_copy(update={"analysis_fps": fps})})


def max_sessions_refusal(running: int, limit: int) -> Conflict:
    return Conflict(
        f"this server already runs {running} watch session(s), its limit (web.max_sessions = {limit})",
        "stop a session first, or raise web.max_sessions if 'izde bench capacity' says the machine "
        "can analyse more cameras in real time",
    )


@dataclass
class WatchSession:
    id: str
    camera: str
    authorisation_id: str
    started_by: str
    live: bool
    organisation_id: str  # only its organisation's users see or stop it
    stop_event: threading.Event = field(default_factory=threading.Event)
    started: threading.Event = field(default_factory=threading.Event)
    status: str = "starting"
    run_id: str | None = None
    stats: SourceStats | None = None
    counters: WatchCounters = field(default_factory=WatchCounters)
    alerts: int = 0
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    ended_at: datetime | None = None
    last_frame: float = field(default_factory=time.monotonic)
    error: str | None = None
    stop_reason: str | None = None
    failure: BaseException | None = None
    thread: threading.Thread | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("completed", "failed", "stopped")

    def health(self) -> str:
        if self.finished:
            return "finished"
        return "stalled" if time.monotonic() - self.last_frame > STALLED_S else "ok"

    def info(self) -> SessionInfo:
        stats = self.stats
        return SessionInfo(
            id=self.id,
            camera=self.camera,
            authorisation_id=self.authorisation_id,
            started_by=self.started_by,
            status=self.status,
            health=self.health(),
            run_id=self.run_id,
            started_at=self.started_at,
            ended_at=self.ended_at,
            frames_read=stats.frames_read if stats else 0,
            frames_dropped=stats.frames_dropped if stats else 0,
            frames_analysed=self.counters.frames_analysed,
            faces_seen=self.counters.faces_seen,
            tracks_seen=self.counters.tracks_seen,
            alerts=self.alerts,
            error=self.error,
            stop_reason=self.stop_reason,
            organisation_id=self.organisation_id,
        )


class InProcessRunner:
    """A :class:`~izde.runner.base.SessionRunner` running each session in a thread of this process."""

    def __init__(self, services: ServiceFactory, max_sessions: int | None = None) -> None:
        self.services = services
        self.max_sessions = max_sessions
        self._sessions: dict[str, WatchSession] = {}
        self._starting = 0  # slots taken by starts still in progress, so two starts cannot both pass the limit
        self._lock = threading.Lock()

    def start(
        self, service: Izde, camera: str, authorisation: str, recorded_at: datetime | None, fps: float | None
    ) -> SessionInfo:
        """Start a worker thread and wait until its run is recorded, so that refusals reach the caller as errors."""
        assert service.actor is not None
        self._reserve(self.max_sessions)
        try:
            return self._start(service, camera, authorisation, recorded_at, fps).info()
        finally:
            with self._lock:
                self._starting -= 1

    def _reserve(self, limit: int | None) -> None:
        with self._lock:
            running = sum(not s.finished for s in self._sessions.values())
            if limit is not None and running + self._starting >= limit:
                raise max_sessions_refusal(running, limit)
            self._starting += 1

    def _start(
        self, service: Izde, camera: str, authorisation: str, recorded_at: datetime | None, fps: float | None
    ) -> WatchSession:
        assert service.actor is not None
        worker = self.services(service.actor, with_fps(service.settings, fps))
        cam = service.camera(camera)
        session = WatchSession(
            uuid.uuid4().hex, cam.name, authorisation, service.actor.username, cam.live, service.actor.organisation_id
        )

        def on_start(run_id: str, stats: SourceStats) -> None:
            session.run_id, session.stats, session.status = run_id, stats, "running"
            session.started.set()

        def on_frame(frame: Frame, counters: WatchCounters) -> None:
            session.counters, session.last_frame = counters, time.monotonic()

        def on_alert(alert: AlertView) -> None:
            session.alerts += 1

        def run() -> None:
            try:
                report: WatchReport = worker.watch_camera(
                    cam.name,
                    authorisation,
                    recorded_at=recorded_at,
                    stop=session.stop_event,
                    progress=on_frame,
                    on_alert=on_alert,
                    on_start=on_start,
                )
                session.status, session.error, session.stop_reason = report.status, report.error, report.stop_reason
            except BaseException as e:  # reported to the caller (before start) or kept as the session's error
                session.failure, session.status, session.error = e, "failed", str(e)
                if session.run_id is not None:
                    log.warning("watch session %s on %s failed: %s", session.id, session.camera, e)
            finally:
                session.ended_at = datetime.now(UTC)
                session.started.set()

        session.thread = threading.Thread(target=run, name=f"watch-{cam.name}", daemon=True)
        session.thread.start()
        session.started.wait(START_TIMEOUT_S)
        if session.run_id is None and session.failure is not None:
            raise session.failure
        with self._lock:
            self._sessions[session.id] = session
        return session

    def all(self, organisation_id: str | None = None) -> list[SessionInfo]:
        """Newest first; only ``organisation_id``'s when given (None: every session)."""
        with self._lock:
            found = [s for s in self._sessions.values() if organisation_id in (None, s.organisation_id)]
        return [s.info() for s in sorted(found, key=lambda s: s.started_at, reverse=True)]

    def _get(self, session_id: str, organisation_id: str | None) -> WatchSession:
        """Another organisation's session is "not found", like one that does not exist."""
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None or organisation_id not in (None, session.organisation_id):
            raise NotFound(f"no watch session '{session_id}' on this server", "list them at /api/v1/sessions")
        return session

    def get(self, session_id: str, organisation_id: str | None = None) -> SessionInfo:
        return self._get(session_id, organisation_id).info()

    def stop(self, session_id: str, service: Izde) -> SessionInfo:
        assert service.actor is not None
        session = self._get(session_id, service.actor.organisation_id)
        service.require(Action.WATCH_LIVE if session.live else Action.WATCH_RECORDED)
        session.stop_event.set()
        if session.thread is not None:
            session.thread.join(JOIN_TIMEOUT_S)
        return session.info()

    def workers(self) -> list[WorkerInfo]:
        return []

    def shutdown(self) -> None:
        """Stop every worker; each records its run as stopped. Bounded: never blocks shutdown for long."""
        with self._lock:
            sessions = list(self._sessions.values())
        for s in sessions:
            s.stop_event.set()
        deadline = time.monotonic() + JOIN_TIMEOUT_S
        for s in sessions:
            if s.thread is not None:
                s.thread.join(max(0.0, deadline - time.monotonic()))
