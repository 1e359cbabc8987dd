"""Cameras, the watch sessions the server runs on them, and the record of past runs."""

from __future__ import annotations

from fastapi import APIRouter

from izde.errors import NotFound
from izde.governance.roles import Action
from izde.web.deps import Service, State
from izde.web.schemas import CameraIn, CameraOut, FleetOut, RunOut, SessionIn, SessionOut, WorkerOut

router = APIRouter(prefix="/api/v1", tags=["cameras and sessions"])


@router.get("/cameras", response_model=list[CameraOut])
def list_cameras(service: Service) -> list[CameraOut]:
    """Registered cameras with the state of their latest run (their source locations stay on the server)."""
    return [CameraOut.of(c) for c in service.cameras()]


@router.post("/cameras", response_model=CameraOut, status_code=201)
def add_camera(body: CameraIn, service: Service) -> CameraOut:
    """Register a camera (administrator)."""
    return CameraOut.of(service.add_camera(body.name, body.source, body.description, body.latitude, body.longitude))


@router.get("/cameras/{name}", response_model=CameraOut)
def show_camera(name: str, service: Service) -> CameraOut:
    return CameraOut.of(service.camera(name))


@router.get("/sessions", response_model=list[SessionOut])
def list_sessions(service: Service, state: State) -> list[SessionOut]:
    """Sessions this server started since it began, newest first, with live counters and health."""
    actor = service.require(Action.CAMERA_READ)
    return [SessionOut.of(s) for s in state.sessions.all(actor.organisation_id)]


@router.get("/fleet", response_model=FleetOut)
def fleet(service: Service, state: State) -> FleetOut:
    """The workers (name, host, capacity, sessions, last heartbeat, analysed fps, dropped frames) and every
    session with the worker running it."""
    actor = service.require(Action.CAMERA_READ)
    return FleetOut(
        broker=state.settings.broker.url is not None,
        workers=[WorkerOut.of(w) for w in state.sessions.workers()],
        sessions=[SessionOut.of(s) for s in state.sessions.all(actor.organisation_id)],
    )


@router.post("/sessions", response_model=SessionOut, status_code=201)
def start_session(body: SessionIn, service: Service, state: State) -> SessionOut:
    """Start watching a registered camera under an authorisation, in a worker of this server. Refusals (no
    right, not authorised, source unreadable) are answered here, before anything runs."""
    return SessionOut.of(state.sessions.start(service, body.camera, body.authorisation, body.recorded_at, body.fps))


@router.get("/sessions/{session_id}", response_model=SessionOut)
def show_session(session_id: str, service: Service, state: State) -> SessionOut:
    actor = service.require(Action.CAMERA_READ)
    return SessionOut.of(state.sessions.get(session_id, actor.organisation_id))


@router.post("/sessions/{session_id}/stop", response_model=SessionOut)
def stop_session(session_id: str, service: Service, state: State) -> SessionOut:
    """Ask a session to stop; it finishes the frame in hand, records its counters and ends."""
    try:
        state.sessions.get(session_id, service.actor.organisation_id if service.actor else "")
    except NotFound:
        service.require(Action.WATCH_RECORDED)  # refuse people without the right before saying what exists
        raise
    return SessionOut.of(state.sessions.stop(session_id, service))


@router.get("/runs", response_model=list[RunOut])
def list_runs(service: Service, camera: str | None = None, limit: int = 50) -> list[RunOut]:
    """Recorded runs (from any process: this server or the command line), newest first."""
    return [RunOut.of(r) for r in service.runs(camera, max(1, min(limit, 500)))]


@router.get("/runs/{run_id}", response_model=RunOut)
def show_run(run_id: str, service: Service) -> RunOut:
    return RunOut.of(service.run(run_id))
