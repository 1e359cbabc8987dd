"""Watch runs: one ``izde watch`` over one source, with aggregate counters only."""

from __future__ import annotations

import enum
import os
import socket
from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from izde.errors import InvalidInput
from izde.redact import redact
from izde.store.lookup import by_id_or_prefix, not_found
from izde.store.models import WatchRun, utcnow


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    STOPPED = "stopped"


FINAL_STATUSES = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.STOPPED})


@dataclass(frozen=True, slots=True)
class RunCounters:
    """Running totals of a run; each update replaces the stored values (so a retried update is harmless)."""

    frames_read: int = 0
    frames_analysed: int = 0
    frames_dropped: int = 0
    faces_seen: int = 0
    tracks_seen: int = 0
    alerts_raised: int = 0

    def __post_init__(self) -> None:
        negative = [k for k, v in asdict(self).items() if v < 0]
        if negative:
            raise InvalidInput(f"run counters cannot be negative: {', '.join(negative)}")


def describe(run: WatchRun) -> str:
    return f"{run.id} {run.camera} {run.started_at.isoformat(timespec='seconds')} {run.status}"


def start_run(
    session: Session,
    *,
    camera: str,
    source: str,
    source_kind: str,
    threshold: float,
    watchlist_hash: str,
    watchlist_size: int,
    runner: str | None = None,
) -> WatchRun:
    """``runner``: who runs it, when not this process (``FLEET_RUNNER``: the fleet's workers, whose runs no
    process's death makes stale)."""
    run = WatchRun(
        camera=camera,
        source=source,
        source_kind=source_kind,
        threshold=threshold,
        watchlist_hash=watchlist_hash,
        watchlist_size=watchlist_size,
        status=RunStatus.RUNNING.value,
        started_at=utcnow(),
        frames_read=0,
        frames_analysed=0,
        frames_dropped=0,
        faces_seen=0,
        tracks_seen=0,
        alerts_raised=0,
        runner=runner or this_process(),
    )
    session.add(run)
    session.flush()
    return run


FLEET_RUNNER = "fleet"


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def stale_runs(session: Session) -> list[WatchRun]:
    """Runs still marked running whose process, on this host, no longer exists (it was killed or crashed).
    Runs of other hosts are left alone: only their own host can tell whether they still run."""
    host = socket.gethostname()
    out = []
    for run in session.scalars(select(WatchRun).where(WatchRun.status == RunStatus.RUNNING.value)):
        runner_host, _, pid = (run.runner or "").rpartition(":")
        if runner_host == host and pid.isdigit() and int(pid) != os.getpid() and not _process_alive(int(pid)):
            out.append(run)
    return out


def get_run(session: Session, ref: str) -> WatchRun:
    """By id or unique id prefix (at least 6 characters)."""
    run = by_id_or_prefix(session, WatchRun, WatchRun.id, ref, what="run", describe=describe)
    if run is None:
        raise not_found("watch run", ref)
    return run


def update_run(session: Session, run_id: str, counters: RunCounters) -> WatchRun:
    run = _running(session, run_id)
    _apply(run, counters)
    session.flush()
    return run


def finish_run(
    session: Session,
    run_id: str,
    status: RunStatus | str,
    *,
    error: str | None = None,
    counters: RunCounters | None = None,
) -> WatchRun:
    """Mark a running run completed, failed or stopped, with its final counters."""
    try:
        final = RunStatus(status)
    except ValueError:
        final = None
    if final not in FINAL_STATUSES:
        raise InvalidInput(f"a run finishes as one of {sorted(FINAL_STATUSES)}, not {status!r}")
    run = _running(session, run_id)
    if counters is not None:
        _apply(run, counters)
    run.status = str(final)
    run.error = redact(error) if error else None  # shown to people later: never a camera's password
    run.ended_at = utcnow()
    session.flush()
    return run


def list_runs(session: Session, *, camera: str | None = None, limit: int = 50) -> list[WatchRun]:
    """Newest first."""
    query = select(WatchRun).order_by(WatchRun.started_at.desc(), WatchRun.id).limit(limit)
    if camera is not None:
        query = query.where(WatchRun.camera == camera)
    return list(session.scalars(query))


def _running(session: Session, run_id: str) -> WatchRun:
    run = session.get(WatchRun, run_id)
    if run is None:
        raise not_found("watch run", run_id)
    if run.status != RunStatus.RUNNING:
        raise InvalidInput(f"watch run {run_id} has already finished ({run.status})")
    return run


def _apply(run: WatchRun, counters: RunCounters) -> None:
    for name, value in asdict(counters).items():
        setattr(run, name, value)
