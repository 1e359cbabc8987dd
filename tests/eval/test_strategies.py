"""Template strategies with each network and fused: synthetic descriptors, then cached LFW descriptors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from izde.config import VisionSettings
from izde.eval import fusion, strategies
from izde.eval.calibration import Score
from izde.eval.datasets import Identities, Pair, load_identities, read_pairs
from izde.eval.embed import Embeddings, embed_paths
from izde.eval.report import markdown, strategies_by_network_md
from izde.watchlist.fusion import Fusion, Normaliser, load_fusion
from tests.conftest import LFW, require_data
from tests.vision.faceres_helpers import require_faceres

DLIB, FACERES = fusion.DLIB, fusion.FACERES


def _identities() -> Identities:
    """30 people with 8 photos (enrolled) and 20 with 3 (never enrolled); the paths need not exist."""
    counts = [8] * 30 + [3] * 20
    names = tuple(f"p{i:02d}" for i in range(len(counts)))
    photos = tuple(tuple(Path(n) / f"{j}.jpg" for j in range(c)) for n, c in zip(names, counts, strict=True))
    return Identities(Path("synthetic"), names, photos)


def _descriptors(ids: Identities, dim: int, noise: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (len(ids), dim))
    rows = [centres[i] + rng.normal(0, noise, (len(ps), dim)) for i, ps in enumerate(ids.photos)]
    return np.concatenate(rows).astype(np.float32)


def _unit(d: np.ndarray) -> np.ndarray:
    return (d / np.linalg.norm(d, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def synthetic() -> tuple[strategies.StrategySplit, list[Path], Score, np.ndarray]:
    ids = _identities()
    paths = [p for ps in ids.photos for p in ps]
    dlib = _descriptors(ids, 128, 1.2, 0) * 0.04
    faceres = _unit(_descriptors(ids, 16, 0.9, 1))
    fu = Fusion({DLIB: Normaliser(0.8, 0.07, 0.4), FACERES: Normaliser(1.35, 0.07, 0.9)}, {DLIB: 1.0, FACERES: 1.0})
    eye_px = np.linspace(20, 60, len(paths)).astype(np.float32)
    return strategies.make_split(ids), paths, Score({DLIB: dlib, FACERES: faceres}, fu), eye_px


def test_each_network_sees_every_strategy_and_dlib_matches_the_single_network_comparison(
    synthetic: tuple[strategies.StrategySplit, list[Path], Score, np.ndarray],
) -> None:
    split, paths, score, eye_px = synthetic
    quality = fusion.QualityWeights(np.array([40.0]), {DLIB: np.array([1.0, 2.0]), FACERES: np.array([3.0, 1.0])})
    got = strategies.compare_networks(split, paths, score, eye_px, quality)
    assert list(got["networks"]) == [DLIB, FACERES, fusion.FUSED, fusion.FUSED_DPRIME, strategies.FUSED_QUALITY]
    n = len(strategies.GALLERY_STRATEGIES) * len(strategies.PROBE_STRATEGIES)
    assert all(len(s["results"]) == n for s in got["networks"].values())
    emb = Embeddings(tuple(paths), score.descriptors[DLIB], ("hog",) * len(paths), np.ones(len(paths), bool), eye_px)
    for a, b in zip(got["networks"][DLIB]["results"], strategies.compare(split, emb)["results"], strict=True):
        assert (a["gallery"], a["probe"], a["rank1"]) == (b["gallery"], b["probe"], b["rank1"])
        for x, y in zip(a["fnir_at_fpir"], b["fnir_at_fpir"], strict=True):
            assert x["fnir"] == y["fnir"] and x["threshold"] == pytest.approx(y["threshold"], abs=1e-5)
    assert got["gallery_size"] == 30 and got["quality_weights"]["eye_px_edges"] == [40.0]


def test_a_unit_network_s_mean_template_is_back_on_the_unit_sphere() -> None:
    d = _unit(np.random.default_rng(0).normal(0, 1, (4, 8)))
    (t,) = strategies._gallery_templates("all-mean", [d], unit=True)
    assert t.shape == (1, 8) and np.isclose(np.linalg.norm(t), 1.0)
    (raw,) = strategies._gallery_templates("all-mean", [d])
    assert np.linalg.norm(raw) < 1.0


def test_per_probe_weights_equal_to_the_fusion_s_give_its_fused_distance() -> None:
    rng = np.random.default_rng(0)
    fu = Fusion({"a": Normaliser(1.0, 0.1, 0.5), "b": Normaliser(2.0, 0.5, 1.0)}, {"a": 1.0, "b": 3.0})
    d = {"a": rng.uniform(0, 2, (5, 7)), "b": rng.uniform(0, 3, (5, 7))}
    same = fusion.fuse_per_probe(fu, d, {"a": np.ones(5), "b": np.full(5, 3.0)})
    assert np.allclose(same, fu.fuse(d))
    only_a = fusion.fuse_per_probe(fu, d, {"a": np.ones(5), "b": np.zeros(5)})
    assert np.allclose(only_a, fu.normalisers["a"](d["a"]))


def test_quality_weights_follow_each_network_s_separation_per_face_size() -> None:
    """Network ``a`` separates pairs of large faces only, ``b`` every pair equally: the weights say so."""
    rng = np.random.default_rng(0)
    pairs, sets, eye_px = [], {"a": {}, "b": {}}, {}
    for i in range(600):
        small = i % 2 == 0
        same = i % 4 < 2
        pa, pb = Path(f"{i}a"), Path(f"{i}b")
        pairs.append(Pair(pa, pb, same))
        eye_px[pa] = eye_px[pb] = 20.0 if small else 60.0
        gap_a = 0.5 if small else 3.0
        for net, gap in (("a", gap_a), ("b", 1.5)):
            sets[net][pa] = np.zeros(1, np.float32)
            sets[net][pb] = np.array([rng.normal(1.0 if same else 1.0 + gap, 0.3)], np.float32)
    q = fusion.fit_quality_weights(pairs, sets, eye_px, bands=2)
    small_w, large_w = q.of([20.0])["a"][0], q.of([60.0])["a"][0]
    assert small_w < q.of([20.0])["b"][0] < large_w
    assert json.loads(json.dumps(q.as_json()))["weights"]["a"][1] == pytest.approx(large_w)


def test_the_report_has_a_per_network_strategy_section(
    synthetic: tuple[strategies.StrategySplit, list[Path], Score, np.ndarray],
) -> None:
    split, paths, score, _ = synthetic
    s = strategies.compare_networks(split, paths, score)
    lines = strategies_by_network_md(s)
    assert lines[0] == "## Template strategies per network"
    assert "| gallery | probe | dlib | faceres | fused | fused-dprime |" in lines
    assert sum(line.startswith("| one |") for line in lines) == 2
    doc: dict[str, Any] = {
        "dataset": "synthetic",
        "date": "2026-01-01",
        "machine": "test",
        "embedder": "dlib",
        "threshold": 0.5,
        "command": "izde eval report",
        "strategies_by_network": s,
    }
    assert "## Template strategies per network" in markdown(doc)


def test_strategies_cli_by_network(
    synthetic: tuple[strategies.StrategySplit, list[Path], Score, np.ndarray],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from izde.cli.eval import app
    from izde.eval import suite

    split, paths, score, _ = synthetic
    result = strategies.compare_networks(split, paths, score)
    monkeypatch.setattr(suite, "compare_strategies_by_network", lambda *_: result)
    r = CliRunner().invoke(app, ["strategies", "--networks", "--data", str(tmp_path), "--json"])
    assert r.exit_code == 0, r.output
    assert list(json.loads(r.stdout.strip().splitlines()[-1])["networks"]) == list(result["networks"])


@pytest.mark.slow
def test_fusion_helps_the_one_photo_strategy_on_cached_lfw_descriptors() -> None:
    """120 LFW dev-train identities with 3 or more photos and 200 pairs, from the evaluation cache."""
    require_faceres()
    ids = load_identities(require_data(LFW))
    keep = [i for i, ps in enumerate(ids.photos) if len(ps) >= 3][:120]
    sub = Identities(ids.root, tuple(ids.names[i] for i in keep), tuple(ids.photos[i] for i in keep))
    split = strategies.make_split(sub)
    pairs = read_pairs(LFW, limit=200)
    paths = list(dict.fromkeys([*split.paths(), *(p for pr in pairs for p in (pr.a, pr.b))]))
    emb = embed_paths(paths, VisionSettings(), workers=2)
    faceres = fusion.faceres_descriptors(paths, VisionSettings(), workers=2)
    score = Score({DLIB: emb.descriptors, FACERES: faceres}, load_fusion())
    sets = {k: dict(zip(paths, v, strict=True)) for k, v in score.descriptors.items()}
    quality = fusion.fit_quality_weights(pairs, sets, dict(zip(paths, emb.eye_px.tolist(), strict=True)))
    got = strategies.compare_networks(split, paths, score, emb.eye_px, quality)

    def one_frame(net: str) -> dict[str, Any]:
        r: dict[str, Any] = got["networks"][net]["results"][0]
        assert (r["gallery"], r["probe"]) == ("one", "frame")
        return r

    assert one_frame(fusion.FUSED)["rank1"] >= one_frame(DLIB)["rank1"] - 0.02
    # Enrolling every photo and probing with the track's mean beats one photo, with every score.
    for net, s in got["networks"].items():
        best = min(r["fnir_at_fpir"][0]["fnir"] for r in s["results"])
        assert best < one_frame(net)["fnir_at_fpir"][0]["fnir"], net


def _lfw_subset(root: Path, out: Path, pairs: int = 100) -> Path:
    """A dataset folder of symlinks: the people of the first ``pairs`` lines of each kind of LFW dev-train's
    pairs file (and that file, cut), plus 40 people with 5 or more photos and 20 with 3 or 4. The evaluation
    cache keys photos by their resolved path, so the cached descriptors serve it."""
    lines = (root / "pairsDevTrain.txt").read_text(encoding="utf-8").splitlines()[1:]
    same = [line for line in lines if len(line.split()) == 3][: pairs // 2]
    diff = [line for line in lines if len(line.split()) == 4][: pairs // 2]
    names = {f for line in same + diff for f in line.split() if not f.isdigit()}
    ids = load_identities(root)
    counts = {n: len(ps) for n, ps in zip(ids.names, ids.photos, strict=True)}
    names |= set([n for n in ids.names if counts[n] >= 5][:40] + [n for n in ids.names if 3 <= counts[n] < 5][:20])
    out.mkdir()
    for n in names:
        (out / n).symlink_to(root / n, target_is_directory=True)
    (out / "pairsDevTrain.txt").write_text("\n".join([str(pairs // 2), *same, *diff]) + "\n", encoding="utf-8")
    return out


@pytest.mark.slow
def test_strategies_cli_by_network_on_an_lfw_subset(tmp_path: Path) -> None:
    """The command 'izde eval report' runs for its per-network section, on a small LFW subset."""
    from izde.cli.eval import app

    require_faceres()
    data = _lfw_subset(require_data(LFW), tmp_path / "lfw")
    r = CliRunner().invoke(app, ["strategies", "--networks", "--data", str(data), "--json"])
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout)
    assert list(got["networks"]) == [DLIB, FACERES, fusion.FUSED, fusion.FUSED_DPRIME, strategies.FUSED_QUALITY]
    assert got["gallery_size"] >= 40 and len(got["quality_weights"]["eye_px_edges"]) == 2
    assert "## Template strategies per network" in "\n".join(strategies_by_network_md(got))
