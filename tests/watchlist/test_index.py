import numpy as np
import pytest

from izde.watchlist.index import Gallery, fuse


def unit(i: int, scale: float = 1.0) -> np.ndarray:
    v = np.zeros(128, np.float32)
    v[i] = scale
    return v


def test_person_distance_is_the_closest_of_their_templates() -> None:
    g = Gallery(("a", "b"), ("A", "B"), np.stack([unit(0), unit(1), unit(2)]), np.array([0, 1, 0], np.int32))
    d = g.person_distances(unit(2))[0]
    assert d[0] == pytest.approx(0.0, abs=1e-6)
    assert d[1] == pytest.approx(np.sqrt(2), abs=1e-6)


def test_match_orders_by_distance_and_respects_threshold() -> None:
    g = Gallery(("a", "b"), ("A", "B"), np.stack([unit(0), unit(0, 0.8)]), np.array([0, 1], np.int32))
    got = g.match(unit(0, 0.95), 0.2)
    assert [c.person_id for c in got] == ["a", "b"]
    assert got[0].distance == pytest.approx(0.05, abs=1e-6)
    assert g.match(unit(5), 0.5) == []


def test_empty_gallery_matches_nobody() -> None:
    assert Gallery.empty().match(unit(0), 1.0) == []


def test_gallery_validates_owner() -> None:
    with pytest.raises(ValueError, match="owner"):
        Gallery(("a",), ("A",), np.stack([unit(0)]), np.array([1], np.int32))


def test_fuse_is_the_mean() -> None:
    np.testing.assert_allclose(fuse(np.stack([unit(0), unit(1)])), (unit(0) + unit(1)) / 2)
