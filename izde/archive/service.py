"""Retrospective searches: plan a case's archive into chunks under an authorisation, run them on worker processes
that share nothing but the database, follow progress, stop, resume, and answer with sightings.

Each chunk is one watch run (its counters, its alerts with audit entries and outbox rows, all through the run
recorder). A chunk that is run again after a crash keeps its run, and its analysis is deterministic, so the alerts
it raises again carry the same (run, track, person) keys and are not stored twice.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from izde.archive.chunks import Chunk, plan_chunks
from izde.archive.ledger import FLEET, SEARCH_STOPPED, SearchStatus, alert_count, end_search
from izde.archive.manifest import Archive, load_archive
from izde.archive.purge import purge_ungranted_searches
from izde.archive.report import UseRecord
from izde.archive.sightings import Hit, Sighting, sightings
from izde.errors import Conflict, InvalidInput
from izde.governance.authorisations import Scope, search_allowed, standing
from izde.governance.roles import Action, PermissionDenied
from izde.governance.sources import SourcePolicy, check_path
from izde.pipeline.run import run_source
from izde.pipeline.sources import FileSource, SourceKind, SourceSpec
from izde.pipeline.watcher import AlertEvent, Watcher
from izde.runner.recorder import RunEnd, RunStart
from izde.service.watching import alert_record, run_counters
from izde.store import runs
from izde.store.lookup import by_id_or_prefix, not_found
from izde.store.models import (
    Alert,
    AlertReview,
    ArchiveChunk,
    ArchiveSearch,
    Authorisation,
    Camera,
    Person,
    User,
    WatchRun,
)

if TYPE_CHECKING:
    from izde.api import Izde
    from izde.config import Settings
    from izde.fleet.server import FleetServer

log = logging.getLogger(__name__)

RECHECK_S = 2.0  # how often a running chunk re-reads its search (stopped?) and authorisation
POLL_S = 0.5  # how often the process that runs a search looks at its progress
MAX_ATTEMPTS = 3  # a chunk that kills its worker this often is failed, so one bad file cannot stall a search


@dataclass(frozen=True, slots=True)
class SearchView:
    id: str
    case: str
    authorisation_id: str
    started_by: str
    status: str
    stop_reason: str | None
    created_at: datetime
    finished_at: datetime | None
    persons: tuple[str, ...]  # names
    analysis_fps: float
    footage_from: datetime
    footage_to: datetime
    footage_s: float
    recordings: int
    refused: tuple[tuple[str, str], ...]  # (path, reason) of files not searched
    chunks: int
    chunks_done: int
    chunks_failed: int
    footage_done_s: float
    alerts: int

    @property
    def fraction(self) -> float:
        return min(1.0, self.footage_done_s / self.footage_s) if self.footage_s else 1.0

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "case": self.case,
            "authorisation": self.authorisation_id,
            "started_by": self.started_by,
            "status": self.status,
            "stop_reason": self.stop_reason,
            "created_at": self.created_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "persons": list(self.persons),
            "analysis_fps": self.analysis_fps,
            "footage_from": self.footage_from.isoformat(),
            "footage_to": self.footage_to.isoformat(),
            "footage_hours": round(self.footage_s / 3600, 4),
            "recordings": self.recordings,
            "refused": [{"path": p, "reason": r} for p, r in self.refused],
            "chunks": self.chunks,
            "chunks_done": self.chunks_done,
            "chunks_failed": self.chunks_failed,
            "progress": round(self.fraction, 4),
            "alerts": self.alerts,
        }


Progress = Callable[[SearchView], None]


@dataclass(frozen=True, slots=True)
class ChunkWork:
    scope: Scope
    wanted: frozenset[str]  # the persons searched for
    fps: float
    threshold: float


@dataclass(frozen=True, slots=True)
class SearchReport:
    record: UseRecord
    sightings: list[Sighting]
    footage: list[tuple[str, datetime, datetime]]  # (camera, start, end) of each chunk searched
    coordinates: dict[str, tuple[float, float]]  # camera -> (latitude, longitude), where registered


class SearchService:
    """Searches as one logged-in user (an operator runs them; auditors and operators read them)."""

    def __init__(self, izde: Izde) -> None:
        self.izde = izde

    # -- planning -------------------------------------------------------------------------------------------

    def plan(
        self,
        archive: Archive,
        authorisation: str,
        case: str,
        persons: Sequence[str] = (),
        *,
        analysis_fps: float | None = None,
        chunk_s: float | None = None,
    ) -> SearchView:
        """Record a search of ``archive`` for ``persons`` (default: everyone the authorisation names) under
        ``authorisation`` for investigation ``case``; nothing runs yet. Refused whole unless the authorisation
        covers recorded footage, every camera and all of the time searched."""
        izde = self.izde
        actor = izde.require(Action.WATCH_RECORDED)
        case = case.strip()
        if not case:
            raise InvalidInput("a search needs the investigation it serves", "pass --case REF (the case file)")
        cfg = izde.settings.archive
        fps = cfg.analysis_fps if analysis_fps is None else analysis_fps
        if not 0 < fps <= 60:
            raise InvalidInput(f"--analysis-fps must be above 0 and at most 60, got {fps}")
        if not archive.recordings:
            listed = "; ".join(f"{r.path}: {r.reason}" for r in archive.refused[:5])
            raise InvalidInput(
                "the archive holds no recording that can be searched" + (f" ({listed})" if listed else "")
            )
        # Footage is read as camera sources are: never izde's own data, only inside the media folders.
        policy = SourcePolicy.of(izde.settings)
        for r in archive.recordings:
            check_path(str(r.path), policy)
        scope = izde._scope(authorisation)
        now = datetime.now(UTC)
        footage = [(r.camera, r.start, r.end) for r in archive.recordings]
        d = search_allowed(scope, footage, now, self._grace)
        if not d.allowed:
            with izde.db.session() as session:
                izde.audit(session, "search.refused", "authorisation", scope.id, case=case, reason=d.reason)
            raise PermissionDenied(f"searching this footage is not authorised: {d.reason}")
        wanted = self._persons(scope, persons)
        chunks = plan_chunks(archive.recordings, cfg.chunk_s if chunk_s is None else chunk_s)
        span = archive.span
        assert span is not None
        with izde.db.session() as session:
            search = ArchiveSearch(
                case_ref=case,
                authorisation_id=scope.id,
                started_by=actor.user_id,
                persons=json.dumps(sorted(wanted)),
                analysis_fps=fps,
                footage_from=span[0],
                footage_to=span[1],
                footage_s=archive.footage_s,
                recordings=len(archive.recordings),
                refused=json.dumps([{"path": str(r.path), "reason": r.reason} for r in archive.refused]),
            )
            session.add(search)
            session.flush()
            session.add_all(_chunk_row(search.id, i, c) for i, c in enumerate(chunks))
            izde.audit(
                session,
                "search.start",
                "search",
                search.id,
                case=case,
                authorisation=scope.id,
                urgent=scope.status.value != "granted",
                persons=sorted(wanted),
                cameras=sorted(archive.cameras),
                footage_from=span[0].isoformat(),
                footage_to=span[1].isoformat(),
                footage_hours=round(archive.footage_s / 3600, 4),
                recordings=len(archive.recordings),
                refused=len(archive.refused),
                chunks=len(chunks),
                analysis_fps=fps,
            )
            search_id = search.id
        return self.get(search_id)

    @property
    def _grace(self) -> timedelta:
        return timedelta(hours=self.izde.settings.archive.urgent_grace_h)

    def _persons(self, scope: Scope, refs: Sequence[str]) -> set[str]:
        if not refs:
            return set(scope.persons)
        with self.izde.db.session(readonly=True) as session:
            rows = list(session.execute(select(Person.id, Person.display_name).where(Person.id.in_(scope.persons))))
        out: set[str] = set()
        for ref in refs:
            hits = [pid for pid, name in rows if ref.strip() in (pid, name)]
            if not hits:
                raise PermissionDenied(f"{ref!r} is not among the persons the authorisation covers")
            out.update(hits)
        return out

    def load(self, root: Path | None = None, manifest: Path | None = None) -> Archive:
        """The archive at ``root`` (or listed by ``manifest``), once the place itself passes the source policy:
        a folder that may not be read is not even listed, so a refusal names none of its files."""
        self.izde.require(Action.WATCH_RECORDED)
        policy = SourcePolicy.of(self.izde.settings)
        for place in (root, manifest):
            if place is not None:
                check_path(str(place), policy)
        return load_archive(root, manifest)

    # -- running ----------------------------------------------------------------------------------------------

    def run(
        self,
        search_id: str,
        workers: int = 1,
        *,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
        fleet: FleetServer | None = None,
        local: bool = False,
        reopened: bool = False,
        detach: threading.Event | None = None,
    ) -> SearchView:
        """Run the search's remaining chunks until all are done, it is stopped (``stop`` or another user's stop),
        or its authorisation no longer allows it. Resumable: run it again.

        Where they run: as jobs of the fleet when ``fleet`` (a server's connection) is given or ``broker.url`` is
        set, unless ``local``; otherwise on ``workers`` processes of this machine that share only the database.
        ``reopened``: the caller has already called :meth:`reopen`. ``detach`` (fleet only): stop following the
        search and leave it to the fleet, as a server that shuts down does."""
        if not 1 <= workers <= 64:
            raise InvalidInput(f"--workers must be 1 to 64, got {workers}")
        stop = stop or threading.Event()
        on_fleet = not local and (fleet is not None or bool(self.izde.settings.broker.url))
        view = self.get(search_id) if reopened else self.reopen(search_id, keep_fleet=on_fleet)
        if on_fleet:
            return self._run_on_fleet(view, progress, stop, fleet, detach)
        ctx = multiprocessing.get_context("spawn")
        actor = self.izde.require(Action.WATCH_RECORDED)
        # Workers act as this user: with the user's token from the command line, or, in the server, by the user's
        # id, which each worker checks again (an account disabled meanwhile runs nothing).
        credential = self.izde._token or f"user:{actor.user_id}"
        procs: dict[str, Any] = {}
        started = 0

        def spawn() -> None:
            nonlocal started
            started += 1
            name = f"{socket.gethostname()}-{os.getpid()}-w{started}"
            p = ctx.Process(target=_worker_main, args=(self.izde.settings, credential, view.id, name), daemon=True)
            p.start()
            procs[name] = p

        try:
            for _ in range(workers):
                spawn()
            while procs:
                time.sleep(POLL_S)
                if stop.is_set():
                    self.stop(view.id, "stopped by the user")
                for name, p in list(procs.items()):
                    if p.is_alive():
                        continue
                    p.join()
                    del procs[name]
                    if p.exitcode != 0 and self._release(view.id, name):
                        spawn()  # its chunk goes back to the queue, and another worker takes the dead one's place
                if progress is not None:
                    progress(self.get(view.id))
        finally:
            for p in procs.values():
                p.join(RECHECK_S * 3)
                if p.is_alive():
                    p.kill()
                    p.join()
        return self._finish(view.id)

    def _run_on_fleet(
        self,
        view: SearchView,
        progress: Progress | None,
        stop: threading.Event,
        fleet: FleetServer | None,
        detach: threading.Event | None,
    ) -> SearchView:
        from izde.archive.fleet import FleetSearch  # the NATS client is needed only for a fleet
        from izde.fleet.server import FleetServer

        if view.status == SearchStatus.COMPLETED:
            return view
        # A process of its own (the command line) only publishes jobs: the servers answer the workers and record.
        own = FleetServer(self.izde, "search", serve=False) if fleet is None else None
        if own is not None:
            own.start()
        try:
            followed = FleetSearch(self, fleet or own).run(view.id, progress, stop, detach)  # type: ignore[arg-type]
        finally:
            if own is not None:
                own.stop()
        return self._finish(view.id) if followed else self.get(view.id)

    def work(self, search_id: str, worker: str, stop: threading.Event | None = None) -> int:
        """Claim and run chunks of the search until none is left or the search stops; returns chunks done.
        What each worker process runs; ``run`` with one worker can also call it in-process for tests."""
        izde = self.izde
        stop = stop or threading.Event()
        done = 0
        while not stop.is_set():
            claimed = self._claim(search_id, worker)
            if claimed is None:
                return done
            chunk, run_id = claimed
            if self._run_chunk(search_id, chunk, run_id, stop):
                done += 1
            with izde.db.session(readonly=True) as session:
                if session.get(ArchiveSearch, search_id).status != SearchStatus.RUNNING:  # type: ignore[union-attr]
                    return done
        return done

    def _claim(self, search_id: str, worker: str) -> tuple[ArchiveChunk, str | None] | None:
        with self.izde.db.session() as session:
            search = session.get(ArchiveSearch, search_id)
            if search is None or search.status != SearchStatus.RUNNING:
                return None
            query = (
                select(ArchiveChunk)
                .where(ArchiveChunk.search_id == search_id, ArchiveChunk.status == "pending")
                .order_by(ArchiveChunk.seq)
                .limit(1)
                .with_for_update(skip_locked=True)  # PostgreSQL; SQLite's BEGIN IMMEDIATE serialises claims
            )
            chunk = session.scalar(query)
            if chunk is None:
                return None
            chunk.status, chunk.worker, chunk.claimed_at = "running", worker, datetime.now(UTC)
            chunk.attempts += 1
            session.flush()
            session.expunge(chunk)
            return chunk, chunk.run_id

    def _work_of(self, search_id: str) -> ChunkWork:
        """What every chunk of the search is run with: its scope, persons, analysis rate and threshold."""
        izde = self.izde
        with izde.db.session(readonly=True) as session:
            search = session.get(ArchiveSearch, search_id)
            assert search is not None
            authorisation_id, wanted, fps = (
                search.authorisation_id,
                frozenset(json.loads(search.persons)),
                search.analysis_fps,
            )
        scope = izde._scope(authorisation_id)
        return ChunkWork(scope, wanted, fps, izde.threshold())

    def _chunk_run(
        self, search_id: str, chunk: ArchiveChunk, run_id: str | None, work: ChunkWork, on_fleet: bool = False
    ) -> str:
        """The chunk's watch run: recorded at its first attempt, set running again at a retry, which keeps the
        run so that the alerts it raises again keep their keys. ``on_fleet``: a fleet worker runs it."""
        izde = self.izde
        runner = runs.FLEET_RUNNER if on_fleet else runs.this_process()
        if run_id is not None:
            with izde.db.session() as session:
                again = {"status": "running", "ended_at": None, "runner": runner}
                session.execute(update(WatchRun).where(WatchRun.id == run_id).values(**again))
            return run_id
        gallery, wl_hash = izde._match_gallery(work.scope.persons & work.wanted)
        run_id = izde._run_recorder().start(
            RunStart(
                camera=chunk.camera,
                source=f"{chunk.path}#t={chunk.start_s:.3f},{chunk.end_s:.3f}",
                source_kind=SourceKind.FILE.value,
                threshold=work.threshold,
                watchlist_hash=wl_hash,
                watchlist_size=len(gallery.person_ids),
                authorisation_id=work.scope.id,
                started_by=izde.actor.user_id if izde.actor else "system",
                recorded_at=chunk.recording_start,
                urgent=work.scope.status.value != "granted",
                runner=runner,
            )
        )
        with izde.db.session() as session:
            session.execute(
                update(ArchiveChunk)
                .where(ArchiveChunk.id == chunk.id, ArchiveChunk.search_id == search_id)
                .values(run_id=run_id)
            )
        return run_id

    def _run_chunk(self, search_id: str, chunk: ArchiveChunk, run_id: str | None, stop: threading.Event) -> bool:
        izde = self.izde
        work = self._work_of(search_id)
        scope, wanted, fps, threshold = work.scope, work.wanted, work.fps, work.threshold
        gallery = izde._gallery(scope.persons & wanted)[0]
        recorder = izde._run_recorder()
        spec = SourceSpec(SourceKind.FILE, chunk.path)
        try:
            check_path(chunk.path, SourcePolicy.of(izde.settings))  # the file may have been swapped since
            src = FileSource(spec, izde.settings.security.max_image_pixels, start_s=chunk.start_s, end_s=chunk.end_s)
        except Exception as e:
            self._end_chunk(search_id, chunk.id, "failed", str(e))
            return False
        run_id = self._chunk_run(search_id, chunk, run_id, work)

        def store_alert(event: AlertEvent) -> None:
            at = chunk.recording_start + timedelta(seconds=event.position_s)
            recorder.alert(alert_record(run_id, event, at))

        pipeline = izde.settings.pipeline.model_copy(update={"analysis_fps": fps})
        match = izde.settings.match.model_copy(update={"threshold": threshold})
        watcher = Watcher(chunk.camera, izde.stack, gallery, pipeline, match, store_alert, True)
        checked = {"at": 0.0}
        reason: str | None = None

        def guard(_frame: Any) -> str | None:
            nonlocal reason, scope
            if stop.is_set():
                return SEARCH_STOPPED
            if time.monotonic() - checked["at"] < RECHECK_S:
                return reason
            checked["at"] = time.monotonic()
            with izde.db.session(readonly=True) as session:
                s = session.get(ArchiveSearch, search_id)
                status = s.status if s else SearchStatus.STOPPED
            if status != SearchStatus.RUNNING:
                reason = SEARCH_STOPPED
                return reason
            scope = izde._scope(scope.id)
            d = standing(scope, datetime.now(UTC), self._grace)
            reason = None if d.allowed else d.reason
            if reason is None:
                watcher.gallery = izde._gallery(scope.persons & wanted)[0]
            return reason

        status, error = runs.RunStatus.FAILED, None
        try:
            # run_source sets the event it is given when it ends: each chunk gets its own.
            result = run_source(src, watcher, fps, threading.Event(), None, guard)
            if result.source.error:
                error = result.source.error
            elif result.stop_reason is not None or not result.finished:
                status = runs.RunStatus.STOPPED
            else:
                status = runs.RunStatus.COMPLETED
        except Exception as e:
            error = str(e)
            raise
        finally:
            # The chunk's row follows from the run's end (izde.archive.ledger), in the same transaction.
            recorder.finish(run_id, RunEnd(status, run_counters(src.stats, watcher.counters), error, reason))
            recorder.discard_rejected(run_id)
        return status is runs.RunStatus.COMPLETED

    def _end_chunk(self, search_id: str, chunk_id: str, status: str, error: str | None) -> None:
        with self.izde.db.session() as session:
            session.execute(
                update(ArchiveChunk)
                .where(ArchiveChunk.id == chunk_id, ArchiveChunk.search_id == search_id)
                .values(status=status, error=error, finished_at=datetime.now(UTC) if status != "pending" else None)
            )

    def _release(self, search_id: str, worker: str) -> bool:
        """A worker process died: its running chunk goes back to the queue unless it has failed too often.
        True when there is work left for a replacement."""
        with self.izde.db.session() as session:
            for chunk in session.scalars(
                select(ArchiveChunk).where(
                    ArchiveChunk.search_id == search_id, ArchiveChunk.worker == worker, ArchiveChunk.status == "running"
                )
            ):
                failed = chunk.attempts >= MAX_ATTEMPTS
                chunk.status = "failed" if failed else "pending"
                chunk.error = f"its worker process died {chunk.attempts} time(s)" if failed else None
            left = session.scalar(
                select(func.count())
                .select_from(ArchiveChunk)
                .where(ArchiveChunk.search_id == search_id, ArchiveChunk.status == "pending")
            )
            search = session.get(ArchiveSearch, search_id)
            return bool(left) and search is not None and search.status == SearchStatus.RUNNING

    def reopen(self, ref: str, keep_fleet: bool = False) -> SearchView:
        """Make a search runnable (what :meth:`run` does first): chunks left running by a crash go back to the
        queue (``keep_fleet``: except those a fleet session holds, which may still be running; the fleet driver
        looks at each). A purged search is refused; a completed one stays as it is."""
        izde = self.izde
        izde.require(Action.WATCH_RECORDED)
        self.purge_ungranted()
        with izde.db.session() as session:
            search = _get(session, ref)
            if search.status == SearchStatus.PURGED:
                raise Conflict(f"search {search.id} was purged: {search.stop_reason}")
            if search.status == SearchStatus.COMPLETED:
                return self.get(search.id)
            # Work done before (or left running by a crash) makes this a resume, which oversight should see.
            tried = session.scalar(
                select(func.count())
                .select_from(ArchiveChunk)
                .where(ArchiveChunk.search_id == search.id, ArchiveChunk.attempts > 0)
            )
            left = (ArchiveChunk.search_id == search.id) & (ArchiveChunk.status == "running")
            if keep_fleet:
                left &= ArchiveChunk.worker.is_(None) | ~ArchiveChunk.worker.startswith(FLEET)
            session.execute(update(ArchiveChunk).where(left).values(status="pending"))
            resumed = search.status != SearchStatus.RUNNING or bool(tried)
            search.status, search.stop_reason, search.finished_at = SearchStatus.RUNNING, None, None
            if resumed:
                izde.audit(session, "search.resume", "search", search.id, case=search.case_ref)
            search_id = search.id
        return self.get(search_id)

    def _finish(self, search_id: str) -> SearchView:
        """The process driving the search is done: unless its last chunk already ended it, it ends now."""
        izde = self.izde
        self.purge_ungranted()
        with izde.db.session() as session:
            search = session.get(ArchiveSearch, search_id)
            assert search is not None
            end_search(session, search, izde.audit, force=True)
        return self.get(search_id)

    def stop(self, ref: str, reason: str = "stopped by the user") -> SearchView:
        """Ask a running search to stop; its workers finish the frame they are on and leave their chunks
        for a resume."""
        izde = self.izde
        izde.require(Action.WATCH_RECORDED)
        with izde.db.session() as session:
            search = _get(session, ref)
            if search.status == SearchStatus.RUNNING:
                search.status, search.stop_reason = SearchStatus.STOPPING, reason
                izde.audit(session, "search.stop.requested", "search", search.id, reason=reason)
            search_id = search.id
        return self.get(search_id)

    def purge_ungranted(self, now: datetime | None = None) -> int:
        """Searches whose authorisation was rejected, or whose urgent start was not granted within the grace
        period, lose every alert and evidence file they produced; returns how many were purged."""
        with self.izde.db.transaction() as (session, stage):
            return purge_ungranted_searches(session, stage, self.izde.audit, self._grace, now or datetime.now(UTC))

    # -- reading ----------------------------------------------------------------------------------------------

    def get(self, ref: str) -> SearchView:
        izde = self.izde
        izde.require(Action.ALERT_READ)
        with izde.db.session(readonly=True) as session:
            return _view(session, _get(session, ref))

    def all(self) -> list[SearchView]:
        izde = self.izde
        izde.require(Action.ALERT_READ)
        self.purge_ungranted()
        with izde.db.session(readonly=True) as session:
            rows = session.scalars(select(ArchiveSearch).order_by(ArchiveSearch.created_at.desc()))
            return [_view(session, s) for s in rows]

    def sightings(self, ref: str) -> list[Sighting]:
        """Where and when each searched person was seen: one entry per person, camera and passage."""
        izde = self.izde
        izde.require(Action.ALERT_READ)
        with izde.db.session(readonly=True) as session:
            search = _get(session, ref)
            rows = session.execute(
                select(Alert, Person.display_name, ArchiveChunk.camera)
                .join(ArchiveChunk, ArchiveChunk.run_id == Alert.run_id)
                .join(Person, Person.id == Alert.person_id)
                .where(ArchiveChunk.search_id == search.id)
            ).all()
            hits = [
                Hit(
                    a.id,
                    a.person_id,
                    name,
                    camera,
                    min(a.seen_from or a.frame_time, a.frame_time),
                    max(a.seen_to or a.frame_time, a.frame_time),
                    a.distance,
                    a.threshold,
                )
                for a, name, camera in rows
            ]
        return sightings(hits, izde.settings.archive.sighting_gap_s)

    def report(self, ref: str) -> SearchReport:
        """What the search's report shows: its use record, sightings, the footage searched and where cameras are.
        Who confirmed each alert is part of the record: a sighting stands only once two operators confirmed it."""
        izde = self.izde
        izde.require(Action.ALERT_READ)
        found = self.sightings(ref)
        with izde.db.session(readonly=True) as session:
            s = _get(session, ref)
            view = _view(session, s)
            auth = session.get(Authorisation, s.authorisation_id)
            assert auth is not None
            usernames = {uid: name for uid, name in session.execute(select(User.id, User.username))}
            alert_ids = [a for x in found for a in x.alerts]
            confirmations: dict[str, list[str]] = {}
            for alert_id, user_id in session.execute(
                select(AlertReview.alert_id, AlertReview.user_id)
                .where(AlertReview.alert_id.in_(alert_ids), AlertReview.decision == "confirm")
                .order_by(AlertReview.at)
            ):
                confirmations.setdefault(alert_id, []).append(usernames.get(user_id, user_id))
            footage = [
                (c, rs + timedelta(seconds=a), rs + timedelta(seconds=b))
                for c, rs, a, b in session.execute(
                    select(ArchiveChunk.camera, ArchiveChunk.recording_start, ArchiveChunk.start_s, ArchiveChunk.end_s)
                    .where(ArchiveChunk.search_id == s.id)
                    .order_by(ArchiveChunk.seq)
                )
            ]
            cameras = sorted({c for c, _, _ in footage})
            coordinates = {
                name: (lat, lon)
                for name, lat, lon in session.execute(
                    select(Camera.name, Camera.latitude, Camera.longitude).where(Camera.name.in_(cameras))
                )
                if lat is not None and lon is not None
            }
            record = UseRecord(
                search_id=s.id,
                case=s.case_ref,
                authorisation=auth.id,
                authorisation_reference=auth.reference,
                authority=auth.issuing_authority,
                objective=auth.objective + (f" ({auth.offence_code})" if auth.offence_code else ""),
                started_by=usernames.get(s.started_by, s.started_by),
                started_at=s.created_at,
                finished_at=s.finished_at,
                status=s.status,
                cameras=tuple(cameras),
                footage_from=s.footage_from,
                footage_to=s.footage_to,
                footage_hours=s.footage_s / 3600,
                recordings=s.recordings,
                refused=len(view.refused),
                persons=view.persons,
                confirmations={k: tuple(v) for k, v in confirmations.items()},
            )
        return SearchReport(record, found, footage, coordinates)


def _chunk_row(search_id: str, seq: int, c: Chunk) -> ArchiveChunk:
    return ArchiveChunk(
        id=c.id,
        search_id=search_id,
        seq=seq,
        camera=c.camera,
        path=str(c.path),
        recording_start=c.recording_start,
        start_s=c.start_s,
        end_s=c.end_s,
        status="pending",
        attempts=0,
    )


def _get(session: Session, ref: str) -> ArchiveSearch:
    row = by_id_or_prefix(
        session, ArchiveSearch, ArchiveSearch.id, ref, what="search", describe=lambda s: f"{s.id} ({s.case_ref})"
    )
    if row is None:
        raise not_found("search", ref, "list searches with 'izde searches list'")
    return row


def _view(session: Session, s: ArchiveSearch) -> SearchView:
    counts: dict[str, tuple[int, float]] = {
        status: (n, secs or 0.0)
        for status, n, secs in session.execute(
            select(ArchiveChunk.status, func.count(), func.sum(ArchiveChunk.end_s - ArchiveChunk.start_s))
            .where(ArchiveChunk.search_id == s.id)
            .group_by(ArchiveChunk.status)
        ).all()
    }
    query = select(Person.id, Person.display_name).where(Person.id.in_(json.loads(s.persons)))
    names = {pid: name for pid, name in session.execute(query)}
    return SearchView(
        id=s.id,
        case=s.case_ref,
        authorisation_id=s.authorisation_id,
        started_by=s.started_by,
        status=s.status,
        stop_reason=s.stop_reason,
        created_at=s.created_at,
        finished_at=s.finished_at,
        persons=tuple(sorted(names.get(p, p) for p in json.loads(s.persons))),
        analysis_fps=s.analysis_fps,
        footage_from=s.footage_from,
        footage_to=s.footage_to,
        footage_s=s.footage_s,
        recordings=s.recordings,
        refused=tuple((r["path"], r["reason"]) for r in json.loads(s.refused)),
        chunks=sum(n for n, _ in counts.values()),
        chunks_done=counts.get("done", (0, 0.0))[0],
        chunks_failed=counts.get("failed", (0, 0.0))[0],
        footage_done_s=counts.get("done", (0, 0.0))[1] + counts.get("failed", (0, 0.0))[1],
        alerts=alert_count(session, s.id),
    )


def _worker_main(settings: Settings, credential: str, search_id: str, name: str) -> None:
    """A search worker process: its own database connections and vision stack, acting as the search's user."""
    from izde.api import Izde
    from izde.governance import users

    logging.basicConfig(level=logging.WARNING)
    if not credential.startswith("user:"):
        with Izde(settings, token=credential) as izde:
            SearchService(izde).work(search_id, name)
        return
    with Izde(settings) as izde:
        with izde.db.session(readonly=True) as session:
            izde.actor = users.active_actor(session, credential.removeprefix("user:"))
        if izde.actor is None:
            raise SystemExit("the account that started the search is disabled")
        SearchService(izde).work(search_id, name)
