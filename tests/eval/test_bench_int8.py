"""Matching INT8 MMOD boxes to the float model's."""

from __future__ import annotations

import pytest

from izde.eval.bench_int8 import compare_boxes
from izde.vision.types import Faces


def test_compare_boxes_matches_one_to_one_and_counts_the_rest() -> None:
    ref = Faces.from_boxes([[0, 0, 80, 80], [200, 0, 280, 80]], [1.0, 0.5])
    other = Faces.from_boxes([[4, 0, 84, 80], [2, 0, 82, 80], [400, 0, 480, 80]], [0.9, 0.8, 0.4])
    c = compare_boxes(ref, other)
    assert (c["reference"], c["found_again"], c["added"]) == (2, 1, 2)
    assert c["ious"] == [pytest.approx(78 / 82, rel=1e-4)]  # the closer of the two near boxes
    assert compare_boxes(ref, Faces.empty()) == {"reference": 2, "found_again": 0, "added": 0, "ious": []}
