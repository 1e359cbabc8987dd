"""The fleet as the broker sees it: live workers and every session, for ``izde fleet status``, the API and
the console."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from nats.js.errors import KeyNotFoundError

from izde.config import BrokerSettings
from izde.fleet.broker import SESSIONS_BUCKET, WORKERS_BUCKET, Broker, connect
from izde.fleet.messages import SessionSpec, SessionState, StopRequest, WorkerBeat
from izde.runner.base import SessionInfo


@dataclass(frozen=True, slots=True)
class FleetStatus:
    workers: list[WorkerBeat]
    sessions: list[SessionInfo]

    def as_json(self) -> dict[str, Any]:
        return {
            "workers": [w.model_dump(mode="json") for w in self.workers],
            "sessions": [asdict(s) for s in self.sessions],
        }


async def read_workers(broker: Broker) -> list[WorkerBeat]:
    """Every live worker's last heartbeat, by name."""
    beats = []
    for key in await broker.keys(WORKERS_BUCKET):
        try:
            entry = await broker.workers.get(key)
        except KeyNotFoundError:  # expired, or deleted, since the listing
            continue
        if entry.value:
            beats.append(WorkerBeat.decode(entry.value))
    return sorted(beats, key=lambda b: b.name)


async def read_sessions(broker: Broker, failover_s: float) -> list[SessionInfo]:
    """Every session the fleet knows of, newest first: one read per record (spec, state, stop request)."""
    records: dict[str, dict[str, bytes]] = {}
    for key in await broker.keys(SESSIONS_BUCKET):
        _, sid, part = key.split(".", 2)
        try:
            entry = await broker.sessions.get(key)
        except KeyNotFoundError:
            continue
        if entry.value:
            records.setdefault(sid, {})[part] = entry.value
    sessions = []
    for parts in records.values():
        if "spec" not in parts:
            continue
        state = SessionState.decode(parts["state"]) if "state" in parts else None
        stop = StopRequest.decode(parts["stop"]) if "stop" in parts else None
        sessions.append(describe(SessionSpec.decode(parts["spec"]), state, stop, failover_s))
    return sorted(sessions, key=lambda s: s.started_at, reverse=True)


async def read_status(broker: Broker, failover_s: float) -> FleetStatus:
    return FleetStatus(await read_workers(broker), await read_sessions(broker, failover_s))


async def fleet_status(settings: BrokerSettings) -> FleetStatus:
    broker = await connect(settings, "izde fleet status")
    try:
        return await read_status(broker, settings.failover_s)
    finally:
        await broker.close()


def describe(spec: SessionSpec, state: SessionState | None, stop: StopRequest | None, failover_s: float) -> SessionInfo:
    """A session as its records say: queued until a worker reports, stalled when its reports stop."""
    if state is None:
        status, health = ("stopped", "finished") if stop is not None else ("queued", "ok")
    else:
        status = state.status
        stale = datetime.now(UTC) - state.beat_at > timedelta(seconds=failover_s)
        health = "finished" if status != "running" else ("stalled" if stale else "ok")
    return SessionInfo(
        id=spec.session_id,
        camera=spec.camera,
        authorisation_id=spec.authorisation_id,
        started_by=spec.started_by,
        status=status,
        health=health,
        run_id=spec.run_id,
        started_at=spec.started_at,
        ended_at=state.beat_at if state is not None and status != "running" else None,
        frames_read=state.frames_read if state else 0,
        frames_dropped=state.frames_dropped if state else 0,
        frames_analysed=state.frames_analysed if state else 0,
        faces_seen=state.faces_seen if state else 0,
        tracks_seen=state.tracks_seen if state else 0,
        alerts=state.alerts if state else 0,
        error=state.error if state else None,
        stop_reason=(state.stop_reason if state else None) or (stop.reason if stop and state is None else None),
        worker=state.worker if state else None,
        organisation_id=spec.organisation_id,
    )
