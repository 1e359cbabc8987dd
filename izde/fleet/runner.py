"""The fleet runner: a :class:`~izde.runner.base.SessionRunner` that dispatches sessions to workers.

A start is checked and recorded here exactly as an in-process one (permission, authorisation, run row and
its audit entry), so refusals reach the caller; then the session becomes a durable job that waits ("queued")
until a worker with a free slot claims it. Sessions outlive the server that started them: any server lists
and stops them, and stopping this server leaves them running on their workers."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from izde.errors import NotFound
from izde.fleet.broker import job_subject
from izde.fleet.messages import Job, SessionJob, SessionSpec, SessionState, StopRequest, WorkerBeat
from izde.fleet.server import FleetServer
from izde.fleet.status import describe, read_sessions, read_workers
from izde.fleet.worker import SESSION_KIND
from izde.governance.roles import Action
from izde.runner.base import SessionInfo, WorkerInfo
from izde.runner.inprocess import with_fps
from izde.runner.recorder import RunEnd, RunStart
from izde.store import runs

if TYPE_CHECKING:
    from izde.api import Izde

STOP_WAIT_S = 10.0


class FleetRunner:
    def __init__(self, server: FleetServer) -> None:
        self.server = server

    def start(
        self, service: Izde, camera: str, authorisation: str, recorded_at: datetime | None, fps: float | None
    ) -> SessionInfo:
        assert service.actor is not None
        service.require(Action.CAMERA_READ)
        service.require(Action.WATCH_RECORDED)  # before the camera is looked up, as in-process
        cam = service.camera(camera)
        source = service._camera_source(cam.name)
        name, spec, actor, scope, footage_start = service._authorise_watch(source, cam.name, authorisation, recorded_at)
        service._apply_retention(as_system=True)
        live = spec.kind.live
        gallery, wl_hash = service._match_gallery(scope.persons)
        threshold = service.threshold()
        settings = with_fps(service.settings, fps)
        run_id = service._run_recorder().start(
            RunStart(
                camera=name,
                source=spec.location,
                source_kind=spec.kind.value,
                threshold=threshold,
                watchlist_hash=wl_hash,
                watchlist_size=len(gallery.person_ids),
                authorisation_id=scope.id,
                started_by=actor.user_id,
                recorded_at=None if live else footage_start,
                urgent=scope.status.value != "granted",
                runner=runs.FLEET_RUNNER,  # no restart of this server makes it stale: a worker runs it
            )
        )
        session_id = uuid.uuid4().hex
        job = SessionJob(
            session_id=session_id,
            run_id=run_id,
            camera=name,
            source=source,
            live=live,
            footage_start=footage_start,
            analysis_fps=settings.pipeline.analysis_fps,
            pipeline=settings.pipeline.model_dump(mode="json"),
            match=settings.match.model_copy(update={"threshold": threshold}).model_dump(mode="json"),
        )
        info = SessionSpec(
            session_id=session_id,
            run_id=run_id,
            camera=name,
            authorisation_id=scope.id,
            started_by=actor.username,
            started_by_id=actor.user_id,
            live=live,
            started_at=datetime.now(UTC),
            organisation_id=actor.organisation_id,
        )
        self.server.call(dispatch(self.server, info, job))
        return self.get(session_id)

    # -- reading the fleet ----------------------------------------------------------------------------------

    async def _session(self, session_id: str) -> SessionInfo | None:
        spec: SessionSpec | None = await self.server.get(f"s.{session_id}.spec", SessionSpec)
        if spec is None:
            return None
        state: SessionState | None = await self.server.get(f"s.{session_id}.state", SessionState)
        stop: StopRequest | None = await self.server.get(f"s.{session_id}.stop", StopRequest)
        return describe(spec, state, stop, self.server.settings.broker.failover_s)

    async def _all(self) -> list[SessionInfo]:
        assert self.server.broker is not None
        return await read_sessions(self.server.broker, self.server.settings.broker.failover_s)

    def workers(self) -> list[WorkerInfo]:
        return [
            WorkerInfo(
                name=b.name,
                host=b.host,
                capacity=b.capacity,
                sessions=tuple(b.sessions),
                last_heartbeat=b.at,
                frames_analysed_per_s=b.frames_analysed_per_s,
                frames_dropped=b.frames_dropped,
            )
            for b in self.server.call(self._workers())
        ]

    async def _workers(self) -> list[WorkerBeat]:
        assert self.server.broker is not None
        return await read_workers(self.server.broker)

    def all(self, organisation_id: str | None = None) -> list[SessionInfo]:
        found = self.server.call(self._all())
        return [s for s in found if organisation_id in (None, s.organisation_id)]

    def get(self, session_id: str, organisation_id: str | None = None) -> SessionInfo:
        found = self.server.call(self._session(session_id))
        if found is None or organisation_id not in (None, found.organisation_id):
            raise NotFound(f"no watch session '{session_id}' in the fleet", "list them at /api/v1/sessions")
        return found

    # -- control --------------------------------------------------------------------------------------------

    def stop(self, session_id: str, service: Izde) -> SessionInfo:
        """The worker sees the request at its next recheck (``broker.recheck_s``) and stops; a session still
        queued is finished here. Waits up to 10 s for the worker to report the end."""
        spec: SessionSpec | None = self.server.call(self.server.get(f"s.{session_id}.spec", SessionSpec))
        own = service.actor.organisation_id if service.actor else None
        if spec is None or spec.organisation_id != own:
            raise NotFound(f"no watch session '{session_id}' in the fleet", "list them at /api/v1/sessions")
        actor = service.require(Action.WATCH_LIVE if spec.live else Action.WATCH_RECORDED)
        request = StopRequest(by=actor.username, reason=f"stopped by {actor.username}", at=datetime.now(UTC))
        if self.server.call(request_stop(self.server, session_id, request)):
            # Not claimed yet: no worker will run it (a worker that claims it now sees the request first).
            service._run_recorder().finish(
                spec.run_id, RunEnd(runs.RunStatus.STOPPED, runs.RunCounters(), reason=request.reason)
            )
            return self.get(session_id)
        deadline = time.monotonic() + STOP_WAIT_S
        while time.monotonic() < deadline:
            info = self.get(session_id)
            if info.status in ("completed", "failed", "stopped"):
                return info
            time.sleep(0.2)
        return self.get(session_id)

    def shutdown(self) -> None:
        """Sessions belong to the fleet, not to this server: they go on. Only the connection closes."""
        self.server.stop()


async def dispatch(server: FleetServer, spec: SessionSpec, job: SessionJob) -> None:
    """Make a session known to the fleet (its spec, for status and rechecks), then queue it for a worker."""
    broker = server.broker
    assert broker is not None
    await broker.sessions.put(f"s.{spec.session_id}.spec", spec.encode())
    message = Job(kind=SESSION_KIND, id=spec.session_id, payload=job.model_dump(mode="json"))
    headers = {"Nats-Msg-Id": f"job.{spec.session_id}"}
    await broker.js.publish(job_subject(SESSION_KIND), message.encode(), headers=headers)


async def request_stop(server: FleetServer, session_id: str, request: StopRequest) -> bool:
    """Record a stop request; True when no worker has claimed the session yet (none will run it now: a worker
    that claims it sees the request first), so the caller ends its run itself."""
    broker = server.broker
    assert broker is not None
    await broker.sessions.put(f"s.{session_id}.stop", request.encode())
    return await server.get(f"s.{session_id}.state", SessionState) is None
