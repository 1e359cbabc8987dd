"""izde's Python API: enrol persons, watch sources, read alerts.

>>> from izde.api import Izde
>>> from izde.watchlist.types import PersonSpec, PhotoSpec
>>> with Izde(home="/tmp/izde-demo") as izde:                                 # doctest: +SKIP
...     person = izde.enrol(PersonSpec(display_name="A. Person", category="missing", legal_basis="Case 12/34",
...                                    issuing_authority="City police", expires_on="2027-12-31"),
...                         [PhotoSpec(path="photo.jpg", provenance="family_provided")])
...     report = izde.watch("video.mp4", camera="gate-1")
...     for alert in izde.alerts(status="pending"):
...         print(alert.person_name, alert.distance, alert.evidence_path)

Every method validates its input and raises :class:`izde.errors.IzdeError` subclasses with a message for
people; nothing is half-written when one is raised.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import select

from izde.config import Settings, load_settings
from izde.pipeline.run import Progress, run_source
from izde.pipeline.sources import open_source, parse_source
from izde.pipeline.watcher import AlertEvent
from izde.store import alerts as alert_store
from izde.store import counts, runs
from izde.store import persons as person_store
from izde.store.db import Database
from izde.store.models import Alert, Person
from izde.store.templates import load_match_set
from izde.vision.images import read_image_file
from izde.vision.stack import VisionStack, build_stack
from izde.watchlist.enrol import reference_face
from izde.watchlist.index import Gallery
from izde.watchlist.types import PersonSpec, PhotoSpec

log = logging.getLogger(__name__)

COUNTER_FLUSH_S = 30.0  # how often a long run writes its aggregate counters


@dataclass(frozen=True, slots=True)
class PhotoView:
    id: str
    provenance: str
    capture_date: date | None
    quality: float
    face_box: tuple[int, int, int, int]
    path: Path
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PersonView:
    """A watchlist entry as shown to people: no templates, ever."""

    id: str
    display_name: str
    category: str
    legal_basis: str
    issuing_authority: str
    expires_on: date
    status: str
    created_at: datetime
    photos: tuple[PhotoView, ...]


@dataclass(frozen=True, slots=True)
class AlertView:
    id: str
    camera: str
    person_id: str
    person_name: str
    run_id: str
    track_id: int
    created_at: datetime
    frame_time: datetime
    position_s: float
    distance: float
    threshold: float
    quality: float
    status: str
    evidence_path: Path | None


@dataclass(slots=True)
class WatchReport:
    run_id: str
    camera: str
    source: str
    status: str  # completed, failed or stopped
    error: str | None
    frames_read: int
    frames_analysed: int
    frames_dropped: int
    faces_seen: int
    tracks_seen: int
    alerts: list[AlertView] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.status == runs.RunStatus.COMPLETED


AlertCallback = Callable[[AlertView], None]


class Izde:
    """One data directory (database, photos, evidence) and the vision stack its settings choose."""

    def __init__(self, settings: Settings | None = None, *, home: Path | str | None = None, **overrides: Any) -> None:
        self.settings = settings or load_settings(home=home, **overrides)
        self._db: Database | None = None
        self._stack: VisionStack | None = None

    # -- plumbing -------------------------------------------------------------------------------------------

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database.open(self.settings)
        return self._db

    @property
    def stack(self) -> VisionStack:
        if self._stack is None:
            self._stack = build_stack(self.settings.vision)
        return self._stack

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> Izde:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- watchlist ------------------------------------------------------------------------------------------

    def _prepare(self, photos: Sequence[PhotoSpec]) -> list[person_store.NewPhoto]:
        """Every photo through the quality gate before anything is stored: one refusal stores nothing."""
        out = []
        for spec in photos:
            image, data = read_image_file(Path(spec.path))
            ref = reference_face(image, Path(spec.path).name, self.stack, self.settings.enrolment, spec.face)
            ext = Path(spec.path).suffix.lower().lstrip(".")
            out.append(
                person_store.NewPhoto(
                    data=data,
                    ext=ext if ext.isalnum() and len(ext) <= 5 else "img",
                    provenance=spec.provenance,
                    box=ref.box,
                    quality=ref.quality,
                    descriptors={self.stack.model_name: ref.descriptor},
                    capture_date=spec.capture_date,
                )
            )
        return out

    def enrol(self, person: PersonSpec, photos: Sequence[PhotoSpec]) -> PersonView:
        """Add a person with one or more reference photos."""
        prepared = self._prepare(photos)
        with self.db.transaction() as (session, stage):
            row = person_store.add_person(session, stage, person, prepared)
            person_id = row.id
        return self.person(person_id)

    def add_photos(self, ref: str, photos: Sequence[PhotoSpec]) -> PersonView:
        """More reference photos for a person (appearance changes; every photo is kept as a template)."""
        with self.db.session(readonly=True) as session:
            person_id = person_store.find_person(session, ref).id
        prepared = self._prepare(photos)
        with self.db.transaction() as (session, stage):
            person_store.add_photos(session, stage, person_id, prepared)
        return self.person(person_id)

    def persons(self) -> list[person_store.PersonSummary]:
        with self.db.session(readonly=True) as session:
            return person_store.list_persons(session)

    def person(self, ref: str) -> PersonView:
        with self.db.session(readonly=True) as session:
            p = person_store.find_person(session, ref)
            return PersonView(
                p.id,
                p.display_name,
                p.category,
                p.legal_basis,
                p.issuing_authority,
                p.expires_on,
                p.status,
                p.created_at,
                tuple(
                    PhotoView(
                        ph.id,
                        ph.provenance,
                        ph.capture_date,
                        ph.quality,
                        (ph.face_left, ph.face_top, ph.face_right, ph.face_bottom),
                        self.db.files.path(ph.file_name),
                        ph.created_at,
                    )
                    for ph in p.photos
                ),
            )

    def remove(self, ref: str) -> person_store.Removal:
        """Delete a person with their photos, templates, alerts and evidence, from disk and database."""
        with self.db.transaction() as (session, stage):
            return person_store.remove_person(session, stage, ref)

    # -- watching -------------------------------------------------------------------------------------------

    def gallery(self) -> tuple[Gallery, str]:
        """The persons that may be matched now (active, unexpired) and the watchlist's hash."""
        with self.db.session(readonly=True) as session:
            ms = load_match_set(session, self.stack.model_name)
            # A Result has .keys(), so dict(result) would treat it as a mapping: build the dict explicitly.
            query = select(Person.id, Person.display_name).where(Person.id.in_(ms.person_ids))
            names = {pid: name for pid, name in session.execute(query)}
        gallery = Gallery(tuple(ms.person_ids), tuple(names[p] for p in ms.person_ids), ms.descriptors, ms.owners)
        return gallery, ms.hash

    def watch(
        self,
        source: str,
        camera: str,
        *,
        stop: threading.Event | None = None,
        progress: Progress | None = None,
        on_alert: AlertCallback | None = None,
    ) -> WatchReport:
        """Watch ``source`` (file, folder, stream URL or webcam index) as ``camera`` until it ends or ``stop``."""
        camera = camera.strip()
        if not camera:
            from izde.errors import InvalidInput

            raise InvalidInput("a camera name is required", "pass --camera NAME")
        spec = parse_source(source)
        src = open_source(spec, self.settings.pipeline.stream_retries, self.settings.pipeline.stream_backoff_s)
        gallery, wl_hash = self.gallery()
        if len(gallery) == 0:
            log.warning("the watchlist has no active person: faces will be counted, nobody can match")
        with self.db.session() as session:
            run_id = runs.start_run(
                session,
                camera=camera,
                source=spec.location,
                source_kind=spec.kind.value,
                threshold=self.settings.match.threshold,
                watchlist_hash=wl_hash,
                watchlist_size=len(gallery),
            ).id
        report = WatchReport(run_id, camera, spec.location, runs.RunStatus.RUNNING.value, None, 0, 0, 0, 0, 0)
        flushed = {"faces": 0, "tracks": 0, "at": time.monotonic()}

        def store_alert(event: AlertEvent) -> None:
            with self.db.transaction() as (session, stage):
                row = alert_store.add_alert(
                    session,
                    stage,
                    run_id=run_id,
                    person_id=event.person_id,
                    track_id=event.track_id,
                    frame_time=event.frame_time,
                    position_s=event.position_s,
                    distance=event.distance,
                    threshold=event.threshold,
                    quality=event.quality,
                    evidence_jpeg=event.evidence_jpeg,
                )
                alert_id = row.id
            view = self.alert(alert_id)
            report.alerts.append(view)
            if on_alert is not None:
                on_alert(view)

        def flush_counts(faces: int, tracks: int, force: bool = False) -> None:
            if not force and time.monotonic() - flushed["at"] < COUNTER_FLUSH_S:
                return
            with self.db.session() as session:
                counts.add_face_counts(
                    session,
                    camera,
                    datetime.now(UTC),
                    faces=faces - int(flushed["faces"]),
                    tracks=tracks - int(flushed["tracks"]),
                )
                runs.update_run(session, run_id, _counters(src.stats.frames_read, src.stats.frames_dropped, c))
            flushed.update(faces=faces, tracks=tracks, at=time.monotonic())

        def on_frame(frame: Any, c: Any) -> None:
            flush_counts(c.faces_seen, c.tracks_seen)
            if progress is not None:
                progress(frame, c)

        status, error = runs.RunStatus.FAILED, None
        from izde.pipeline.watcher import WatchCounters

        c = WatchCounters()
        try:
            result = run_source(src, camera, self.stack, gallery, self.settings, store_alert, stop, on_frame)
            c = result.counters
            if result.source.error:
                status, error = runs.RunStatus.FAILED, result.source.error
            elif stop is not None and stop.is_set() and not result.source.finished:
                status = runs.RunStatus.STOPPED
            else:
                status = runs.RunStatus.COMPLETED if result.finished else runs.RunStatus.STOPPED
        except KeyboardInterrupt:
            status, error = runs.RunStatus.STOPPED, "interrupted"
            raise
        except Exception as e:
            status, error = runs.RunStatus.FAILED, str(e)
            raise
        finally:
            faces, tracks = c.faces_seen, c.tracks_seen
            with self.db.session() as session:
                counts.add_face_counts(
                    session,
                    camera,
                    datetime.now(UTC),
                    faces=max(0, faces - int(flushed["faces"])),
                    tracks=max(0, tracks - int(flushed["tracks"])),
                )
                runs.finish_run(
                    session,
                    run_id,
                    status,
                    error=error,
                    counters=_counters(src.stats.frames_read, src.stats.frames_dropped, c),
                )
            report.status, report.error = status.value, error
            report.frames_read, report.frames_dropped = src.stats.frames_read, src.stats.frames_dropped
            report.frames_analysed, report.faces_seen, report.tracks_seen = c.frames_analysed, faces, tracks
        return report

    # -- alerts ---------------------------------------------------------------------------------------------

    def _view(self, a: Alert, name: str) -> AlertView:
        return AlertView(
            a.id,
            a.camera,
            a.person_id,
            name,
            a.run_id,
            a.track_id,
            a.created_at,
            a.frame_time,
            a.position_s,
            a.distance,
            a.threshold,
            a.quality,
            a.status,
            self.db.files.path(a.evidence_file) if a.evidence_file else None,
        )

    def alerts(
        self,
        *,
        camera: str | None = None,
        person: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = 100,
    ) -> list[AlertView]:
        with self.db.session(readonly=True) as session:
            person_id = person_store.find_person(session, person).id if person else None
            rows = alert_store.list_alerts(
                session, camera=camera, person_id=person_id, status=status, since=since, until=until, limit=limit
            )
            names = {pid: name for pid, name in session.execute(select(Person.id, Person.display_name))}
            return [self._view(a, names.get(a.person_id, "?")) for a in rows]

    def alert(self, ref: str) -> AlertView:
        with self.db.session(readonly=True) as session:
            a = alert_store.get_alert(session, ref)
            return self._view(a, person_store.get_person(session, a.person_id).display_name)


def _counters(frames_read: int, frames_dropped: int, c: Any) -> runs.RunCounters:
    return runs.RunCounters(
        frames_read=frames_read,
        frames_analysed=c.frames_analysed,
        frames_dropped=frames_dropped,
        faces_seen=c.faces_seen,
        tracks_seen=c.tracks_seen,
        alerts_raised=c.alerts,
    )
