"""Motion stage, region planning and detection inside regions, on real frames where a picture is needed."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from izde.config import PipelineSettings
from izde.pipeline.gating import Gate
from izde.vision.dlib_backend import HogDetector
from izde.vision.motion import BackgroundSubtraction, FrameDifference, Motion, build_motion
from izde.vision.regions import (
    RegionPlan,
    covered,
    dedupe,
    detect_in_regions,
    merge_boxes,
    pad_boxes,
    plan_regions,
    track_regions,
    whole,
)
from izde.vision.tracking import Tracker, iou_matrix
from izde.vision.types import Faces
from tests.conftest import CROWD, HAMILTON, require_data
from tests.vision.realdata import video_frames

SHAPE = (360, 640, 3)


@pytest.mark.parametrize(
    ("boxes", "expected"),
    [
        ([[0, 0, 10, 10], [2, 2, 12, 12]], [[0, 0, 12, 12]]),  # mostly overlapping: the union costs less
        ([[0, 0, 10, 10], [5, 5, 15, 15]], [[0, 0, 10, 10], [5, 5, 15, 15]]),  # the union would cost more
        ([[0, 0, 10, 10], [20, 0, 30, 10]], [[0, 0, 10, 10], [20, 0, 30, 10]]),  # a gap: apart
        ([[0, 0, 10, 10], [10, 0, 20, 10]], [[0, 0, 20, 10]]),  # touching side by side: one box, same cost
        ([[0, 0, 100, 100], [99, 99, 200, 200]], [[0, 0, 100, 100], [99, 99, 200, 200]]),  # corners: no snowball
        ([[0, 0, 10, 10], [2, 2, 4, 4]], [[0, 0, 10, 10]]),  # inside
        ([[5, 5, 5, 9]], []),  # empty box dropped
    ],
)
def test_merge_boxes(boxes: list[list[int]], expected: list[list[int]]) -> None:
    assert merge_boxes(np.array(boxes)).tolist() == expected


def _merge_pairwise(boxes: np.ndarray) -> list[list[int]]:
    """The merge rule written out pair by pair, as a reference for the vectorised one."""

    def area(b: list[int]) -> int:
        return max(0, b[2] - b[0]) * max(0, b[3] - b[1])

    out = [list(b) for b in boxes.tolist() if b[2] > b[0] and b[3] > b[1]]
    merged = True
    while merged and len(out) > 1:
        merged = False
        i = 0
        while i < len(out):
            j = i + 1
            while j < len(out):
                a, b = out[i], out[j]
                union = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                if area(union) <= area(a) + area(b):
                    out[i] = union
                    del out[j]
                    merged = True
                else:
                    j += 1
            i += 1
    return out


@pytest.mark.parametrize("seed", range(40))
def test_merge_boxes_joins_as_the_pairwise_rule_does(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 120))
    xy = rng.integers(0, 600, (n, 2))
    boxes = np.concatenate([xy, xy + rng.integers(-5, 90, (n, 2))], axis=1)
    assert merge_boxes(boxes).tolist() == _merge_pairwise(boxes)


@pytest.mark.parametrize("seed", range(20))
def test_covered_never_exceeds_the_union_and_decides_like_merging(seed: int) -> None:
    rng = np.random.default_rng(seed)
    xy = rng.integers(0, 620, (int(rng.integers(1, 200)), 2))
    boxes = np.concatenate([xy, xy + rng.integers(1, 120, xy.shape)], axis=1)
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, 640)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, 360)
    mask = np.zeros(SHAPE[:2], bool)
    for x0, y0, x1, y1 in boxes.tolist():
        mask[y0:y1, x0:x1] = True
    assert covered(boxes, SHAPE) <= mask.sum()
    assert covered(boxes, SHAPE, cell=1) == mask.sum()
    # The shortcut only skips merging: the plan is the one the merged regions give.
    none = np.zeros((0, 4), np.int32)
    plan = plan_regions(SHAPE, boxes, none, 0, 0.6, 1)
    merged = RegionPlan(merge_boxes(boxes), False, "regions")
    assert plan.full == (merged.pixels() > 0.6 * 640 * 360)


def test_pad_and_track_regions_stay_inside_the_frame() -> None:
    assert pad_boxes(np.array([[5, 5, 50, 50]]), 10, SHAPE).tolist() == [[0, 0, 60, 60]]
    assert pad_boxes(np.array([[600, 300, 640, 360]]), 10, SHAPE).tolist() == [[590, 290, 640, 360]]
    # 0.75 face widths on each side of a 40 px face
    assert track_regions(np.array([[100, 100, 140, 140]]), 0.75, SHAPE).tolist() == [[70, 70, 170, 170]]
    assert track_regions(np.zeros((0, 4), np.int32), 0.75, SHAPE).shape == (0, 4)


def test_plan_searches_the_whole_frame_when_regions_would_cover_too_much() -> None:
    none = np.zeros((0, 4), np.int32)
    idle = plan_regions(SHAPE, none, none, 10, 0.6, 80)
    assert (idle.full, idle.reason, idle.pixels()) == (False, "idle", 0)
    small = plan_regions(SHAPE, np.array([[300, 100, 310, 110]]), none, 10, 0.6, 80)
    assert not small.full and small.regions.tolist() == [[265, 65, 345, 145]]  # grown to the 80 px minimum
    big = plan_regions(SHAPE, np.array([[0, 0, 600, 300]]), none, 10, 0.6, 80)
    assert big.full and big.reason == "area" and big.pixels() == 640 * 360
    assert whole(SHAPE, "due").regions.tolist() == [[0, 0, 640, 360]]


def test_dedupe_keeps_the_best_of_a_face_found_twice() -> None:
    faces = Faces.from_boxes([[0, 0, 40, 40], [2, 2, 42, 42], [100, 100, 140, 140]], [0.3, 0.9, 0.5])
    kept = dedupe(faces)
    assert kept.boxes.tolist() == [[2, 2, 42, 42], [100, 100, 140, 140]]


def test_motion_on_real_video_a_still_picture_and_a_cut() -> None:
    a, b = video_frames(require_data(HAMILTON / "short_hamilton_clip.mp4"), [96, 102])
    for stage in (FrameDifference(), BackgroundSubtraction()):
        first = stage.update(a)
        assert first.changed == 1.0 and first.boxes.tolist() == [[0, 0, 640, 360]]
        still = stage.update(a.copy())
        assert still.changed == 0.0 and len(still.boxes) == 0
    diff = FrameDifference()
    diff.update(a)
    moved = diff.update(b)
    assert 0.0 < moved.changed < 0.5 and len(moved.boxes) > 0
    assert (moved.boxes[:, :2] >= 0).all() and (moved.boxes[:, 2] <= 640).all() and (moved.boxes[:, 3] <= 360).all()
    (crowd,) = video_frames(require_data(CROWD / "crowd.mp4"), [0])
    cut = diff.update(cv2.resize(crowd, (640, 360), interpolation=cv2.INTER_AREA))
    assert cut.changed > 0.3  # a camera cut changes most of the picture
    assert build_motion("off") is None and build_motion("diff").name == "diff" and build_motion("mog2").name == "mog2"
    with pytest.raises(ValueError):
        Motion(np.zeros((0, 4), np.int32), 1.5)


def test_regions_around_a_face_find_it_where_the_whole_frame_does() -> None:
    frames = video_frames(require_data(HAMILTON / "short_hamilton_clip.mp4"), [96, 144, 192])
    hog = HogDetector(1)
    for frame in frames:
        full = hog.detect(frame)
        assert len(full) == 1
        region = track_regions(full.boxes, 0.75, frame.shape)
        found = detect_in_regions(hog, frame, RegionPlan(region, False, "regions"))
        # The same face; the box may shift by a few pixels, as the crop's image pyramid is not the frame's.
        assert len(found) == 1 and iou_matrix(found.boxes, full.boxes)[0, 0] > 0.6
        # A region elsewhere finds nothing; the whole frame through a plan is the detector's own answer.
        elsewhere = detect_in_regions(hog, frame, RegionPlan(np.array([[500, 250, 640, 360]]), False, "regions"))
        assert len(elsewhere) == 0
        assert detect_in_regions(hog, frame, whole(frame.shape, "due")).boxes.tolist() == full.boxes.tolist()


def test_gate_searches_whole_frames_on_schedule_and_after_a_cut() -> None:
    (frame,) = video_frames(require_data(HAMILTON / "short_hamilton_clip.mp4"), [144])
    (crowd,) = video_frames(require_data(CROWD / "crowd.mp4"), [0])
    cut = cv2.resize(crowd, (640, 360), interpolation=cv2.INTER_AREA)
    gate = Gate(PipelineSettings(full_scan_s=2.0), FrameDifference())
    none = np.zeros((0, 4), np.int32)
    reasons = [gate.plan(frame, t / 5, none).reason for t in range(12)]  # 2.4 s of a still picture, 5 fps
    assert reasons == ["first"] + ["idle"] * 9 + ["due", "idle"]
    tracked = np.array([[200, 50, 260, 110]])
    around = gate.plan(frame, 2.4, tracked)
    assert not around.full and len(around.regions) == 1 and around.pixels() < 0.1 * 640 * 360
    large = np.array([[200, 50, 330, 180]])  # 130 px: searched with one upsampling less, if one is at hand
    assert Gate(PipelineSettings(), FrameDifference()).plan(frame, 0.0, large).full
    plain, coarse = Gate(PipelineSettings(), FrameDifference()), Gate(PipelineSettings(), FrameDifference(), True)
    for g in (plain, coarse):
        g.plan(frame, 0.0, none)
    assert len(plain.plan(frame, 0.2, large).regions) == 1
    big = coarse.plan(frame, 0.2, large)
    assert len(big.regions) == 0 and len(big.coarse) == 1 and big.reason == "regions" and not big.empty()
    (r,) = track_regions(large, 0.75, frame.shape).tolist()
    assert big.coarse.tolist() == [r] and big.pixels() == (r[2] - r[0]) * (r[3] - r[1]) // 4  # a quarter
    assert gate.plan(cut, 2.6, none).reason == "cut"  # every face must be found again
    assert gate.plan(frame, 0.0, none).reason == "due"  # a source that went back in time


def test_full_scans_grow_rare_while_they_find_nothing_new_and_frequent_when_they_do() -> None:
    (frame,) = video_frames(require_data(HAMILTON / "short_hamilton_clip.mp4"), [144])
    gate = Gate(PipelineSettings(full_scan_s=2.0, full_scan_max_s=8.0), FrameDifference())
    none = np.zeros((0, 4), np.int32)

    def scans(g: Gate, from_s: float, to_s: float, new_faces: int) -> list[float]:
        """Times of the full scans on a still picture at 5 frames/s, each finding ``new_faces`` untracked faces."""
        out = []
        for t in range(round(from_s * 5), round(to_s * 5)):
            plan = g.plan(frame, t / 5, none)
            g.scanned(plan, new_faces)
            out += [t / 5] if plan.full else []
        return out

    # Each due scan that finds nothing new doubles the wait: 2, 4, then 8 s (the cap).
    assert scans(gate, 0.0, 24.0, 0) == [0.0, 2.0, 6.0, 14.0, 22.0]
    # A due scan that finds a face the gating had missed brings them back to every 2 s.
    assert scans(gate, 24.0, 32.2, 1) == [30.0, 32.0]
    # Only scans due by time adapt: the first one, cuts and busy frames say nothing about what gating misses.
    first = Gate(PipelineSettings(full_scan_s=2.0), FrameDifference())
    plan = first.plan(frame, 0.0, none)
    first.scanned(plan, 0)
    assert [first.plan(frame, t / 5, none).reason for t in range(1, 11)][-1] == "due"  # still due at 2 s
    fixed = Gate(PipelineSettings(full_scan_s=2.0, full_scan_max_s=2.0), FrameDifference())
    assert scans(fixed, 0.0, 8.2, 0) == [0.0, 2.0, 4.0, 6.0, 8.0]


def test_gate_keeps_motion_for_the_next_search_when_searching_every_other_frame() -> None:
    a, b, c = video_frames(require_data(HAMILTON / "short_hamilton_clip.mp4"), [96, 102, 108])
    gate = Gate(PipelineSettings(search_every=2), FrameDifference())
    none = np.zeros((0, 4), np.int32)
    assert gate.plan(a, 0.0, none).reason == "first"
    assert gate.plan(b, 0.2, none).reason == "idle"  # moved, but the search is on the next frame
    assert gate.plan(c, 0.4, none).reason in ("regions", "area")


def test_tracker_predicts_at_constant_velocity() -> None:
    tracker = Tracker(max_gap_s=1.0)
    tracker.update(Faces.from_boxes([[100, 100, 140, 140]], [1.0]), 0.0)
    tracker.update(Faces.from_boxes([[110, 100, 150, 140]], [1.0]), 0.2)
    assert tracker.predict(0.4).tolist() == [[120, 100, 160, 140]]
    assert tracker.predict(5.0).tolist() == [[160, 100, 200, 140]]  # extrapolated for at most max_gap_s


def test_a_busy_frame_gets_a_coarse_pass_and_its_tracks_at_full_resolution() -> None:
    frames = video_frames(require_data(CROWD / "crowd.mp4"), [0, 5])
    small = [cv2.resize(f, (1280, 720), interpolation=cv2.INTER_AREA) for f in frames]
    tracked = np.array([[600, 200, 650, 250]])
    plans = []
    for busy in ("full", "coarse"):
        gate = Gate(PipelineSettings(busy_scan=busy, motion_max_area=0.05), FrameDifference(), coarse=True)
        gate.plan(small[0], 0.0, tracked)
        plans.append(gate.plan(small[1], 0.2, tracked))
    assert plans[0].full and plans[0].reason == "area"
    assert not plans[1].full and plans[1].reason == "busy"
    # Looking ahead, the gate tells from the same motion which of these frames will be searched whole.
    diff = FrameDifference()
    diff.update(small[0])
    moved = diff.update(small[1])
    guesses = []
    for busy in ("full", "coarse"):
        gate = Gate(PipelineSettings(busy_scan=busy, motion_max_area=0.05), FrameDifference(), coarse=True)
        guesses.append(gate.moves_everywhere(moved, small[1].shape))
    assert guesses == [True, False]
    assert plans[1].coarse.tolist() == [[0, 0, 1280, 720]]
    assert plans[1].regions.tolist() == track_regions(tracked, 0.75, small[0].shape).tolist()
    # Through the detectors: the coarse pass's faces and the track region's, each face once.
    hog = HogDetector(1)
    found = detect_in_regions(hog, small[1], plans[1], HogDetector(0))
    assert len(found) >= len(HogDetector(0).detect(small[1]))
    assert len(dedupe(found)) == len(found)
