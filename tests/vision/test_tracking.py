import numpy as np
import pytest

from izde.vision.tracking import Tracker, iou_matrix
from izde.vision.types import Faces


def boxes(*bs: tuple[int, int, int, int]) -> Faces:
    return Faces.from_boxes(list(bs), [1.0] * len(bs))


def test_iou_matrix_values() -> None:
    a = np.array([[0, 0, 10, 10]], np.int32)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], np.int32)
    np.testing.assert_allclose(iou_matrix(a, b)[0], [1.0, 50 / 150, 0.0], atol=1e-6)


def test_tracks_follow_moving_faces_and_keep_neighbours_apart() -> None:
    t = Tracker(max_gap_s=1.0)
    f, _ = t.update(boxes((0, 0, 100, 100), (300, 0, 400, 100)), 0.0)
    first = f.track_ids.tolist()
    # Both faces moved; the left one by more than half its width (no overlap left with IoU >= 0.2).
    f, closed = t.update(boxes((310, 10, 410, 110), (45, 0, 145, 100)), 0.2)
    assert closed == []
    assert f.track_ids.tolist() == [first[1], first[0]]


def test_track_closes_after_gap_and_new_face_gets_new_id() -> None:
    t = Tracker(max_gap_s=1.0)
    f, _ = t.update(boxes((0, 0, 100, 100)), 0.0)
    old = int(f.track_ids[0])
    f, closed = t.update(boxes((0, 0, 100, 100)), 1.5)
    assert closed == [old]
    assert int(f.track_ids[0]) != old


def test_far_face_of_different_size_is_a_new_track() -> None:
    t = Tracker()
    t.update(boxes((0, 0, 100, 100)), 0.0)
    f, _ = t.update(boxes((60, 0, 90, 30)), 0.2)
    assert int(f.track_ids[0]) == 2


@pytest.mark.parametrize(
    "kwargs",
    [
        {"boxes": np.zeros((2, 3), np.int32), "scores": np.zeros(2, np.float32)},
        {"boxes": np.zeros((2, 4), np.int32), "scores": np.zeros(3, np.float32)},
        {"boxes": np.zeros((1, 4), np.int32), "scores": np.zeros(1, np.float32), "quality": np.zeros(2, np.float32)},
        {
            "boxes": np.zeros((1, 4), np.int32),
            "scores": np.zeros(1, np.float32),
            "descriptors": np.zeros((1, 64), np.float32),
        },
    ],
)
def test_faces_rejects_mismatched_arrays(kwargs: dict[str, np.ndarray]) -> None:
    with pytest.raises(ValueError, match="Faces"):
        Faces(**kwargs)  # type: ignore[arg-type]


def test_a_carried_face_continues_its_own_track_and_counts_frames_since_detection() -> None:
    t = Tracker()
    f, _ = t.update(boxes((0, 0, 100, 100), (150, 0, 250, 100)), 0.0)
    left, right = f.track_ids.tolist()
    # The right face is carried onto a box that overlaps the left one's more than its own: it stays itself.
    f, _ = t.update(boxes((40, 0, 140, 100), (60, 0, 160, 100)), 0.2, np.array([-1, right], np.int32))
    assert f.track_ids.tolist() == [left, right]
    live = t.live(0.2)
    assert dict(zip(live.ids.tolist(), live.carried.tolist(), strict=True)) == {left: 0, right: 1}
    f, _ = t.update(boxes((62, 0, 162, 100)), 0.4, np.array([right], np.int32))
    assert t.live(0.4).carried[t.live(0.4).ids.tolist().index(right)] == 2
    # Found by the detector again: the count starts over.
    t.update(boxes((64, 0, 164, 100)), 0.6)
    assert t.live(0.6).carried[t.live(0.6).ids.tolist().index(right)] == 0


def test_carried_ids_must_match_the_faces() -> None:
    with pytest.raises(ValueError, match="carried track ids"):
        Tracker().update(boxes((0, 0, 10, 10)), 0.0, np.array([], np.int32))
