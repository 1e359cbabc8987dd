"""BlazeFace on real frames: the faces dlib's HOG finds, boxes landmarks can align, large faces, bad input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from izde.config import Settings
from izde.vision.blazeface import BlazefaceDetector, anchors, padded_size
from izde.vision.dlib_backend import HogDetector
from izde.vision.images import decode_image
from izde.vision.stack import build_stack
from izde.vision.tracking import iou_matrix
from tests.conftest import CROWD, HAMILTON, require_data
from tests.vision.faceres_helpers import require_blazeface
from tests.vision.realdata import sampled_frames


@pytest.fixture(scope="module")
def detector() -> BlazefaceDetector:
    require_blazeface()
    return BlazefaceDetector()


def test_anchor_grid_follows_the_input_size() -> None:
    assert anchors(256, 256).shape == (896, 2)  # the network's own input: 16x16x2 + 8x8x6
    assert anchors(192, 320).shape == (12 * 20 * 2 + 6 * 10 * 6, 2)
    assert anchors(256, 256)[:3].tolist() == [[8.0, 8.0], [8.0, 8.0], [24.0, 8.0]]
    assert padded_size(360, 640) == (384, 640) and padded_size(1, 33) == (32, 64)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("clip", "every", "size"),
    [(HAMILTON / "short_hamilton_clip.mp4", 3, None), (CROWD / "crowd.mp4", 2, (1280, 720))],
    ids=["hamilton", "crowd-720p"],
)
def test_finds_the_faces_hog_finds_and_more(detector: BlazefaceDetector, clip, every, size) -> None:  # type: ignore[no-untyped-def]
    hog = HogDetector(1)
    hog_faces = found = total = 0
    for image in sampled_frames(require_data(clip), every, size):
        h, b = hog.detect(image).boxes, detector.detect(image).boxes
        hog_faces += len(h)
        total += len(b)
        if len(h) and len(b):
            found += int((iou_matrix(h, b).max(axis=1) >= 0.3).sum())
    assert hog_faces >= 40
    assert found >= 0.85 * hog_faces  # measured at min score 0.7: 89% on each clip
    assert total > hog_faces  # faces turned down or aside, which HOG's frontal model misses


def test_boxes_align_faces_as_hog_boxes_do(detector: BlazefaceDetector) -> None:
    # The same face through each detector's box, then dlib's landmarks and descriptor: nearly the same descriptor
    # (a distance of 0.49 separates people).
    stack = build_stack(Settings().vision)
    for name in ("lin-manuel-miranda.png", "obama.jpg", "biden.jpg"):
        image = decode_image(require_data(HAMILTON / name).read_bytes())
        h, b = HogDetector(1).detect(image), detector.detect(image)
        assert len(h) == len(b) == 1, name
        assert iou_matrix(h.boxes, b.boxes)[0, 0] > 0.6
        dh = stack.embedder.embed(stack.align(image, h).chips)
        db = stack.embedder.embed(stack.align(image, b).chips)
        assert np.linalg.norm(dh - db) < 0.1, name


def test_a_face_filling_the_frame_is_found_once(detector: BlazefaceDetector) -> None:
    # A reference photo enlarged so the face is ~600 px wide: too large at scale 0.5, found by the whole-image pass.
    image = decode_image(require_data(HAMILTON / "obama.jpg").read_bytes())
    base = detector.detect(image)
    big = np.asarray(cv2.resize(image, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC), np.uint8)
    found = detector.detect(big)
    assert len(found) == 1 and found.widths()[0] > 2.5 * base.widths()[0]
    assert iou_matrix(found.boxes, base.boxes * 3)[0, 0] > 0.7


def test_pictures_without_faces_and_tiny_pictures(detector: BlazefaceDetector) -> None:
    assert len(detector.detect(np.zeros((360, 640, 3), np.uint8))) == 0
    assert len(detector.detect(np.full((7, 5, 3), 128, np.uint8))) == 0
    with pytest.raises(ValueError, match="scale"):
        BlazefaceDetector(scale=0.0)
    with pytest.raises(ValueError, match="threshold"):
        BlazefaceDetector(threshold=1.5)
