"""Dataset parsing, calibration arithmetic, the FAISS index and probe degradation, without real data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from izde.errors import InvalidInput
from izde.eval import calibration
from izde.eval.datasets import load_identities, read_group_labels, read_pairs
from izde.eval.embed import Variant, degrade
from izde.watchlist.faiss_index import FaissGallery, build_index
from izde.watchlist.fusion import FusedGallery, Fusion, Normaliser, Space
from izde.watchlist.index import Gallery


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_pairs_and_identities(tmp_path: Path) -> None:
    for name, n in (("Ann", 2), ("Bob", 1)):
        for i in range(1, n + 1):
            _touch(tmp_path / name / f"{name}_{i:04d}.jpg")
    (tmp_path / "pairsDevTrain.txt").write_text("2\nAnn\t1\t2\nAnn\t1\tBob\t1\n")
    pairs = read_pairs(tmp_path)
    assert [p.same for p in pairs] == [True, False]
    assert pairs[1].b == tmp_path / "Bob" / "Bob_0001.jpg"
    ids = load_identities(tmp_path)
    assert ids.names == ("Ann", "Bob") and ids.n_images == 3
    (tmp_path / "labels.csv").write_text("path,group\nAnn,old\nBob/Bob_0001.jpg,new\n")
    assert read_group_labels(tmp_path / "labels.csv") == {"Ann": "old", "Bob/Bob_0001.jpg": "new"}


def test_missing_dataset_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="does not exist") as e:
        load_identities(tmp_path / "nowhere")
    assert e.value.hint and "--data" in e.value.hint
    (tmp_path / "pairs.txt").write_text("1\nAnn\t1\t2\n")
    with pytest.raises(InvalidInput, match="missing"):
        read_pairs(tmp_path)


def test_calibration_arithmetic(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    # Two tight identities far apart: genuine distances small, impostor distances near 1.
    centres = rng.standard_normal((40, 128)).astype(np.float32)
    centres *= 0.6 / np.linalg.norm(centres, axis=1, keepdims=True)
    x = np.repeat(centres, 3, axis=0) + 0.01 * rng.standard_normal((120, 128)).astype(np.float32)
    identity = np.repeat(np.arange(40), 3)
    cal = calibration.build(x, identity, {10: np.array([0.5, 0.9])}, {"dataset": "synthetic"})
    path = tmp_path / "cal.json"
    calibration.write(cal, path)
    assert path.stat().st_size < 20_000
    c, source = calibration.load(path)
    assert source == str(path)
    assert sum(cal["impostor"]["counts"]) + cal["impostor"]["above"] == 40 * 39 // 2 * 9
    assert sum(cal["genuine"]["counts"]) == 40 * 3
    assert c.genuine_rate(0.2) == pytest.approx(1.0)
    p = c.impostor_rate(0.85)
    assert 0 < p < 1
    assert c.false_alerts(0.85, 1) == pytest.approx(10_000 * p)
    assert c.false_alerts(0.85, 100) == pytest.approx(10_000 * (1 - (1 - p) ** 100))
    t = c.threshold_for(c.false_alerts(0.8, 3), 3)
    assert t == pytest.approx(0.8, abs=1e-3)
    assert c.measured_fpir(0.7) == {10: pytest.approx(0.5)}
    with pytest.raises(InvalidInput):
        calibration.Calibration.from_json(json.dumps({"format": "other"}), "x")


def _fused_photos(people: int, per: int) -> tuple[calibration.Score, np.ndarray]:
    """Synthetic photos in two networks: dlib-like 128-d and FaceRes-like unit 64-d, ``per`` photos a person."""
    rng = np.random.default_rng(2)
    identity = np.repeat(np.arange(people), per)
    dlib = np.repeat(0.4 * rng.standard_normal((people, 128)), per, 0) + 0.05 * rng.standard_normal((people * per, 128))
    faceres = np.repeat(rng.standard_normal((people, 64)), per, 0) + 0.3 * rng.standard_normal((people * per, 64))
    faceres /= np.linalg.norm(faceres, axis=1, keepdims=True)
    fusion = Fusion(
        {"dlib": Normaliser(0.8, 0.09, 0.4), "faceres": Normaliser(1.2, 0.08, 0.8)}, {"dlib": 1.0, "faceres": 1.0}
    )
    desc = {"dlib": dlib.astype(np.float32), "faceres": faceres.astype(np.float32)}
    return calibration.Score(desc, fusion), identity


def test_fused_calibration_distances_are_the_fused_gallerys() -> None:
    score, identity = _fused_photos(30, 3)
    assert score.fusion is not None
    # Each photo enrolled as a person of its own: the gallery's fused distances, in dlib's units, are the score's.
    n = len(score)
    owner = np.arange(n, dtype=np.int32)
    spaces = tuple(Space(k, v, owner, unit=k == "faceres") for k, v in score.descriptors.items())
    ids = tuple(f"p{i}" for i in range(n))
    gallery = FusedGallery(ids, ids, spaces, score.fusion)
    expected = score.fusion.in_units(gallery.person_distances(score.descriptors))
    every = np.arange(n)
    assert np.allclose(score.distances(every, every), expected, atol=1e-5)
    # The histograms count those distances: every pair once, genuine and impostor apart.
    h = calibration.pair_histograms(score, identity, block=7)
    upper = every[None, :] > every[:, None]
    same = identity[:, None] == identity[None, :]
    for kind, mask in (("impostor", upper & ~same), ("genuine", upper & same)):
        counts, above = calibration._hist(expected[mask])
        assert h[kind] == {"counts": counts, "above": above}
    assert sum(h["genuine"]["counts"]) + h["genuine"]["above"] == 30 * 3
    # Per-probe rates: the share of other people's photos within each threshold, by the same distances.
    probes, templates = np.arange(0, n, 3), np.arange(1, n, 3)
    own = identity[probes][:, None] == identity[templates][None, :]
    rates = calibration.probe_rates(score, probes, templates, own)
    k = calibration.MIX_THRESHOLDS.index(0.5)
    within = (expected[np.ix_(probes, templates)] <= 0.5) & ~own
    assert np.allclose(rates[:, k], within.sum(1) / 29)


def test_one_networks_score_is_its_euclidean_distance() -> None:
    x = np.random.default_rng(3).standard_normal((20, 128)).astype(np.float32)
    every = np.arange(20)
    d = calibration.Score.single(x).distances(every, every)
    assert np.allclose(d, np.linalg.norm(x[:, None] - x[None], axis=2), atol=1e-5)
    with pytest.raises(ValueError, match="fusion"):
        calibration.Score({"dlib": x, "faceres": x})


def test_built_in_calibration_is_small_and_sane(tmp_path: Path) -> None:
    c, source = calibration.load(home=tmp_path)
    assert source == "built-in (lfw_devtrain_dlib.json)" and c.descriptors == ("dlib",)
    assert c.source["images"] > 9000
    # More people on the list, more false alerts; a lower threshold, fewer.
    assert c.false_alerts(0.53, 1000) > c.false_alerts(0.53, 100) > c.false_alerts(0.45, 100)
    assert c.genuine_rate(0.6) > 0.95
    t = c.threshold_for(1.0, 1000)
    assert c.false_alerts(t, 1000) == pytest.approx(1.0, rel=0.05)


def test_built_in_fused_calibration_measured_the_fused_score(tmp_path: Path) -> None:
    fused = ("dlib", "faceres")
    c, source = calibration.load(home=tmp_path, descriptors=fused)
    assert source == "built-in (lfw_devtrain_fused.json)"
    assert c.descriptors == fused and calibration.score_mismatch(c, fused) is None
    assert c.source["images"] > 9000
    assert c.false_alerts(0.486, 1000) > c.false_alerts(0.486, 100) > c.false_alerts(0.45, 100)
    # The calibration's measured 1:N FPIR at 0.486 agrees with the fused figures it was chosen by (~1.7% for 100).
    assert 0.005 < c.measured_fpir(0.486)[100] < 0.04


def test_faiss_gallery_matches_exact_gallery() -> None:
    rng = np.random.default_rng(1)
    templates = rng.standard_normal((500, 128)).astype(np.float32)
    owner = np.arange(500, dtype=np.int32) // 2  # two templates per person
    ids = tuple(f"p{i}" for i in range(250))
    exact = Gallery(ids, ids, templates, owner)
    probes = templates[[3, 100, 401]] + 0.05 * rng.standard_normal((3, 128)).astype(np.float32)
    for kind in ("flat", "hnsw", "ivf"):
        approx = FaissGallery.from_gallery(exact, kind=kind)  # type: ignore[arg-type]
        d_exact, d_approx = exact.person_distances(probes), approx.person_distances(probes)
        assert (np.argmin(d_approx, axis=1) == np.argmin(d_exact, axis=1)).all()
        assert np.allclose(d_approx.min(axis=1), d_exact.min(axis=1), atol=1e-3)
        assert [c.person_id for c in approx.match(probes[0], 1.0)] == [c.person_id for c in exact.match(probes[0], 1.0)]
    assert build_index(exact) is exact
    assert isinstance(build_index(exact, auto_threshold=100), FaissGallery)


def test_degrade_scales_to_the_eye_distance() -> None:
    image = np.full((250, 250, 3), 128, np.uint8)
    out, scale = degrade(image, Variant.parse("eyes20+jpeg30"), eye_px=40.0)
    assert scale == pytest.approx(0.5) and out.shape == (125, 125, 3)
    assert degrade(image, Variant.parse("eyes60"), eye_px=40.0)[1] == 1.0  # never upscaled
    with pytest.raises(InvalidInput):
        Variant.parse("blur3")
