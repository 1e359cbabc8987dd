"""Score fusion of dlib's and FaceRes's distances: the normalisation, and the fused score on real LFW pairs."""

from __future__ import annotations

import numpy as np
import pytest

from izde.config import VisionSettings
from izde.eval import fusion, metrics
from izde.eval.datasets import read_pairs
from izde.watchlist.fusion import Fusion, Normaliser
from tests.conftest import LFW, require_data
from tests.vision.faceres_helpers import require_faceres


def test_normaliser_puts_impostors_at_zero_and_one_std() -> None:
    rng = np.random.default_rng(0)
    impostor = rng.normal(0.8, 0.05, 5000)
    n = Normaliser.fit(rng.normal(0.35, 0.05, 500), impostor)
    z = n(impostor)
    assert abs(z.mean()) < 1e-9 and abs(z.std() - 1) < 1e-9
    assert n(0.35) < -8  # a typical genuine distance is far below the impostors


def test_fusion_is_the_weighted_mean_of_normalised_distances() -> None:
    unit = Normaliser(0.0, 1.0, -1.0)
    shifted = Normaliser(1.0, 2.0, 0.0)
    f = Fusion({"a": unit, "b": shifted}, {"a": 3.0, "b": 1.0})
    got = f.fuse({"a": np.array([1.0, 0.0]), "b": np.array([3.0, 1.0])})
    assert np.allclose(got, [(3 * 1.0 + 1.0) / 4, 0.0])


def test_screening_drops_searches_dlib_puts_beyond_the_margin() -> None:
    # Fusion in dlib's units: dlib's and FaceRes's distances share a normaliser, so fused = their mean.
    same = Normaliser(0.8, 0.1, 0.4)
    f = Fusion({fusion.DLIB: same, fusion.FACERES: same}, {fusion.DLIB: 1.0, fusion.FACERES: 1.0})
    # Two persons; mated probes of person 0: near by both, far by dlib but rescued by FaceRes, far by both.
    dlib_m = np.array([[0.40, 0.9], [0.62, 0.9], [0.9, 0.9]])
    faceres_m = np.array([[0.40, 0.9], [0.30, 0.9], [0.9, 0.9]])
    dlib_n, faceres_n = np.array([[0.45, 0.9], [0.9, 0.9]]), np.array([[0.45, 0.9], [0.05, 0.9]])
    md = {fusion.DLIB: dlib_m, fusion.FACERES: faceres_m}
    nd = {fusion.DLIB: dlib_n, fusion.FACERES: faceres_n}
    md[fusion.FUSED], nd[fusion.FUSED] = f.fuse(md), f.fuse(nd)
    rows = {r["margin"]: r for r in fusion.screening(md, nd, np.zeros(3, np.int64), f, 0.5)}
    assert rows[None]["fnir"] == pytest.approx(1 / 3) and rows[None]["fpir"] == 1.0
    # A margin of 0.15 keeps the rescued mate (dlib 0.62 <= 0.65) and drops the stranger dlib puts at 0.9.
    assert rows[0.15]["fnir"] == pytest.approx(1 / 3) and rows[0.15]["fpir"] == 0.5
    assert rows[0.15]["fused_run_mated"] == pytest.approx(2 / 3) and rows[0.15]["fused_run_nonmated"] == 0.5
    # 0.1 loses it.
    assert rows[0.1]["fnir"] == pytest.approx(2 / 3)


@pytest.mark.slow
def test_fused_verification_holds_or_improves_on_dlib_alone() -> None:
    """200 LFW dev-train pairs (the CI subset's verification pairs): fusing never costs accuracy."""
    require_faceres()
    pairs = read_pairs(require_data(LFW), limit=200)
    sets = fusion.descriptor_sets([p for pr in pairs for p in (pr.a, pr.b)], VisionSettings(), workers=2)
    fu = fusion.fit(pairs, sets)
    same = np.array([p.same for p in pairs])
    d = {k: fusion.pair_distances(pairs, v) for k, v in sets.items()}
    d["fused"] = fu.fuse(d)
    acc = {k: metrics.cross_validated_accuracy(v[same], v[~same])[0] for k, v in d.items()}
    assert acc["faceres"] >= 0.93, acc
    assert acc["fused"] >= acc["dlib"] - 0.005, acc
