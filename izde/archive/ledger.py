"""What a chunk's row says once its run ends, and when the search ends, written in the run recorder's transaction.

Whoever ran the chunk (a local search worker process, or a fleet worker whose end the recorder consumes), the
row follows from the run's end the same way: completed -> done; stopped -> pending, to be resumed from its
start; failed -> failed. A run stopped for a reason of its own (the authorisation rejected or expired, the
urgent grant overdue) stops the whole search, since every other chunk would stop for the same reason. The end
of the last chunk ends the search, so a search on the fleet finishes even when the process that started it is
gone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from izde.store.models import Alert, ArchiveChunk, ArchiveSearch
from izde.store.runs import RunStatus

if TYPE_CHECKING:
    from izde.runner.recorder import AuditWriter


class SearchStatus:
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    COMPLETED = "completed"
    FAILED = "failed"
    PURGED = "purged"
    ENDED = frozenset({STOPPED, COMPLETED, FAILED, PURGED})


SEARCH_STOPPED = "the search was stopped"  # the reason a chunk's run gives when its search was stopped
FLEET = "fleet:"  # prefix of a chunk's worker when a fleet session runs it: ``fleet:<session id>``

CHUNK_STATUS = {RunStatus.COMPLETED: "done", RunStatus.STOPPED: "pending", RunStatus.FAILED: "failed"}


def chunk_run_ended(
    session: Session, run_id: str, status: RunStatus, error: str | None, reason: str | None, audit: AuditWriter
) -> str | None:
    """Update the chunk whose run this is; returns the search it belongs to (None: the run was no chunk's).
    When the run's reason stops the search, the search is marked stopping with that reason; when no chunk is
    left to run, the search ends."""
    chunk = session.scalar(select(ArchiveChunk).where(ArchiveChunk.run_id == run_id).with_for_update())
    if chunk is None:
        return None
    chunk.status = CHUNK_STATUS.get(status, "failed")
    chunk.error = error if chunk.status == "failed" else None
    chunk.finished_at = datetime.now(UTC) if chunk.status != "pending" else None
    # The search's row is locked, so that of two chunks ending at once the later one sees the earlier's end.
    search = session.get(ArchiveSearch, chunk.search_id, with_for_update=True)
    if search is None:
        return None
    if status is RunStatus.STOPPED and reason and reason != SEARCH_STOPPED and search.status == SearchStatus.RUNNING:
        search.status, search.stop_reason = SearchStatus.STOPPING, reason
    session.flush()
    end_search(session, search, audit, actor="system")
    return chunk.search_id


def end_search(
    session: Session, search: ArchiveSearch, audit: AuditWriter, *, force: bool = False, actor: Any = None
) -> bool:
    """Give a running or stopping search its final status once none of its chunks is left to run: completed,
    failed (some chunk failed) or stopped (chunks left for a resume), with its ``search.stop`` entry. ``force``:
    the process that drove it is done, so chunks still pending or running leave it stopped now."""
    if search.status not in (SearchStatus.RUNNING, SearchStatus.STOPPING):
        return False
    counts: dict[str, int] = dict(
        session.execute(
            select(ArchiveChunk.status, func.count())
            .where(ArchiveChunk.search_id == search.id)
            .group_by(ArchiveChunk.status)
        ).all()
    )
    running, pending = counts.get("running", 0), counts.get("pending", 0)
    if not force and (running or (pending and search.status == SearchStatus.RUNNING)):
        return False
    if running or pending:
        search.status = SearchStatus.STOPPED
    else:
        search.status = SearchStatus.FAILED if counts.get("failed") else SearchStatus.COMPLETED
    search.finished_at = datetime.now(UTC)
    audit(
        session,
        "search.stop",
        "search",
        search.id,
        actor=actor,
        status=search.status,
        reason=search.stop_reason,
        chunks_done=counts.get("done", 0),
        chunks_failed=counts.get("failed", 0),
        alerts=alert_count(session, search.id),
    )
    return True


def alert_count(session: Session, search_id: str) -> int:
    run_ids = select(ArchiveChunk.run_id).where(ArchiveChunk.search_id == search_id)
    return int(session.scalar(select(func.count()).select_from(Alert).where(Alert.run_id.in_(run_ids))) or 0)
