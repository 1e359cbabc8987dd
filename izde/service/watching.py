"""Watch service: a session runs only inside a valid authorisation, matches only the persons it names,
and stops by itself when the authorisation ends or is withdrawn."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import select

from izde.errors import Conflict, InvalidInput
from izde.governance import users
from izde.governance.authorisations import Scope, session_allowed, stop_reason
from izde.governance.roles import Action, Actor, PermissionDenied, decision
from izde.pipeline.run import Progress, run_source
from izde.pipeline.sources import SourceSpec, SourceStats, open_source, parse_source
from izde.pipeline.watcher import AlertEvent, WatchCounters, Watcher
from izde.runner.recorder import AlertRecord, RunEnd, RunRecorder, RunStart
from izde.service.alerts import AlertService
from izde.service.authorisations import AuthorisationService, find_authorisation, scope_of
from izde.service.cameras import CameraService
from izde.service.retention import RetentionService
from izde.service.settings import SettingsService
from izde.service.views import AlertView, WatchReport
from izde.store import runs
from izde.store.models import Person
from izde.store.templates import MatchSet, combined_hash, load_match_set, photos_without
from izde.vision.types import Frame
from izde.watchlist.faiss_index import build_index
from izde.watchlist.fusion import UNIT_NETWORKS, FusedGallery, MatchGallery, Space, match_gallery
from izde.watchlist.index import Index, with_mean_templates

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
        gallery, wl_hash = self._match_gallery(persons)
        return match_index(gallery), wl_hash

    def _match_gallery(self, persons: frozenset[str] | None = None) -> tuple[MatchGallery, str]:
        """The templates of ``persons`` (active, unexpired) in each network's space of ``vision.descriptors``, as
        they are sent to a fleet worker. A watchlist lacking a network's template of any photo is refused: its
        people would silently never match."""
        models = self.stack.template_models
        with self.db.session(readonly=True) as session:
            for model in models.values():
                missing = photos_without(session, model, matchable=True, persons=persons)
                if missing:
                    raise Conflict(
                        f"{len(missing)} reference photos on the watchlist have no {model} template",
                        "run 'izde watchlist recompute' to compute them from the stored photos",
                    )
            sets = {network: load_match_set(session, model) for network, model in models.items()}
            ids = tuple(sorted({p for ms in sets.values() for p in ms.person_ids if persons is None or p in persons}))
            query = select(Person.id, Person.display_name).where(Person.id.in_(ids))
            names = {pid: name for pid, name in session.execute(query)}
        labels = tuple(names[p] for p in ids)
        spaces = tuple(space_of(network, ms, ids) for network, ms in sets.items())
        return match_gallery(ids, labels, spaces), combined_hash([ms.hash for ms in sets.values()])

    def _scope(self, ref: str) -> Scope:
        with self.db.session(readonly=True) as session:
            return scope_of(session, find_authorisation(session, ref))

    def _authorise_watch(
        self, source: str | None, camera: str, authorisation: str, recorded_at: datetime | None
    ) -> tuple[str, SourceSpec, Actor, Scope, datetime]:
        """Who may watch what, checked before anything runs: the camera name, the source, the user's right for
        its kind, the footage's start time and the authorisation's scope. A refusal is audited and raised."""
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
        return camera, spec, actor, scope, footage_start

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
        camera, spec, actor, scope, footage_start = self._authorise_watch(source, camera, authorisation, recorded_at)
        live = spec.kind.live
        self._apply_retention(as_system=True)
        src = open_source(
            spec,
            self.settings.pipeline.stream_retries,
            self.settings.pipeline.stream_backoff_s,
            self.settings.security.max_image_pixels,
        )
        gallery, wl_hash = self._gallery(scope.persons)
        threshold = self.threshold()
        recorder = self._run_recorder()
        run_id = recorder.start(
            RunStart(
                camera=camera,
                source=spec.location,
                source_kind=spec.kind.value,
                threshold=threshold,
                watchlist_hash=wl_hash,
                watchlist_size=len(gallery),
                authorisation_id=scope.id,
                started_by=actor.user_id,
                recorded_at=None if live else footage_start,
                urgent=scope.status.value != "granted",
            )
        )
        if on_start is not None:
            on_start(run_id, src.stats)
        report = WatchReport(run_id, camera, spec.location, runs.RunStatus.RUNNING.value, None, 0, 0, 0, 0, 0)
        clock = {"flushed": time.monotonic(), "checked": time.monotonic()}

        def store_alert(event: AlertEvent) -> None:
            # Recorded footage: when it happened, not when it was analysed.
            at = event.frame_time if live else footage_start + timedelta(seconds=event.position_s)
            recorded = recorder.alert(alert_record(run_id, event, at))
            if recorded is None or not recorded.new:
                return
            view = self._alert_view_unchecked(recorded.alert_id)
            report.alerts.append(view)
            if on_alert is not None:
                on_alert(view)

        match = self.settings.match.model_copy(update={"threshold": threshold})
        watcher = Watcher(camera, self.stack, gallery, self.settings.pipeline, match, store_alert, src.continuous)

        def on_frame(frame: Frame, c: WatchCounters) -> None:
            if time.monotonic() - clock["flushed"] >= COUNTER_FLUSH_S:
                recorder.counters(run_id, run_counters(src.stats, c))
                clock["flushed"] = time.monotonic()
            if progress is not None:
                progress(frame, c)

        withdrawn: str | None = None  # why the operator may no longer watch, from the last recheck

        def guard(frame: Frame) -> str | None:
            footage_time = frame.wall_time if live else footage_start + timedelta(seconds=frame.position_s)
            if time.monotonic() - clock["checked"] >= RECHECK_S:
                nonlocal scope, withdrawn
                scope = self._scope(scope.id)
                # Entries that expired or were removed stop matching at once.
                watcher.gallery = self._gallery(scope.persons)[0]
                withdrawn = self._may_still_watch(actor, live)
                clock["checked"] = time.monotonic()
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
            recorder.finish(run_id, RunEnd(status, run_counters(src.stats, c), error, reason))
            report.status, report.error, report.stop_reason = status.value, error, reason
            report.frames_read, report.frames_dropped = src.stats.frames_read, src.stats.frames_dropped
            report.reconnects = src.stats.reconnects
            report.frames_analysed, report.faces_seen, report.tracks_seen = (
                c.frames_analysed,
                c.faces_seen,
                c.tracks_seen,
            )
            if recorder.discard_rejected(run_id) or self._scope(scope.id).status.value == "rejected":
                report.alerts.clear()
        return report

    def _run_recorder(self) -> RunRecorder:
        """The recorder of this service's database: runs, counters, alerts, audit and outbox."""
        urls = [w.url for w in self.settings.web.webhooks]
        return RunRecorder(self.db, self.audit, urls, self.settings.web.public_url)

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


def run_counters(stats: SourceStats, c: WatchCounters) -> runs.RunCounters:
    return runs.RunCounters(
        frames_read=stats.frames_read,
        frames_analysed=c.frames_analysed,
        frames_dropped=stats.frames_dropped,
        faces_seen=c.faces_seen,
        tracks_seen=c.tracks_seen,
        alerts_raised=c.alerts,
    )


def alert_record(run_id: str, event: AlertEvent, frame_time: datetime) -> AlertRecord:
    """``frame_time``: when the evidence shot was taken (footage time for files, the clock for live sources)."""
    return AlertRecord(
        run_id=run_id,
        person_id=event.person_id,
        track_id=event.track_id,
        frame_time=frame_time,
        position_s=event.position_s,
        distance=event.distance,
        threshold=event.threshold,
        quality=event.quality,
        evidence_jpeg=event.evidence_jpeg,
        seen=(event.at(event.seen_from_s, frame_time), event.at(event.seen_to_s, frame_time)),
    )


def space_of(network: str, ms: MatchSet, ids: Sequence[str]) -> Space:
    """``ms``'s templates of the persons ``ids``, their owners renumbered to positions in ``ids``."""
    position = {p: i for i, p in enumerate(ids)}
    renumber = np.array([position.get(p, -1) for p in ms.person_ids], np.int32)
    owners = renumber[ms.owners] if len(ms.owners) else np.zeros((0,), np.int32)
    rows = owners >= 0
    return Space(network, ms.descriptors[rows], owners[rows], unit=network in UNIT_NETWORKS)


def match_index(gallery: MatchGallery) -> Index:
    """Exact search for ordinary watchlists; FAISS above 100,000 templates (see docs/benchmarks). A fused gallery
    is searched exactly and with per-photo templates only, as it was measured (docs/evaluation/fusion)."""
    if isinstance(gallery, FusedGallery):
        return gallery
    return build_index(with_mean_templates(gallery))
