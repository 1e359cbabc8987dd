"""The run recorder: the one place where a watch run's rows are written.

Every runner reports through it (the in-process threads directly, fleet workers through the broker), so a run
row, its counters, an alert with its audit entry and webhook outbox rows are written the same way whoever ran the
session. Each write is safe to repeat: an alert is keyed by (run, track, person) and counters carry running
totals, so a redelivered event or a retried call changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from izde.archive.ledger import chunk_run_ended
from izde.store import alerts as alert_store
from izde.store import counts, outbox, runs
from izde.store.db import Database
from izde.store.models import Alert, AuditEntry, Authorisation, WatchRun


class AuditWriter(Protocol):
    """``Core.audit``: appends one entry in the caller's transaction and returns it."""

    def __call__(
        self,
        session: Session,
        action: str,
        subject_type: str | None = None,
        subject_id: str | None = None,
        actor: Any = None,
        **details: Any,
    ) -> AuditEntry: ...


@dataclass(frozen=True, slots=True)
class RunStart:
    camera: str
    source: str
    source_kind: str
    threshold: float
    watchlist_hash: str
    watchlist_size: int
    authorisation_id: str
    started_by: str
    recorded_at: datetime | None  # recorded footage: when its recording started; None for live sources
    urgent: bool  # started under an urgent authorisation not yet granted
    runner: str | None = None  # None: this process; runs.FLEET_RUNNER: the fleet's workers


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One alert as a runner reports it; ``frame_time`` is when it happened (footage time for files)."""

    run_id: str
    person_id: str
    track_id: int
    frame_time: datetime
    position_s: float
    distance: float
    threshold: float
    quality: float
    evidence_jpeg: bytes | None
    seen: tuple[datetime, datetime] | None = None  # when the matched track was seen (footage time for files)


@dataclass(frozen=True, slots=True)
class Recorded:
    alert_id: str
    new: bool  # False when the same (run, track, person) was recorded before: nothing was written


@dataclass(frozen=True, slots=True)
class RunEnd:
    status: runs.RunStatus
    counters: runs.RunCounters
    error: str | None = None
    reason: str | None = None


class RunRecorder:
    def __init__(
        self,
        db: Database,
        audit: AuditWriter,
        webhook_urls: Sequence[str] = (),
        public_url: str = "",
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        same_person_within_s: float | None = None,
    ) -> None:
        """``same_person_within_s``: an alert for a person the run alerted on this close in time is the same one
        (fleet runs: a replacement worker that sees again the passage its dead predecessor already reported,
        under new track ids). A single watcher never raises such pairs, since its cooldown suppresses them."""
        self.same_person_within_s = same_person_within_s
        self.db = db
        self.audit = audit
        self.webhook_urls = tuple(webhook_urls)
        self.public_url = public_url
        self.now = now

    def _run_db(self, run_id: str) -> Database:
        """The database as the run's organisation sees it: a recorder of the whole deployment (the fleet's)
        writes each run's rows in its organisation's scope, so they belong to it like those written in-process."""
        if self.db.organisation_id is not None:
            return self.db
        with self.db.session(readonly=True) as session:
            org = session.scalar(select(WatchRun.organisation_id).where(WatchRun.id == run_id))
        return self.db.scoped(org) if org else self.db

    def start(self, s: RunStart) -> str:
        """The run row and its ``watch.start`` audit entry; returns the run's id."""
        with self.db.session() as session:
            run = runs.start_run(
                session,
                camera=s.camera,
                source=s.source,
                source_kind=s.source_kind,
                threshold=s.threshold,
                watchlist_hash=s.watchlist_hash,
                watchlist_size=s.watchlist_size,
                runner=s.runner,
            )
            run.authorisation_id, run.started_by, run.recorded_at = s.authorisation_id, s.started_by, s.recorded_at
            self.audit(
                session,
                "watch.start",
                "run",
                run.id,
                camera=s.camera,
                source_kind=s.source_kind,
                authorisation=s.authorisation_id,
                urgent=s.urgent,
                watchlist_hash=s.watchlist_hash,
                watchlist_size=s.watchlist_size,
                threshold=s.threshold,
            )
            return run.id

    def alert(self, a: AlertRecord) -> Recorded | None:
        """Store an alert with its outbox rows and audit entry in one transaction, once.

        None when the run's authorisation was rejected meanwhile: such an alert would only be purged again."""
        try:
            return self._alert(a)
        except IntegrityError:
            # Another recorder stored the same alert between our check and our insert: theirs is the one.
            with self._run_db(a.run_id).session(readonly=True) as session:
                existing = _existing(session, a)
            if existing is None:
                raise
            return Recorded(existing, False)

    def _alert(self, a: AlertRecord) -> Recorded | None:
        with self._run_db(a.run_id).transaction() as (session, stage):
            existing = _existing(session, a, self.same_person_within_s)
            if existing is not None:
                return Recorded(existing, False)
            run = session.get(WatchRun, a.run_id)
            if run is not None and run.authorisation_id is not None:
                scope = session.get(Authorisation, run.authorisation_id)
                if scope is not None and scope.status == "rejected":
                    return None
            row = alert_store.add_alert(
                session,
                stage,
                run_id=a.run_id,
                person_id=a.person_id,
                track_id=a.track_id,
                frame_time=a.frame_time,
                position_s=a.position_s,
                distance=a.distance,
                threshold=a.threshold,
                quality=a.quality,
                evidence_jpeg=a.evidence_jpeg,
                seen=a.seen,
            )
            # Same transaction: an alert is never raised without its notifications (the durable outbox).
            if self.webhook_urls:
                outbox.enqueue_alert(session, row, self.webhook_urls, self.public_url)
            entry = self.audit(
                session,
                "alert.raised",
                "alert",
                row.id,
                actor="system",
                run=a.run_id,
                camera=row.camera,
                person=a.person_id,
                distance=round(a.distance, 4),
                threshold=a.threshold,
            )
            row.seq = entry.seq
            return Recorded(row.id, True)

    def counters(self, run_id: str, c: runs.RunCounters) -> None:
        """Store a running run's totals; the hourly face counts grow by what is new since the last call."""
        with self._run_db(run_id).session() as session:
            self._counters(session, run_id, c)

    def _counters(self, session: Session, run_id: str, c: runs.RunCounters) -> WatchRun | None:
        run = session.scalar(select(WatchRun).where(WatchRun.id == run_id).with_for_update())
        if run is None or run.status != runs.RunStatus.RUNNING:
            return run  # a late report about a finished run changes nothing
        faces, tracks = max(0, c.faces_seen - run.faces_seen), max(0, c.tracks_seen - run.tracks_seen)
        counts.add_face_counts(session, run.camera, self.now(), faces=faces, tracks=tracks)
        runs.update_run(session, run_id, _at_least(run, c))
        return run

    def finish(self, run_id: str, end: RunEnd) -> bool:
        """Final counters, status and the ``watch.stop`` entry (and the end of the search chunk it ran, if any);
        False when the run had already finished."""
        with self._run_db(run_id).session() as session:
            run = self._counters(session, run_id, end.counters)
            if run is None or run.status != runs.RunStatus.RUNNING:
                return False
            finished = runs.finish_run(session, run_id, end.status, error=end.error)
            finished.stop_reason = end.reason
            # A search's chunk ends with its run, in this transaction, whichever process ran it.
            chunk_run_ended(session, run_id, end.status, end.error, end.reason, self.audit)
            self.audit(
                session,
                "watch.stop",
                "run",
                run_id,
                status=end.status.value,
                reason=end.reason,
                error=end.error,
                frames_analysed=end.counters.frames_analysed,
                faces_seen=end.counters.faces_seen,
                alerts=end.counters.alerts_raised,
            )
            return True

    def discard_rejected(self, run_id: str) -> int:
        """Alerts raised after a rejection but before the session noticed it go the same way as the rest."""
        with self._run_db(run_id).transaction() as (session, stage):
            run = session.get(WatchRun, run_id)
            scope = session.get(Authorisation, run.authorisation_id) if run and run.authorisation_id else None
            if scope is None or scope.status != "rejected":
                return 0
            files = [f for f in session.scalars(select(Alert.evidence_file).where(Alert.run_id == run_id)) if f]
            n = session.execute(delete(Alert).where(Alert.run_id == run_id)).rowcount or 0  # type: ignore[attr-defined]
            stage.delete_on_commit(files)
            if n:
                self.audit(session, "authorisation.reject.cleanup", "run", run_id, actor="system", alerts_deleted=n)
            return int(n)


def _existing(session: Session, a: AlertRecord, within_s: float | None = None) -> str | None:
    query = select(Alert.id).where(Alert.run_id == a.run_id, Alert.person_id == a.person_id)
    if within_s is None:
        return session.scalar(query.where(Alert.track_id == a.track_id))
    window = timedelta(seconds=within_s)
    near = Alert.frame_time.between(a.frame_time - window, a.frame_time + window)
    return session.scalar(query.where((Alert.track_id == a.track_id) | near).limit(1))


def _at_least(run: WatchRun, c: runs.RunCounters) -> runs.RunCounters:
    """Totals never go back: a report that arrives after a newer one (a redelivery) keeps the newer values."""
    return runs.RunCounters(
        frames_read=max(run.frames_read, c.frames_read),
        frames_analysed=max(run.frames_analysed, c.frames_analysed),
        frames_dropped=max(run.frames_dropped, c.frames_dropped),
        faces_seen=max(run.faces_seen, c.faces_seen),
        tracks_seen=max(run.tracks_seen, c.tracks_seen),
        alerts_raised=max(run.alerts_raised, c.alerts_raised),
    )
