import numpy as np
import pytest

from izde.watchlist.index import Gallery, fuse, with_mean_templates


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


def test_mean_templates_are_added_for_people_with_several_photos() -> None:
    g = Gallery(("a", "b"), ("A", "B"), np.stack([unit(0), unit(1), unit(2)]), np.array([0, 0, 1], np.int32))
    m = with_mean_templates(g)
    assert len(m.templates) == 4 and m.owner.tolist() == [0, 0, 1, 0]
    np.testing.assert_allclose(m.templates[3], (unit(0) + unit(1)) / 2)
    # A probe halfway between a's photos is closest to a's mean template.
    assert m.person_distances((unit(0) + unit(1)) / 2)[0, 0] == pytest.approx(0.0, abs=1e-6)
    assert with_mean_templates(
        Gallery(("b",), ("B",), np.stack([unit(2)]), np.array([0], np.int32))
    ).templates.shape == (
        1,
        128,
    )
