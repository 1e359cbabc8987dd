"""Pipeline throughput: izde's pipeline against the classic per-frame loop, side by side in one process.

The baseline is what the popular ``face_recognition`` video example does, with the same dlib calls: every
frame, HOG detection with one upsampling, 5-point landmarks, a descriptor for every face, and each face
compared with every reference. izde samples frames, tracks faces and embeds only a track's best shots.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from izde.config import MatchSettings, Settings
from izde.errors import EnrolmentRejected, InvalidInput
from izde.pipeline.run import run_source
from izde.pipeline.sources import FileSource, SourceKind, SourceSpec
from izde.pipeline.watcher import AlertEvent, Watcher
from izde.vision.batching import BatchingEmbedder
from izde.vision.dlib_backend import CHIP_PADDING, _resnet, _shape_predictor
from izde.vision.images import read_image_file
from izde.vision.protocols import Embedder
from izde.vision.stack import VisionStack, build_stack
from izde.vision.types import F32, Image
from izde.watchlist.enrol import ReferenceFace, reference_face
from izde.watchlist.fusion import UNIT_NETWORKS, MatchGallery, Space, dlib_gallery, match_gallery
from izde.watchlist.index import Gallery, Index


@dataclass
class RunFigures:
    name: str
    seconds: float
    frames: int  # frames of the video covered
    frames_analysed: int
    faces: int  # face detections analysed
    descriptors: int
    alerts: int  # baseline: frames with a match; izde: alerts raised
    persons: list[str] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


def build_gallery(references: list[Path], stack: VisionStack, settings: Settings) -> MatchGallery:
    """One person per reference photo (named by the file), in each of the stack's networks' spaces."""
    refs = [reference_face(read_image_file(p)[0], p.name, stack, settings.enrolment) for p in references]
    return _gallery(tuple(p.stem for p in references), refs, stack)


def _gallery(labels: tuple[str, ...], refs: list[ReferenceFace], stack: VisionStack) -> MatchGallery:
    owner = np.arange(len(labels), dtype=np.int32)
    spaces = tuple(
        Space(network, np.stack([r.descriptors[model] for r in refs]), owner, unit=network in UNIT_NETWORKS)
        for network, model in stack.template_models.items()
    )
    return match_gallery(labels, labels, spaces)


def watchlist_of(root: Path, people: int, stack: VisionStack, settings: Settings) -> MatchGallery:
    """Lin-Manuel Miranda, and ``people - 1`` others from LFW dev-train (each identity's first photo, in name
    order, skipping photos enrolment refuses): a watchlist as long as a deployment's, for what matching and
    the descriptor screening cost grows with."""
    lfw = root / "lfw-devtrain"
    if people > 1 and not lfw.is_dir():
        raise InvalidInput(f"{lfw} is missing", "a watchlist of more than one person draws on LFW dev-train")
    photos = [root / "video/hamilton/lin-manuel-miranda.png"]
    if people > 1:
        photos += [p for f in sorted(lfw.iterdir()) if (p := min(f.glob("*.jpg"), default=None)) is not None]
    labels: list[str] = []
    refs: list[ReferenceFace] = []
    for photo in photos:
        if len(refs) >= people:
            break
        try:
            refs.append(reference_face(read_image_file(photo)[0], photo.name, stack, settings.enrolment))
        except EnrolmentRejected:
            if not labels:
                raise  # Lin-Manuel Miranda's own reference photo must be enrolled
            continue
        labels.append(photo.stem)
    return _gallery(tuple(labels), refs, stack)


def run_baseline(video: Path, gallery: Gallery, threshold: float, max_frames: int | None = None) -> RunFigures:
    import dlib

    detector = dlib.get_frontal_face_detector()
    predictor, resnet = _shape_predictor(), _resnet()
    cap = cv2.VideoCapture(str(video))
    frames = faces = 0
    matched_frames = 0
    persons: set[str] = set()
    start = time.perf_counter()
    while max_frames is None or frames < max_frames:
        ok, bgr = cap.read()
        if not ok:
            break
        frames += 1
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        hit = False
        for rect in detector(rgb, 1):
            faces += 1
            shape = predictor(rgb, rect)
            d = np.asarray(resnet.compute_face_descriptor(rgb, shape, 1, CHIP_PADDING), np.float32)
            for cand in gallery.match(d, threshold):
                persons.add(cand.label)
                hit = True
        matched_frames += hit
    seconds = time.perf_counter() - start
    cap.release()
    return RunFigures("per-frame baseline", seconds, frames, frames, faces, faces, matched_frames, sorted(persons))


def run_izde(video: Path, gallery: Index, settings: Settings, stack: VisionStack) -> RunFigures:
    events: list[AlertEvent] = []
    source = FileSource(SourceSpec(SourceKind.FILE, str(video)))
    start = time.perf_counter()
    watcher = Watcher("bench", stack, gallery, settings.pipeline, settings.match, events.append, source.continuous)
    result = run_source(source, watcher, settings.pipeline.analysis_fps, threading.Event())
    seconds = time.perf_counter() - start
    c = result.counters
    return RunFigures(
        "izde pipeline",
        seconds,
        result.source.frames_read,
        c.frames_analysed,
        c.faces_seen,
        c.embeds,
        c.alerts,
        sorted({e.label for e in events}),
    )


def compare(
    video: Path,
    references: list[Path],
    settings: Settings,
    log: Callable[[str], None] = lambda _: None,
    detectors: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The baseline, then izde with its settings, then izde with each other detector in ``detectors``."""
    stack = build_stack(settings.vision)
    gallery = build_gallery(references, stack, settings)
    log("running the per-frame baseline (every frame, HOG upsample 1, a descriptor per face)...")
    # The baseline is dlib's per-frame matching, at dlib's default threshold whatever izde fuses.
    base = run_baseline(video, dlib_gallery(gallery), MatchSettings().threshold)
    variants = [settings] + [
        settings.model_copy(update={"vision": settings.vision.model_copy(update={"detector": d})})
        for d in detectors
        if d != settings.vision.detector
    ]
    runs = [base]
    for v in variants:
        log(f"running izde's pipeline ({v.vision.detector} detector, {v.vision.embedder} descriptor)...")
        ours = run_izde(video, gallery, v, build_stack(v.vision))
        ours.name = f"izde ({v.vision.detector} upsample {v.vision.detector_upsample}, {v.vision.embedder})"
        runs.append(ours)
    return {
        "video": str(video),
        "references": [p.name for p in references],
        "threshold": settings.match.threshold,
        "settings": {
            "embedder": settings.vision.embedder,
            "descriptors": list(settings.vision.descriptors),
            "upsample": settings.vision.detector_upsample,
            "analysis_fps": settings.pipeline.analysis_fps,
        },
        "runs": [dict(asdict(r), fps=r.fps) for r in runs],
        "speedup": runs[1].fps / base.fps if base.fps else None,
        "speedups": {r.name: r.fps / base.fps for r in runs[1:]} if base.fps else {},
    }


class _CountingEmbedder:
    """Counts the calls and faces reaching the embedder the cameras share."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name = inner, inner.name
        self.calls = self.chips = 0
        self._lock = threading.Lock()

    def embed(self, chips: Image) -> F32:
        with self._lock:
            self.calls += 1
            self.chips += len(chips)
        return self.inner.embed(chips)


def run_cameras(
    video: Path, gallery: Index, settings: Settings, stack: VisionStack, cameras: int, batching: bool
) -> dict[str, Any]:
    """``cameras`` watchers in threads, each on its own copy of the video, sharing one vision stack."""
    counting = _CountingEmbedder(stack.embedder)
    embedder: Embedder = BatchingEmbedder(counting) if batching else counting
    shared = stack.with_embedder(embedder)
    results: list[RunFigures | BaseException] = []

    def one(i: int) -> None:
        try:
            results.append(run_izde(video, gallery, settings, shared))
        except BaseException as e:  # reported below, so a failing camera cannot pass for a fast one
            results.append(e)

    threads = [threading.Thread(target=one, args=(i,), name=f"camera-{i}") for i in range(cameras)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        raise failures[0]
    runs = [r for r in results if isinstance(r, RunFigures)]
    return {
        "cameras": cameras,
        "batching": batching,
        "seconds": seconds,
        "frames": sum(r.frames for r in runs),
        "fps": sum(r.frames for r in runs) / seconds,
        "alerts": sum(r.alerts for r in runs),
        "faces": sum(r.faces for r in runs),
        "descriptors": counting.chips,
        "embedder_calls": counting.calls,
        "faces_per_call": counting.chips / counting.calls if counting.calls else 0.0,
    }


def compare_cameras(
    video: Path,
    references: list[Path],
    settings: Settings,
    cameras: int,
    log: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """For the full-frame path and the motion-gated path, side by side: one camera, then ``cameras`` cameras
    without and with descriptor batches merged across cameras, in one process."""
    from izde.eval.bench_gating import path_settings

    stack = build_stack(settings.vision)
    gallery = build_gallery(references, stack, settings)
    runs = []
    for path, s in path_settings(settings).items():
        for n, batching in ((1, False), (cameras, False), (cameras, True)):
            log(f"{path} path: {n} camera(s), descriptor batches {'merged' if batching else 'per camera'}...")
            cpu = time.process_time()
            run = run_cameras(video, gallery, s, stack, n, batching)
            run["cpu_s"] = time.process_time() - cpu
            runs.append({"path": path, **run})
    return {
        "video": str(video),
        "detector": f"{settings.vision.detector} upsample {settings.vision.detector_upsample}",
        "embedder": stack.embedder.name,
        "runs": runs,
    }
