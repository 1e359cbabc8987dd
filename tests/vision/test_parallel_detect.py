"""One frame's face detection on several threads finds what one thread finds, on real frames; the pool stops."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from izde.cli.watch import one_source
from izde.config import Settings, VisionSettings
from izde.errors import InvalidInput
from izde.eval.bench_gating import variant
from izde.vision.dlib_backend import DlibAligner, DlibEmbedder, HogDetector
from izde.vision.hog_levels import level_cuts
from izde.vision.parallel import MIN_SPLIT_PX, DetectPool, detect_pool
from izde.vision.regions import RegionPlan, detect_in_regions, whole
from izde.vision.stack import VisionStack
from izde.vision.tracking import iou_matrix
from izde.vision.types import Faces, Image
from tests.conftest import CROWD, HAMILTON, require_data
from tests.vision.realdata import video_frames


def _crowd(size: tuple[int, int] | None) -> list[Image]:
    frames = video_frames(require_data(CROWD / "crowd.mp4"), [0, 40, 90])
    return [cv2.resize(f, size, interpolation=cv2.INTER_AREA) if size else f for f in frames]


def _assert_same(one: Faces, two: Faces) -> None:
    assert len(two) == len(one)
    if len(one):
        assert iou_matrix(one.boxes, two.boxes).max(axis=1).min() >= 0.9
    # Stronger than the overlap: the jobs scan the very levels one run scans.
    assert two.boxes.tolist() == one.boxes.tolist()
    np.testing.assert_allclose(two.scores, one.scores, rtol=0, atol=1e-6)


@pytest.fixture(scope="module")
def pool() -> Iterator[DetectPool]:
    p = DetectPool(2)
    yield p
    assert p.close()


@pytest.mark.slow
@pytest.mark.parametrize("clip", ["crowd 1280x720", "crowd 1920x1080", "hamilton 640x360"])
def test_a_whole_frame_on_two_threads_finds_the_same_faces(clip: str, pool: DetectPool) -> None:
    if clip.startswith("crowd"):
        frames = _crowd((1280, 720) if "720" in clip else None)
    else:
        frames = video_frames(require_data(HAMILTON / "short_hamilton_clip.mp4"), [0, 40, 80, 144, 250])
    hog, found = HogDetector(1), 0
    for frame in frames:
        plan = whole(frame.shape, "due")
        one = detect_in_regions(hog, frame, plan)
        _assert_same(one, detect_in_regions(hog, frame, plan, pool=pool))
        found += len(one)
    assert found >= 2  # faces to compare, not empty frames


@pytest.mark.slow
def test_regions_on_two_threads_find_the_same_faces(pool: DetectPool) -> None:
    hog, coarse = HogDetector(1), HogDetector(0)
    for frame in _crowd((1280, 720)):
        # A region large enough to be cut into jobs, two small ones beside it, one searched coarsely.
        regions = np.array([[0, 300, 700, 720], [690, 380, 900, 560], [1000, 400, 1180, 600]], np.int32)
        assert (700 * 420) >= MIN_SPLIT_PX > 210 * 180
        plan = RegionPlan(regions, False, "regions", np.array([[600, 0, 1280, 720]], np.int32))
        _assert_same(detect_in_regions(hog, frame, plan, coarse), detect_in_regions(hog, frame, plan, coarse, pool))


def test_levels_are_cut_so_each_job_scans_about_as_much() -> None:
    assert level_cuts(1) == ()
    assert level_cuts(2) == (2,)  # levels 0-1 hold 52% of the pixels
    assert level_cuts(3) == (1, 3)
    cuts = level_cuts(64)
    assert list(cuts) == sorted(set(cuts)) and cuts[0] >= 1


def _stack(threads: int) -> VisionStack:
    return VisionStack(HogDetector(1), DlibAligner(), DlibEmbedder(), pool=detect_pool(threads))


def test_closing_the_stack_stops_its_threads_within_the_bound() -> None:
    frame = _crowd((1280, 720))[1]
    stack = _stack(2)
    assert stack.pool is not None
    assert stack.pool.alive == 0  # nothing started before the first detection
    stack.analyse(frame)
    assert stack.pool.alive == 2
    started = time.monotonic()
    assert stack.close()
    assert time.monotonic() - started < 1.0
    assert stack.pool.alive == 0
    with pytest.raises(RuntimeError, match="closed"):
        stack.analyse(frame)
    assert _stack(1).pool is None and _stack(1).close()


def test_closing_during_a_detection_waits_no_longer_than_its_timeout() -> None:
    frame = _crowd(None)[1]  # 1080p: a detection takes a good part of a second
    pool = DetectPool(2)
    errors: list[BaseException] = []

    def detect_until_closed() -> None:
        try:
            while True:
                detect_in_regions(HogDetector(1), frame, whole(frame.shape, "due"), pool=pool)
        except RuntimeError as e:  # the pool closed between two frames
            errors.append(e)

    caller = threading.Thread(target=detect_until_closed)
    caller.start()
    while pool.alive < 2:
        time.sleep(0.01)
    started = time.monotonic()
    pool.close(timeout_s=3.0)
    assert time.monotonic() - started < 3.5
    caller.join(5.0)
    assert not caller.is_alive() and pool.alive == 0
    assert errors


def test_threads_setting() -> None:
    assert VisionSettings().threads == 1
    with pytest.raises(ValidationError):
        VisionSettings(threads=-1)
    assert detect_pool(1) is None
    every = detect_pool(0)
    cores = len(os.sched_getaffinity(0))
    assert (every.threads if every else 1) == cores
    with pytest.raises(ValueError, match="at least 2"):
        DetectPool(1)


def test_watch_of_one_source_spreads_over_the_cores_unless_told_otherwise() -> None:
    # dlib's detectors cut one frame's search into jobs for every core; BlazeFace's frames run side by side.
    hog = VisionSettings(detector="hog")
    assert one_source(Settings(vision=hog)).vision.threads == 0
    assert one_source(Settings()).vision.threads == 1
    assert one_source(Settings(vision=VisionSettings(detector="hog", threads=1))).vision.threads == 1
    assert one_source(Settings(vision=VisionSettings(threads=3))).vision.threads == 3
    # ... and describes each frame's shots while the next is detected, unless told otherwise.
    assert one_source(Settings()).pipeline.describe_ahead and not Settings().pipeline.describe_ahead
    assert not one_source(Settings(pipeline={"describe_ahead": False})).pipeline.describe_ahead
    # ... and detects the next frames of a busy picture side by side, unless told otherwise.
    assert one_source(Settings()).pipeline.detect_ahead and not Settings().pipeline.detect_ahead
    assert not one_source(Settings(pipeline={"detect_ahead": False})).pipeline.detect_ahead


def test_bench_variants_change_vision_settings_too() -> None:
    s = variant(Settings(), "threads=2,search_every=2")
    assert (s.vision.threads, s.pipeline.search_every) == (2, 2)
    with pytest.raises(InvalidInput, match="unknown setting"):
        variant(Settings(), "no_such_key=1")
    with pytest.raises(InvalidInput, match="invalid settings"):
        variant(Settings(), "threads=-1")
    # Match settings too, 'null' for none; the fused default threshold is kept.
    m = variant(Settings(), "screen_margin=null").match
    assert (m.screen_margin, m.threshold) == (None, Settings().match.threshold)
    assert variant(Settings(), "screen_margin=0.3").match.screen_margin == 0.3
