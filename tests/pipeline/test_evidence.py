import cv2
import numpy as np

from izde.pipeline.evidence import blur_others, crop_region, others_in


def test_crop_region_is_clipped_to_the_image() -> None:
    assert crop_region(np.array([10, 10, 60, 60]), (100, 200, 3)) == (0, 0, 90, 90)


def test_others_in_returns_intersecting_boxes_in_crop_coordinates() -> None:
    boxes = np.array([[100, 100, 150, 150], [140, 120, 190, 170], [400, 400, 450, 450]], np.int32)
    region = crop_region(boxes[0], (600, 600, 3))
    got = others_in(region, boxes, skip=0)
    assert got.tolist() == [[140 - region[0], 120 - region[1], 190 - region[0], 170 - region[1]]]


def test_blur_destroys_detail_only_inside_other_faces() -> None:
    rng = np.random.default_rng(0)
    crop = rng.integers(0, 255, (200, 200, 3), dtype=np.uint8)
    out = blur_others(crop, np.array([[120, 120, 180, 180]], np.int32))
    grey_in = cv2.cvtColor(out[125:175, 125:175], cv2.COLOR_RGB2GRAY)
    before = cv2.Laplacian(cv2.cvtColor(crop[125:175, 125:175], cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()
    assert cv2.Laplacian(grey_in, cv2.CV_64F).var() < 0.05 * before
    assert np.array_equal(out[:100, :100], crop[:100, :100])
