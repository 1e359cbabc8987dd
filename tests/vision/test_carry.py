"""Faces carried between analysed frames by optical flow, on real video: where the detector finds them next."""

from __future__ import annotations

import numpy as np
import pytest

from izde.vision.carry import carry, carry_one, grey
from izde.vision.dlib_backend import HogDetector
from izde.vision.tracking import iou_matrix
from tests.conftest import CROWD, HAMILTON, require_data
from tests.vision.realdata import sampled_frames


@pytest.mark.parametrize(
    ("clip", "every", "size"),
    [(HAMILTON / "short_hamilton_clip.mp4", 6, None), (CROWD / "crowd.mp4", 5, (1280, 720))],
    ids=["hamilton", "crowd-720p"],
)
def test_carried_faces_land_where_the_detector_finds_them_next(clip, every, size) -> None:  # type: ignore[no-untyped-def]
    # Consecutive analysed frames (5 a second), faces found by HOG in one carried onto the next.
    hog = HogDetector(1)
    prev = None
    overlaps: list[float] = []
    tried = carried = 0
    for image in sampled_frames(require_data(clip), every, size):
        found = hog.detect(image).boxes
        cur = grey(image)
        if prev is not None and len(prev[1]):
            moved = carry(prev[0], cur, prev[1])
            tried += len(prev[1])
            carried += int(moved.ok.sum())
            if moved.ok.any() and len(found):
                overlaps += iou_matrix(moved.boxes[moved.ok], found).max(axis=1).tolist()
        prev = (cur, found)
    assert tried >= 15
    assert carried >= 0.8 * tried  # most faces are carried; the rest would be searched for
    # Where the detector finds the face next (some carried faces it misses there: IoU 0 for those).
    assert np.median(overlaps) >= 0.7
    assert np.mean(np.array(overlaps) >= 0.5) >= 0.85


def test_a_face_that_is_gone_is_not_carried() -> None:
    frames = list(sampled_frames(require_data(HAMILTON / "short_hamilton_clip.mp4"), 6))
    image = frames[24]
    box = HogDetector(1).detect(image).boxes[0]
    # The next picture is another scene entirely: the crowd clip at the same size.
    other = next(sampled_frames(require_data(CROWD / "crowd.mp4"), 1, (image.shape[1], image.shape[0])))
    assert carry_one(grey(image), grey(other), box) is None
    # A uniform picture has nothing to follow.
    assert carry_one(grey(image), np.full_like(grey(image), 128), box) is None
    # The same picture: carried in place.
    same = carry_one(grey(image), grey(image), box)
    assert same is not None and iou_matrix(same[None], box[None])[0, 0] > 0.95


def test_a_face_carried_out_of_the_picture_is_dropped() -> None:
    image = next(sampled_frames(require_data(HAMILTON / "short_hamilton_clip.mp4"), 6))
    g = grey(image)
    w = g.shape[1]
    # The whole picture shifted left by 40 px: a face at the left edge leaves it.
    shifted = np.zeros_like(g)
    shifted[:, : w - 40] = g[:, 40:]
    assert carry_one(g, shifted, np.array([5, 100, 65, 160], np.int32)) is None
    inside = carry_one(g, shifted, np.array([300, 100, 360, 160], np.int32))
    if inside is not None:  # where the flow holds, the box moved 40 px left
        assert abs(int(inside[0]) - 260) <= 3
