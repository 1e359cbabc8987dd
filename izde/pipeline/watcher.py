"""The per-camera watcher: detect -> align -> track -> keep best shots -> embed -> match -> alert.

Every face is analysed in memory only. A track that never matches leaves nothing but counts behind; a
track that matches raises one alert per person, with one evidence crop, unless the same person was
alerted on this camera within the cooldown.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from izde.config import MatchSettings, PipelineSettings
from izde.pipeline.ahead import DetectAhead
from izde.pipeline.describer import Describer
from izde.pipeline.evidence import blur_others, crop_region, others_in
from izde.pipeline.gating import Gate
from izde.pipeline.tracks import Shot, TrackState, best_embedded_of, descriptors_of, first_descriptors_of
from izde.vision.carry import carry, grey
from izde.vision.images import encode_jpeg
from izde.vision.motion import FrameDifference, Shrinker, build_motion
from izde.vision.regions import RegionPlan, whole
from izde.vision.stack import VisionStack, coarser
from izde.vision.tracking import Tracker, iou_matrix
from izde.vision.types import I32, Faces, Frame, Image
from izde.watchlist.fusion import screening
from izde.watchlist.index import Index, fuse

# A carried face that the detector also found on this frame (a full scan, a moving area) is the detected one.
CARRIED_IS_FOUND_IOU = 0.3


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """A candidate match for human review. ``distance`` is compared to ``threshold``: lower is closer."""

    camera: str
    person_id: str
    label: str
    track_id: int
    distance: float
    threshold: float
    quality: float
    position_s: float  # of the evidence shot
    frame_time: datetime
    evidence_jpeg: bytes
    # Positions of the track's first frame and of the frame it matched in: when the person was seen.
    seen_from_s: float
    seen_to_s: float

    def at(self, position_s: float, shot_time: datetime) -> datetime:
        """The time of ``position_s``, given the time of the evidence shot (footage time for files)."""
        return shot_time + timedelta(seconds=position_s - self.position_s)


@dataclass(slots=True)
class WatchCounters:
    frames_analysed: int = 0
    faces_seen: int = 0
    tracks_seen: int = 0
    tracks_described: int = 0  # tracks with at least one shot good enough to describe and match
    embeds: int = 0  # shots described (dlib's descriptor)
    embeds_fused: int = 0  # of which also by the fused networks (the others were screened out by dlib's)
    alerts: int = 0
    full_scans: int = 0  # analysed frames searched whole (every one of them when motion gating is off)
    coarse_scans: int = 0  # frames with too much motion to crop, searched whole with one upsampling less
    regions: int = 0  # crops searched on the other frames
    carried: int = 0  # faces carried from the previous analysed frame by optical flow instead of detected
    pixels_detected: int = 0  # pixels the detector searched, over all analysed frames
    pixels_analysed: int = 0  # pixels of all analysed frames

    @property
    def detected_fraction(self) -> float:
        """Share of the analysed pixels that face detection searched (1.0 without motion gating)."""
        return self.pixels_detected / self.pixels_analysed if self.pixels_analysed else 0.0


AlertSink = Callable[[AlertEvent], None]


@dataclass(frozen=True, slots=True)
class Job:
    """One frame's new best shots to describe, and each of their tracks' best shots as they stood after that
    frame: a track is matched on those, as if described at once, even when the next frame (detected
    meanwhile) brought it a better shot."""

    pending: list[tuple[TrackState, Shot]]
    shots: dict[int, tuple[Shot, ...]]  # id(track) -> its best shots
    position_s: float


def check_networks(index: Index, stack: VisionStack) -> Index:
    """A gallery of other networks' templates than the probes' is refused: distances across spaces mean nothing."""
    if len(index) and index.networks != stack.networks:
        raise ValueError(
            f"the gallery holds {'+'.join(index.networks)} templates but faces are described by "
            f"{'+'.join(stack.networks)} (vision.descriptors)"
        )
    return index


class Watcher:
    def __init__(
        self,
        camera: str,
        stack: VisionStack,
        gallery: Index,
        pipeline: PipelineSettings,
        match: MatchSettings,
        on_alert: AlertSink,
        continuous: bool = True,
    ) -> None:
        self.camera = camera
        self.stack = stack
        self._gallery = check_networks(gallery, stack)
        self._screen = screening(self._gallery)
        self.cfg = pipeline
        self.match = match
        self.threshold = match.threshold
        self.on_alert = on_alert
        self.continuous = continuous
        self.counters = WatchCounters()
        self._tracker = Tracker(max_gap_s=pipeline.track_max_gap_s)
        self._tracks: dict[int, TrackState] = {}
        self._last_alert_s: dict[str, float] = {}  # person -> source position of the last alert on this camera
        ahead = pipeline.detect_ahead and pipeline.motion != "off" and continuous
        # Looking ahead, a frame is shrunk for motion before its turn: the gate's stage then reuses it.
        shrink = Shrinker() if ahead else None
        motion = build_motion(pipeline.motion, pipeline.motion_threshold, shrink) if continuous else None
        # Unrelated images (a folder) have no motion between them: each is searched whole.
        self._coarse = coarser(stack.detector)
        self._gate = Gate(pipeline, motion, self._coarse is not None) if motion is not None else None
        # Carrying needs consecutive frames of one scene, so it comes with gating (not for a folder of images).
        self._carry = self._gate is not None and pipeline.redetect_every > 1
        self._prev: tuple[float, Image] | None = None  # the last analysed frame's position and grey picture
        # With describe_ahead, shots are described on another thread while the next frame is detected; this lock
        # guards what both threads touch (the tracks' shots, the counters, the cooldowns, the gallery).
        self._lock = threading.RLock()
        self._describer: Describer[Job, AlertEvent] | None = None
        self._ahead = DetectAhead(self._detect_whole, self._moves_everywhere) if ahead else None
        # Looking ahead: the motion between upcoming frames, compared as the gate's stage compares them.
        self._difference = FrameDifference(pipeline.motion_threshold, shrink=shrink) if ahead else None

    @property
    def looks_ahead(self) -> int:
        """How many frames after the one it is given :meth:`process` wants (``pipeline.detect_ahead``)."""
        return self._ahead.depth if self._ahead is not None else 0

    def _detect_whole(self, image: Image) -> Faces:
        return self.stack.find(image, whole(image.shape, "ahead"))

    def _moves_everywhere(self, before: Frame, frame: Frame) -> bool:
        """Whether ``frame`` will be searched whole for the motion since ``before``: what the gate will find
        (a guess where it uses a background model, or searches moving areas only every few frames; a wrong
        guess costs a detection)."""
        assert self._gate is not None and self._difference is not None
        d = self._difference
        b, scale = d.shrink(frame.image)
        moved = d.between(d.shrink(before.image)[0], b, scale, frame.image.shape)
        return self._gate.moves_everywhere(moved, frame.image.shape)

    def _carried(self, image: Image, position_s: float, whole: bool) -> tuple[np.ndarray, np.ndarray, I32]:
        """Tracks carried onto this frame by optical flow, as (their ids, their boxes), and the predicted boxes
        of the tracks the detector must look for (due a detection, or lost by the flow). On a frame searched
        ``whole`` nothing is carried: the detector finds every face anyway."""
        tracks = self._tracker.live(position_s)
        none = np.zeros(0, np.int32), np.zeros((0, 4), np.int32)
        if not self._carry:
            return (*none, tracks.predicted)
        cur = grey(image)
        prev, self._prev = self._prev, (position_s, cur)
        if whole:
            return (*none, tracks.predicted)
        # Only faces seen on the frame just before, and not carried for redetect_every - 1 frames already.
        want = tracks.carried < self.cfg.redetect_every - 1
        want &= tracks.last_seen_s == (prev[0] if prev is not None else np.nan)
        if prev is None or prev[1].shape != cur.shape or not want.any():
            return (*none, tracks.predicted)
        idx = want.nonzero()[0]
        moved = carry(prev[1], cur, tracks.boxes[idx], tracks.predicted[idx])
        lost = np.ones(len(tracks), bool)
        lost[idx[moved.ok]] = False
        return tracks.ids[idx[moved.ok]], moved.boxes[moved.ok], tracks.predicted[lost]

    def _found_ahead(self, frame: Frame, plan: RegionPlan | None, upcoming: Sequence[Frame]) -> Faces | None:
        """``frame``'s faces if it was detected ahead and is to be searched whole; meanwhile the ``upcoming``
        frames that the picture's motion says will be searched whole are detected, side by side."""
        if self._ahead is None or plan is None:
            return None
        self._ahead.look(frame, upcoming)
        if not plan.full:
            self._ahead.drop(frame)
            return None
        return self._ahead.take(frame)

    def _with_carried(self, image: Image, found: Faces, ids: np.ndarray, boxes: np.ndarray) -> tuple[Faces, I32]:
        """The detected faces and the carried ones the detector did not also find (the detection counts), all
        aligned and scored; and per face the track it was carried along (-1: detected)."""
        if len(ids) and len(found):
            again = iou_matrix(boxes, found.boxes).max(axis=1) >= CARRIED_IS_FOUND_IOU
            ids, boxes = ids[~again], boxes[~again]
        known = np.concatenate([np.full(len(found), -1, np.int32), ids]).astype(np.int32)
        if not len(ids):
            return found, known
        carried = self.stack.align(image, Faces(boxes.astype(np.int32), np.zeros(len(ids), np.float32)))
        self.counters.carried += len(ids)
        return Faces.concat(found, carried), known

    def process(self, frame: Frame, upcoming: Sequence[Frame] = ()) -> list[AlertEvent]:
        """Analyse ``frame``; ``upcoming``, the frames after it, may be detected meanwhile (see
        :mod:`izde.pipeline.ahead`). The alerts raised, also given to the sink."""
        plan = None
        all_of_it = self._gate.observe(frame.image, frame.position_s) is not None if self._gate is not None else True
        carried_ids, carried_boxes, searched = self._carried(frame.image, frame.position_s, all_of_it)
        if self._gate is not None:
            plan = self._gate.decide(searched)
        found = self._found_ahead(frame, plan, upcoming)
        if found is None:
            found = self.stack.find(frame.image, plan, self._coarse)
        faces, n_found = self.stack.finish(frame.image, found, self.cfg.min_face_px)
        faces, known = self._with_carried(frame.image, faces, carried_ids, carried_boxes)
        with self._lock:
            pending = self._take_shots(frame, faces, known, n_found, plan)
            job = Job(pending, {id(t): tuple(t.shots) for t, _ in pending}, frame.position_s)
        if not pending or not len(self.gallery):
            alerts = self._describer.collect() if self._describer is not None else []
        elif self.cfg.describe_ahead and self.continuous:
            alerts = self._background().submit(job)
        else:
            alerts = self._describe_and_match(job)
        if not self.continuous:
            for tid in self._tracker.close_all():
                self._tracks.pop(tid, None)
        for event in alerts:
            self.on_alert(event)
        return alerts

    def _take_shots(
        self, frame: Frame, faces: Faces, known: I32, n_found: int, plan: RegionPlan | None
    ) -> list[tuple[TrackState, Shot]]:
        """Count the frame, update the tracks with its faces, and return the new best shots to describe."""
        h, w = frame.image.shape[:2]
        self.counters.frames_analysed += 1
        self.counters.pixels_analysed += h * w
        if plan is None or plan.full:
            self.counters.full_scans += 1
            self.counters.pixels_detected += h * w
        else:
            self.counters.regions += len(plan.regions)
            self.counters.regions += len(plan.coarse)
            self.counters.pixels_detected += plan.pixels()
            self.counters.coarse_scans += plan.reason == "busy"
        self.counters.faces_seen += n_found + int((known >= 0).sum())
        faces, closed = self._tracker.update(faces, frame.position_s, known)
        for tid in closed:
            self._tracks.pop(tid, None)  # unmatched or done: forgotten here, and nowhere else was it kept
        assert faces.track_ids is not None and faces.quality is not None and faces.chips is not None
        assert faces.landmarks is not None

        pending: list[tuple[TrackState, Shot]] = []
        new_tracks = 0
        for i, tid in enumerate(faces.track_ids.tolist()):
            track = self._tracks.get(tid)
            if track is None:
                track = self._tracks[tid] = TrackState(tid, frame.position_s)
                self.counters.tracks_seen += 1
                new_tracks += 1
            q = float(faces.quality[i])
            if q < self.cfg.min_quality or track.embeds >= self.cfg.max_embeds_per_track:
                continue
            region = crop_region(faces.boxes[i], frame.image.shape)
            x0, y0, x1, y1 = region
            shot = Shot(
                quality=q,
                chip=faces.chips[i],
                crop=frame.image[y0:y1, x0:x1].copy(),
                others=others_in(region, faces.boxes, i),
                position_s=frame.position_s,
                wall_time=frame.wall_time,
            )
            if track.offer(shot, self.cfg.best_shots):
                # Cut only for shots kept: the fused networks' chips come from the frame, gone after this call.
                shot.extra_chips = tuple(c[0] for c in self.stack.extra_chips(frame.image, faces.landmarks[i : i + 1]))
                track.embeds += 1
                self.counters.tracks_described += track.embeds == 1
                pending.append((track, shot))

        if self._gate is not None and plan is not None:
            self._gate.scanned(plan, new_tracks)
        return pending

    def _background(self) -> Describer[Job, AlertEvent]:
        if self._describer is None:
            self._describer = Describer(self._describe_and_match)
        return self._describer

    def _describe_and_match(self, job: Job) -> list[AlertEvent]:
        tracks = self._describe(job)
        with self._lock:
            return [event for track in tracks for event in self._match(track, job.shots[id(track)], job.position_s)]

    def _describe(self, job: Job) -> list[TrackState]:
        """Describe the new shots and return the tracks worth matching.

        With fused networks and screening on, dlib's descriptor comes first: a track whose dlib probe is
        further than ``threshold + screen_margin`` from everyone on the watchlist cannot reach the fused
        threshold (the margin is measured, see MatchSettings.screen_margin), so the costlier networks are not
        run for it; its shots keep their chips while the track lives, and a later, closer shot has them all
        described. In a crowd of strangers that skips most of the descriptor work."""
        pending = job.pending
        tracks = list({id(t): t for t, _ in pending}.values())
        # The networks run outside the lock (the watcher's thread goes on meanwhile); their results are written
        # under it. Only this method writes a shot's descriptors and extra chips once it was handed over.
        first = self.stack.embedder.embed(np.stack([s.chip for _, s in pending]))
        margin, screen = self.match.screen_margin, self._screen
        with self._lock:
            self.counters.embeds += len(pending)
            for (_, shot), d in zip(pending, first, strict=True):
                shot.first = d
            near = tracks
            if screen is not None and margin is not None:
                limit = self.threshold + margin
                near = [
                    t
                    for t in tracks
                    if screen.person_distances(fuse(first_descriptors_of(job.shots[id(t)]))).min() <= limit
                ]
            todo = [s for t in near for s in job.shots[id(t)] if s.descriptor is None and s.first is not None]
            extra = [np.stack([s.extra_chips[j] for s in todo]) for j in range(len(self.stack.extra))] if todo else []
        if todo:
            rest = self.stack.describe_extra(extra, len(todo))
            with self._lock:
                for shot, d in zip(todo, rest, strict=True):
                    assert shot.first is not None
                    shot.descriptor, shot.extra_chips = np.concatenate([shot.first, d]), ()
                self.counters.embeds_fused += len(todo) if self.stack.extra else 0
        return near

    def _match(self, track: TrackState, shots: tuple[Shot, ...], now_s: float) -> list[AlertEvent]:
        """Alerts for the persons ``track`` matches by its described best ``shots``."""
        out = []
        for cand in self.gallery.match(fuse(descriptors_of(shots)), self.threshold):
            if cand.person_id in track.alerted:
                continue
            track.alerted.add(cand.person_id)
            shot = best_embedded_of(shots)
            assert shot is not None
            last = self._last_alert_s.get(cand.person_id)
            if last is not None and shot.position_s - last < self.cfg.cooldown_s:
                continue
            self._last_alert_s[cand.person_id] = shot.position_s
            event = AlertEvent(
                camera=self.camera,
                person_id=cand.person_id,
                label=cand.label,
                track_id=track.id,
                distance=cand.distance,
                threshold=self.threshold,
                quality=shot.quality,
                position_s=shot.position_s,
                frame_time=shot.wall_time,
                evidence_jpeg=encode_jpeg(blur_others(shot.crop, shot.others)),
                seen_from_s=track.first_seen_s,
                seen_to_s=now_s,
            )
            self.counters.alerts += 1
            out.append(event)
        return out

    @property
    def gallery(self) -> Index:
        return self._gallery

    @gallery.setter
    def gallery(self, index: Index) -> None:
        checked = check_networks(index, self.stack)
        with self._lock:
            self._gallery, self._screen = checked, screening(checked)

    def close(self) -> None:
        """End of source: finish describing the shots in hand (emitting their alerts), then drop every live
        track."""
        if self._ahead is not None:
            self._ahead.close()
        if self._describer is not None:
            describer, self._describer = self._describer, None
            for event in describer.close():
                self.on_alert(event)
        self._tracker.close_all()
        self._tracks.clear()
        self._prev = None
