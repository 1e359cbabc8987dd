"""Watch service: a session runs only inside a valid authorisation, matches only the persons it names,
and stops by itself when the authorisation ends or is withdrawn."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import delete, select

from izde.errors import InvalidInput
from izde.governance import users
from izde.governance.authorisations import Scope, session_allowed, stop_reason
from izde.governance.roles import Action, Actor, PermissionDenied, decision
from izde.pipeline.run import Progress, run_source
from izde.pipeline.sources import SourceStats, open_source, parse_source
from izde.pipeline.watcher import AlertEvent, WatchCounters, Watcher
from izde.service.alerts import AlertService
from izde.service.authorisations import AuthorisationService, find_authorisation, scope_of
from izde.service.cameras import CameraService
from izde.service.retention import RetentionService
from izde.service.settings import SettingsService
from izde.service.views import AlertView, WatchReport
from izde.store import alerts as alert_store
from izde.store import counts, outbox, runs
from izde.store.models import Alert, Authorisation, Person
from izde.store.templates import load_match_set
from izde.vision.types import Frame
from izde.watchlist.faiss_index import build_index
from izde.watchlist.index import Gallery, Index, with_mean_templates

log = logging.getLogger(__name__)

COUNTER_FLUSH_S = 30.0  # how often a long run writes its aggregate counters
RECHECK_S = 10.0  # how often a running session re-reads its authorisation, the watchlist and its operator

AlertCallback = Callable[[AlertView], None]
# Called once the run is recorded, with its id and the source's live counters (frames read and dropped).
StartCallback = Callable[[str, SourceStats], None]


class WatchService(AlertService, AuthorisationService, CameraService, RetentionService, SettingsService):
    def gallery(self, persons: frozenset[str] | None = None) -> tuple[Index, str]:
        """Active, unexpired persons (limited to ``persons`` when given) and the watchlist's hash.

        The gallery holds the templates themselves, so only those who run watch sessions may load it."""
        self.require(Action.WATCH_RECORDED)
        return self._gallery(persons)

    def _gallery(self, persons: frozenset[str] | None = None) -> tuple[Index, str]:
        with self.db.session(readonly=True) as session:
            ms = load_match_set(session, self.stack.model_name)
            keep = [i for i, p in enumerate(ms.person_ids) if persons is None or p in persons]
            ids = tuple(ms.person_ids[i] for i in keep)
            query = select(Person.id, Person.display_name).where(Person.id.in_(ids))
            names = {pid: name for pid, name in session.execute(query)}
        # Renumber the kept persons 0..k-1 and drop the templates of everyone else.
        renumber = np.full(len(ms.person_ids), -1, np.int32)
        renumber[keep] = np.arange(len(keep), dtype=np.int32)
        owners = renumber[ms.owners]
        rows = owners >= 0
        gallery = Gallery(ids, tuple(names[p] for p in ids), ms.descriptors[rows], owners[rows])
        # Exact search for ordinary watchlists; FAISS above 100,000 templates (see docs/benchmarks).
        return build_index(with_mean_templates(gallery)), ms.hash

    def _scope(self, ref: str) -> Scope:
        with self.db.session(readonly=True) as session:
            return scope_of(session, find_authorisation(session, ref))

    def watch(
        self,
        source: str | None,
        camera: str,
        authorisation: str,
        *,
        recorded_at: datetime | None = None,
        stop: threading.Event | None = None,
        progress: Progress | None = None,
        on_alert: AlertCallback | None = None,
        on_start: StartCallback | None = None,
    ) -> WatchReport:
        """Watch ``source`` as ``camera`` under ``authorisation`` until the source ends, ``stop`` is set, or the
        authorisation no longer allows it. Files need the time their recording started (``recorded_at``)."""
        camera = camera.strip()
        if not camera:
            raise InvalidInput("a camera name is required", "pass --camera NAME")
        self.require(Action.WATCH_RECORDED)  # before the camera lookup, so other roles learn nothing of cameras
        spec = parse_source(self._session_source(camera, source))
        live = spec.kind.live
        actor = self.require(Action.WATCH_LIVE if live else Action.WATCH_RECORDED)
        now = datetime.now(UTC)
        if live:
            footage_start = now
        elif recorded_at is None:
            raise InvalidInput(
                "recorded footage needs the time its recording started", "pass --recorded-at 2026-11-26T08:00:00+00:00"
            )
        elif recorded_at.tzinfo is None:
            raise InvalidInput("--recorded-at needs a time zone", "add +00:00 for UTC")
        else:
            footage_start = recorded_at
        scope = self._scope(authorisation)
        decision = session_allowed(scope, camera, live, footage_start, now)
        if not decision.allowed:
            with self.db.session() as session:
                self.audit(session, "watch.refused", "authorisation", scope.id, camera=camera, reason=decision.reason)
            raise PermissionDenied(f"watching {camera} is not authorised: {decision.reason}")

        self._apply_retention(as_system=True)
        src = open_source(
            spec,
            self.settings.pipeline.stream_retries,
            self.settings.pipeline.stream_backoff_s,
            self.settings.security.max_image_pixels,
        )
        gallery, wl_hash = self._gallery(scope.persons)
        threshold = self.threshold()
        with self.db.session() as session:
            run = runs.start_run(
                session,
                camera=camera,
                source=spec.location,
                source_kind=spec.kind.value,
                threshold=threshold,
                watchlist_hash=wl_hash,
                watchlist_size=len(gallery),
            )
            run.authorisation_id, run.started_by = scope.id, actor.user_id
            run.recorded_at = None if live else footage_start
            run_id = run.id
            self.audit(
                session,
                "watch.start",
                "run",
                run_id,
                camera=camera,
                source_kind=spec.kind.value,
                authorisation=scope.id,
                urgent=scope.status.value != "granted",
                watchlist_hash=wl_hash,
                watchlist_size=len(gallery),
                threshold=threshold,
            )
        if on_start is not None:
            on_start(run_id, src.stats)
        report = WatchReport(run_id, camera, spec.location, runs.RunStatus.RUNNING.value, None, 0, 0, 0, 0, 0)
        flushed = {"faces": 0, "tracks": 0, "at": time.monotonic(), "checked": time.monotonic()}

        def store_alert(event: AlertEvent) -> None:
            with self.db.transaction() as (session, stage):
                row = alert_store.add_alert(
                    session,
                    stage,
                    run_id=run_id,
                    person_id=event.person_id,
                    track_id=event.track_id,
                    # Recorded footage: when it happened, not when it was analysed.
                    frame_time=event.frame_time if live else footage_start + timedelta(seconds=event.position_s),
                    position_s=event.position_s,
                    distance=event.distance,
                    threshold=event.threshold,
                    quality=event.quality,
                    evidence_jpeg=event.evidence_jpeg,
                )
                # Same transaction: an alert is never raised without its notifications (the durable outbox).
                urls = [w.url for w in self.settings.web.webhooks]
                if urls:
                    outbox.enqueue_alert(session, row, urls, self.settings.web.public_url)
                self.audit(
                    session,
                    "alert.raised",
                    "alert",
                    row.id,
                    actor="system",
                    run=run_id,
                    camera=camera,
                    person=event.person_id,
                    distance=round(event.distance, 4),
                    threshold=event.threshold,
                )
                alert_id = row.id
            view = self._alert_view_unchecked(alert_id)
            report.alerts.append(view)
            if on_alert is not None:
                on_alert(view)

        match = self.settings.match.model_copy(update={"threshold": threshold})
        watcher = Watcher(camera, self.stack, gallery, self.settings.pipeline, match, store_alert, src.continuous)

        def write_counts(c: WatchCounters) -> None:
            with self.db.session() as session:
                counts.add_face_counts(
                    session,
                    camera,
                    datetime.now(UTC),
                    faces=max(0, c.faces_seen - int(flushed["faces"])),
                    tracks=max(0, c.tracks_seen - int(flushed["tracks"])),
                )
                if report.status == runs.RunStatus.RUNNING:
                    runs.update_run(session, run_id, _counters(src.stats.frames_read, src.stats.frames_dropped, c))
            flushed.update(faces=c.faces_seen, tracks=c.tracks_seen, at=time.monotonic())

        def on_frame(frame: Frame, c: WatchCounters) -> None:
            if time.monotonic() - flushed["at"] >= COUNTER_FLUSH_S:
                write_counts(c)
            if progress is not None:
                progress(frame, c)

        withdrawn: str | None = None  # why the operator may no longer watch, from the last recheck

        def guard(frame: Frame) -> str | None:
            footage_time = frame.wall_time if live else footage_start + timedelta(seconds=frame.position_s)
            if time.monotonic() - flushed["checked"] >= RECHECK_S:
                nonlocal scope, withdrawn
                scope = self._scope(scope.id)
                # Entries that expired or were removed stop matching at once.
                watcher.gallery = self._gallery(scope.persons)[0]
                withdrawn = self._may_still_watch(actor, live)
                flushed["checked"] = time.monotonic()
            return withdrawn or stop_reason(scope, footage_time, datetime.now(UTC))

        status, error, reason = runs.RunStatus.FAILED, None, None
        try:
            result = run_source(src, watcher, self.settings.pipeline.analysis_fps, stop, on_frame, guard)
            reason = result.stop_reason
            if result.source.error:
                status, error = runs.RunStatus.FAILED, result.source.error
            elif reason is not None or not result.finished:
                status = runs.RunStatus.STOPPED
            else:
                status = runs.RunStatus.COMPLETED
        except KeyboardInterrupt:
            status, reason = runs.RunStatus.STOPPED, "interrupted by the user"
            raise
        except Exception as e:
            status, error = runs.RunStatus.FAILED, str(e)
            raise
        finally:
            c = watcher.counters
            write_counts(c)
            with self.db.session() as session:
                finished = runs.finish_run(
                    session,
                    run_id,
                    status,
                    error=error,
                    counters=_counters(src.stats.frames_read, src.stats.frames_dropped, c),
                )
                finished.stop_reason = reason
                self.audit(
                    session,
                    "watch.stop",
                    "run",
                    run_id,
                    status=status.value,
                    reason=reason,
                    error=error,
                    frames_analysed=c.frames_analysed,
                    faces_seen=c.faces_seen,
                    alerts=c.alerts,
                )
            report.status, report.error, report.stop_reason = status.value, error, reason
            report.frames_read, report.frames_dropped = src.stats.frames_read, src.stats.frames_dropped
            report.reconnects = src.stats.reconnects
            report.frames_analysed, report.faces_seen, report.tracks_seen = (
                c.frames_analysed,
                c.faces_seen,
                c.tracks_seen,
            )
            if self._discard_rejected(run_id, scope.id) or self._scope(scope.id).status.value == "rejected":
                report.alerts.clear()
        return report

    def watch_camera(
        self,
        camera: str,
        authorisation: str,
        *,
        recorded_at: datetime | None = None,
        stop: threading.Event | None = None,
        progress: Progress | None = None,
        on_alert: AlertCallback | None = None,
        on_start: StartCallback | None = None,
    ) -> WatchReport:
        """Watch a registered camera's source: the way the server starts sessions, so that a request can never
        name an arbitrary file or URL on the server."""
        self.require(Action.CAMERA_READ)
        # The watch permission is checked before the camera is looked up, so a role that may not watch learns
        # nothing about registered sources; watch() checks it again for the source's kind.
        self.require(Action.WATCH_RECORDED)
        source = self._camera_source(camera)
        return self.watch(
            source,
            camera,
            authorisation,
            recorded_at=recorded_at,
            stop=stop,
            progress=progress,
            on_alert=on_alert,
            on_start=on_start,
        )

    def _may_still_watch(self, actor: Actor, live: bool) -> str | None:
        """Why the user who started a running session may no longer run it, or None. A leaver's account is
        disabled and their sessions stop with it; so do they when the role is taken away."""
        with self.db.session(readonly=True) as session:
            current = users.active_actor(session, actor.user_id)
        if current is None:
            return f"the account of {actor.username} was disabled"
        d = decision(current, Action.WATCH_LIVE if live else Action.WATCH_RECORDED)
        return None if d.allowed else f"{actor.username} may no longer watch: {d.reason}"

    def _discard_rejected(self, run_id: str, scope_id: str) -> int:
        """Alerts raised after a rejection but before the session noticed it go the same way as the rest."""
        with self.db.transaction() as (session, stage):
            if session.get(Authorisation, scope_id).status != "rejected":  # type: ignore[union-attr]
                return 0
            files = [f for f in session.scalars(select(Alert.evidence_file).where(Alert.run_id == run_id)) if f]
            n = session.execute(delete(Alert).where(Alert.run_id == run_id)).rowcount or 0  # type: ignore[attr-defined]
            stage.delete_on_commit(files)
            if n:
                self.audit(session, "authorisation.reject.cleanup", "run", run_id, actor="system", alerts_deleted=n)
            return int(n)


def _counters(frames_read: int, frames_dropped: int, c: WatchCounters) -> runs.RunCounters:
    return runs.RunCounters(
        frames_read=frames_read,
        frames_analysed=c.frames_analysed,
        frames_dropped=frames_dropped,
        faces_seen=c.faces_seen,
        tracks_seen=c.tracks_seen,
        alerts_raised=c.alerts,
    )
