"""A search run on the fleet: each pending chunk becomes a session job over its file segment, which any
``izde worker`` claims, holds by its lease and reports through the broker like a watch session.

The database stays the search's record. A chunk's row says which fleet session runs it (``worker`` =
``fleet:<session id>``); the recorder ends the chunk with its run (izde.archive.ledger), so the search advances
even while nobody follows it, and a worker that dies hands its chunk to another worker by the lease, as for any
session. Servers answer the chunks' rechecks: a stopped search, or an authorisation no longer standing, stops
them within ``broker.recheck_s``. This driver only dispatches, follows progress and, on a stop, ends the chunks
that no worker has claimed yet.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from izde.archive.ledger import FLEET, SEARCH_STOPPED, SearchStatus
from izde.fleet.messages import SessionJob, SessionSpec, SessionState, StopRequest
from izde.fleet.runner import dispatch, request_stop
from izde.runner.recorder import RunEnd
from izde.store import runs
from izde.store.models import ArchiveChunk, ArchiveSearch, User

if TYPE_CHECKING:
    from izde.archive.service import ChunkWork, SearchService, SearchView
    from izde.fleet.server import FleetServer

POLL_S = 0.5


def session_of(worker: str | None) -> str | None:
    return worker.removeprefix(FLEET) if worker and worker.startswith(FLEET) else None


class FleetSearch:
    def __init__(self, searches: SearchService, server: FleetServer) -> None:
        self.searches = searches
        self.izde = searches.izde
        self.server = server
        self._asked_to_stop: set[str] = set()

    def run(
        self,
        search_id: str,
        progress: Callable[[SearchView], None] | None,
        stop: threading.Event,
        detach: threading.Event | None = None,
    ) -> bool:
        """Dispatch the pending chunks and follow the search until no chunk runs; on ``stop`` (or another user's
        stop) the running chunks stop at their next recheck and the unclaimed ones are ended here. On ``detach``
        (the server shutting down) it returns at once and the fleet goes on: the recorder ends the search with
        its last chunk. True when it followed the search to its end."""
        self._adopt(search_id)
        work = self.searches._work_of(search_id)
        while True:
            if detach is not None and detach.is_set():
                return False
            if stop.is_set():
                self.searches.stop(search_id, "stopped by the user")
                stop.clear()
            status, running, pending = self._state(search_id)
            if status == SearchStatus.RUNNING:
                for chunk in pending:
                    self._dispatch(search_id, chunk, work)
            else:
                self._stop_unclaimed(running)
            if progress is not None:
                progress(self.searches.get(search_id))
            if not running and (status != SearchStatus.RUNNING or not pending):
                return True
            time.sleep(POLL_S)

    def _state(self, search_id: str) -> tuple[str, list[ArchiveChunk], list[ArchiveChunk]]:
        with self.izde.db.session(readonly=True) as session:
            status = session.scalar(select(ArchiveSearch.status).where(ArchiveSearch.id == search_id))
            chunks = list(session.scalars(select(ArchiveChunk).where(ArchiveChunk.search_id == search_id)))
            for c in chunks:
                session.expunge(c)
        running = [c for c in chunks if c.status == "running"]
        pending = sorted((c for c in chunks if c.status == "pending"), key=lambda c: c.seq)
        return status or SearchStatus.STOPPED, running, pending

    def _adopt(self, search_id: str) -> None:
        """After an interruption: a chunk still given to a fleet session that is gone (ended without its end
        reaching the record, or never known to this broker) goes back to the queue; a live one is waited for."""
        _, running, _ = self._state(search_id)
        for chunk in running:
            sid = session_of(chunk.worker)
            alive = False
            if sid is not None:
                spec = self.server.call(self.server.get(f"s.{sid}.spec", SessionSpec))
                state: SessionState | None = self.server.call(self.server.get(f"s.{sid}.state", SessionState))
                alive = spec is not None and (state is None or state.status == "running")
            if not alive:
                with self.izde.db.session() as session:
                    row = session.get(ArchiveChunk, (chunk.id, search_id))
                    if row is not None and row.status == "running":
                        row.status, row.worker = "pending", None

    def _dispatch(self, search_id: str, chunk: ArchiveChunk, work: ChunkWork) -> None:
        izde = self.izde
        actor = izde.actor
        assert actor is not None
        session_id = uuid.uuid4().hex
        with izde.db.session() as session:
            row = session.scalar(
                select(ArchiveChunk)
                .where(ArchiveChunk.id == chunk.id, ArchiveChunk.search_id == search_id)
                .with_for_update()
            )
            if row is None or row.status != "pending":
                return  # taken meanwhile
            row.status, row.worker, row.claimed_at = "running", FLEET + session_id, datetime.now(UTC)
            row.attempts += 1
            run_id = row.run_id
            username = session.scalar(select(User.username).where(User.id == actor.user_id)) or actor.user_id
        run_id = self.searches._chunk_run(search_id, chunk, run_id, work, on_fleet=True)
        settings = izde.settings
        spec = SessionSpec(
            session_id=session_id,
            run_id=run_id,
            camera=chunk.camera,
            authorisation_id=work.scope.id,
            started_by=username,
            started_by_id=actor.user_id,
            live=False,
            started_at=datetime.now(UTC),
            organisation_id=actor.organisation_id,
            search_id=search_id,
            persons=sorted(work.wanted),
        )
        job = SessionJob(
            session_id=session_id,
            run_id=run_id,
            camera=chunk.camera,
            source=chunk.path,
            live=False,
            footage_start=chunk.recording_start,
            analysis_fps=work.fps,
            pipeline=settings.pipeline.model_copy(update={"analysis_fps": work.fps}).model_dump(mode="json"),
            match=settings.match.model_copy(update={"threshold": work.threshold}).model_dump(mode="json"),
            start_s=chunk.start_s,
            end_s=chunk.end_s,
        )
        self.server.call(dispatch(self.server, spec, job))

    def _stop_unclaimed(self, running: list[ArchiveChunk]) -> None:
        """Claimed chunks see the stop at their next recheck; a chunk still queued is ended here, its run stopped
        (which puts the chunk back to pending, for a resume)."""
        for chunk in running:
            sid = session_of(chunk.worker)
            if sid is None or sid in self._asked_to_stop or chunk.run_id is None:
                continue
            self._asked_to_stop.add(sid)
            request = StopRequest(by="system", reason=SEARCH_STOPPED, at=datetime.now(UTC))
            if self.server.call(request_stop(self.server, sid, request)):
                end = RunEnd(runs.RunStatus.STOPPED, runs.RunCounters(), reason=SEARCH_STOPPED)
                self.izde._run_recorder().finish(chunk.run_id, end)
