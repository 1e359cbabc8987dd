"""What a chunk's row says once its run ends, written in the run recorder's transaction.

Whoever ran the chunk (a local search worker process, or a fleet worker whose end the recorder consumes), the
row follows from the run's end the same way: completed -> done; stopped -> pending, to be resumed from its
start; failed -> failed. A run stopped for a reason of its own (the authorisation rejected or expired, the
urgent grant overdue) stops the whole search, since every other chunk would stop for the same reason.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from izde.store.models import ArchiveChunk, ArchiveSearch
from izde.store.runs import RunStatus


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
    session: Session, run_id: str, status: RunStatus, error: str | None, reason: str | None
) -> str | None:
    """Update the chunk whose run this is; returns the search it belongs to (None: the run was no chunk's).
    When the run's reason stops the search, the search is marked stopping with that reason."""
    chunk = session.scalar(select(ArchiveChunk).where(ArchiveChunk.run_id == run_id).with_for_update())
    if chunk is None:
        return None
    chunk.status = CHUNK_STATUS.get(status, "failed")
    chunk.error = error if chunk.status == "failed" else None
    chunk.finished_at = datetime.now(UTC) if chunk.status != "pending" else None
    if status is RunStatus.STOPPED and reason and reason != SEARCH_STOPPED:
        search = session.get(ArchiveSearch, chunk.search_id)
        if search is not None and search.status == SearchStatus.RUNNING:
            search.status, search.stop_reason = SearchStatus.STOPPING, reason
    return chunk.search_id
