"""Matching by the fused score: probes laid out network by network, distances in dlib's units, the default
threshold's basis, and galleries that travel to fleet workers with every network's space."""

from __future__ import annotations

import json

import numpy as np
import pytest

from izde.config import FUSED_THRESHOLD, MatchSettings
from izde.fleet.messages import GalleryReply
from izde.watchlist.fusion import CALIBRATION, FusedGallery, Space, dlib_gallery, load_fusion, match_gallery
from izde.watchlist.index import Gallery


def unit(v: np.ndarray) -> np.ndarray:
    return np.asarray(v / np.linalg.norm(v, axis=-1, keepdims=True), np.float32)


@pytest.fixture
def fused() -> FusedGallery:
    rng = np.random.default_rng(0)
    owner = np.array([0, 1, 1], np.int32)
    dlib = Space("dlib", rng.normal(0, 0.1, (3, 128)).astype(np.float32), owner)
    faceres = Space("faceres", unit(rng.normal(size=(3, 1024))), owner, unit=True)
    g = match_gallery(("p0", "p1"), ("P0", "P1"), (dlib, faceres))
    assert isinstance(g, FusedGallery)
    return g


def test_fused_distances_are_in_dlibs_units() -> None:
    fusion = load_fusion()
    n = fusion.normalisers["dlib"]
    # dlib's own distance maps to itself: the scale is dlib's impostor mean and spread.
    assert fusion.in_units(n((0.3, 0.5, 0.8))) == pytest.approx([0.3, 0.5, 0.8])


def test_the_default_threshold_keeps_dlibs_fpir_for_every_measured_gallery_size() -> None:
    """0.486 is at or below each fused threshold that gives dlib's FPIR at 0.50 (docs/evaluation/fusion)."""
    fusion = load_fusion()
    doc = json.loads((CALIBRATION.parents[3] / "docs/evaluation/fusion/fusion.json").read_text())
    at = [row["at_dlib_default_fpir"] for row in doc["identification"]]
    assert [a["dlib"]["threshold"] for a in at] == [MatchSettings().threshold] * 3
    equal_fpir = [float(fusion.in_units(a["fused"]["threshold"])) for a in at]
    assert FUSED_THRESHOLD <= min(equal_fpir) < FUSED_THRESHOLD + 0.001
    assert [round(t, 3) for t in equal_fpir] == [0.486, 0.495, 0.488]


def test_a_probe_matches_its_own_templates_in_every_space(fused: FusedGallery) -> None:
    d, f = fused.spaces
    probe = np.concatenate([d.templates[2], f.templates[2] * 0.7])  # a mean of unit vectors is shorter
    (best, *_) = fused.match(probe, 10.0)
    assert best.person_id == "p1" and best.distance < 0.0  # far closer than any impostor
    assert fused.match(probe, -10.0) == []
    with pytest.raises(ValueError, match="1152 values, got 128"):
        fused.match(d.templates[0], 0.5)


def test_a_person_missing_from_one_space_cannot_match(fused: FusedGallery) -> None:
    d, f = fused.spaces
    only_p1 = Space("faceres", f.templates[1:], f.owner[1:], unit=True)
    g = FusedGallery(fused.person_ids, fused.labels, (d, only_p1), fused.fusion)
    probe = np.concatenate([d.templates[0], f.templates[0]])
    assert [c.person_id for c in g.match(probe, 10.0)] == ["p1"]


def test_a_gallery_reply_carries_every_space(fused: FusedGallery) -> None:
    back = GalleryReply.decode(GalleryReply.of(fused, "h").encode()).gallery()
    assert isinstance(back, FusedGallery) and back.networks == ("dlib", "faceres")
    assert back.person_ids == fused.person_ids
    for a, b in zip(back.spaces, fused.spaces, strict=True):
        assert (a.network, a.unit) == (b.network, b.unit)
        np.testing.assert_array_equal(a.templates, b.templates)
        np.testing.assert_array_equal(a.owner, b.owner)
    dlib_only = dlib_gallery(fused)
    again = GalleryReply.decode(GalleryReply.of(dlib_only, "h").encode()).gallery()
    assert isinstance(again, Gallery) and again.networks == ("dlib",)
    np.testing.assert_array_equal(again.templates, dlib_only.templates)
    refused = GalleryReply.decode(GalleryReply.refused("not your session").encode())
    assert refused.error == "not your session" and len(refused.gallery()) == 0
