"""What every session runner offers the server: start, list, look up and stop watch sessions.

Two implementations: threads of the server process (:mod:`izde.runner.inprocess`, the embedded default) and
workers of a fleet fed over a broker (:mod:`izde.fleet.runner`). Routes and the console see only this."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from izde.api import Izde


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A snapshot of one session, with its live counters."""

    id: str
    camera: str
    authorisation_id: str
    started_by: str
    status: str  # starting, queued, running, completed, failed, stopped
    health: str  # ok, stalled, finished
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
    worker: str | None = None  # the fleet worker running it; None for a thread of this server
    organisation_id: str | None = None  # only its organisation's users see or stop it


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """A fleet worker as its last heartbeat describes it."""

    name: str
    host: str
    capacity: int
    sessions: tuple[str, ...]
    last_heartbeat: datetime
    frames_analysed_per_s: float
    frames_dropped: int


class SessionRunner(Protocol):
    def start(
        self, service: Izde, camera: str, authorisation: str, recorded_at: datetime | None, fps: float | None
    ) -> SessionInfo:
        """Start a session as ``service``'s user once its run is recorded; refusals are raised to the caller."""
        ...

    def all(self, organisation_id: str | None = None) -> list[SessionInfo]:
        """Newest first; only ``organisation_id``'s sessions when given (None: all, for the process itself)."""
        ...

    def get(self, session_id: str, organisation_id: str | None = None) -> SessionInfo:
        """Another organisation's session is not found, like one that does not exist."""
        ...

    def stop(self, session_id: str, service: Izde) -> SessionInfo:
        """Ask a session to stop, as ``service``'s user (who needs the right to watch)."""
        ...

    def workers(self) -> list[WorkerInfo]:
        """The fleet's live workers; none for threads of this server."""
        ...

    def shutdown(self) -> None:
        """Stop what this process runs, within a bounded time."""
        ...
