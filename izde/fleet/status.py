"""The fleet as the broker sees it: live workers and every session, for ``izde fleet status``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from nats.js.errors import KeyNotFoundError, NoKeysError

from izde.config import BrokerSettings
from izde.fleet.broker import Broker, connect
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


async def read_status(broker: Broker, failover_s: float) -> FleetStatus:
    from izde.fleet.runner import describe

    workers = []
    try:
        for key in await broker.workers.keys():
            try:
                entry = await broker.workers.get(key)
            except KeyNotFoundError:
                continue
            if entry.value:
                workers.append(WorkerBeat.decode(entry.value))
    except NoKeysError:
        pass
    records: dict[str, dict[str, bytes]] = {}
    try:
        keys = await broker.sessions.keys()
    except NoKeysError:
        keys = []
    for key in keys:
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
    sessions.sort(key=lambda s: s.started_at, reverse=True)
    return FleetStatus(sorted(workers, key=lambda w: w.name), sessions)


async def fleet_status(settings: BrokerSettings) -> FleetStatus:
    broker = await connect(settings, "izde fleet status")
    try:
        return await read_status(broker, settings.failover_s)
    finally:
        await broker.close()
