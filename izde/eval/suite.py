"""The evaluation runs behind ``izde eval``: load a dataset, embed it (cached), compute, plot.

Each runner returns a JSON-ready summary; ``report`` runs them all and writes a docs-style folder.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from izde.config import MatchSettings, VisionSettings
from izde.eval import calibration, identification, plots, robustness, strategies
from izde.eval.datasets import load_identities, read_group_labels, read_pairs, require_dir
from izde.eval.embed import Embeddings, Progress, embed_paths, embedder_name
from izde.eval.provenance import machine
from izde.eval.verification import pair_paths, verify

ProgressFactory = Callable[[str], Progress | None]
DEFAULT_GALLERY_SIZES = (100, 300, 1000)


@dataclass
class Context:
    data: Path
    vision: VisionSettings = field(default_factory=VisionSettings)
    threshold: float = field(default_factory=lambda: MatchSettings().threshold)
    workers: int = 1
    progress: ProgressFactory = lambda _: None
    plots: Path | None = None  # folder for PNG plots; none drawn when None

    def embed(self, paths: list[Path], what: str, variant: str = "clean") -> Embeddings:
        return embed_paths(paths, self.vision, variant, self.workers, progress=self.progress(what))

    def plot(self, name: str) -> Path | None:
        return self.plots / name if self.plots is not None else None


def verification(ctx: Context, pairs_file: Path | None = None, limit: int | None = None) -> dict[str, Any]:
    pairs = read_pairs(ctx.data, pairs_file, limit)
    emb = ctx.embed(pair_paths(pairs), "embedding pair photos")
    res = verify(pairs, emb, ctx.threshold)
    out = res.summary()
    if (p := ctx.plot("verification_roc.png")) is not None:
        out["plots"] = [
            plots.roc(res.genuine, res.impostor, ctx.threshold, p).name,
            plots.histograms(res.genuine, res.impostor, ctx.threshold, p.with_name("verification_hist.png")).name,
        ]
    return out


def identification_scores(
    ctx: Context,
    gallery_sizes: tuple[int, ...],
    enrol_photos: int = 1,
    max_probes: int = 5,
    seed: int = 0,
) -> tuple[dict[int, identification.SearchScores], dict[int, identification.Split]]:
    ids = load_identities(ctx.data)
    splits = {g: identification.make_split(ids, g, enrol_photos, max_probes, seed) for g in sorted(gallery_sizes)}
    paths = list(dict.fromkeys(p for s in splits.values() for p in s.paths()))
    emb = ctx.embed(paths, "embedding identification photos")
    return {g: identification.run_split(s, emb) for g, s in splits.items()}, splits


def identify(
    ctx: Context,
    gallery_sizes: tuple[int, ...] = DEFAULT_GALLERY_SIZES,
    enrol_photos: int = 1,
    max_probes: int = 5,
    seed: int = 0,
    labels: Path | None = None,
) -> dict[str, Any]:
    group_labels = read_group_labels(labels) if labels is not None else None
    scores, _ = identification_scores(ctx, gallery_sizes, enrol_photos, max_probes, seed)
    out: dict[str, Any] = {
        "protocol": {
            "enrolled_photos_per_person": enrol_photos,
            "max_mated_probes_per_person": max_probes,
            "seed": seed,
            "nonmated": f"every photo of identities with {enrol_photos} photo(s) or fewer",
            "mated_success": "mate is the closest person and within the threshold",
        },
        "galleries": [s.summary(threshold=ctx.threshold) for s in scores.values()],
    }
    if group_labels is not None:
        out["by_group"] = {str(g): identification.by_group(s, ctx.data, group_labels) for g, s in scores.items()}
    else:
        out["by_group"] = None
        out["by_group_note"] = "no group labels given (LFW has no capture dates or group labels); pass --labels CSV"
    if (p := ctx.plot("identification_det.png")) is not None:
        curves = {f"G = {g:,}": (s.mated, s.nonmated) for g, s in scores.items()}
        out["plots"] = [plots.det(curves, p, "1:N identification DET, one photo enrolled per person").name]
    return out


def compare_strategies(ctx: Context, track_len: int = 3, max_enrol: int = 5) -> dict[str, Any]:
    ids = load_identities(ctx.data)
    split = strategies.make_split(ids, track_len, max_enrol)
    emb = ctx.embed(split.paths(), "embedding strategy photos")
    return strategies.compare(split, emb)


def compare_strategies_by_network(ctx: Context, track_len: int = 3, max_enrol: int = 5) -> dict[str, Any]:
    """The template strategies with dlib alone, FaceRes alone, fused by the shipped calibration, and fused with
    weights that follow the probe's face size (fitted on the dataset's pairs)."""
    from izde.eval import fusion

    split = strategies.make_split(load_identities(ctx.data), track_len, max_enrol)
    pairs = read_pairs(ctx.data)
    paths = list(dict.fromkeys([*split.paths(), *(p for pr in pairs for p in (pr.a, pr.b))]))
    emb = ctx.embed(paths, "embedding strategy and pair photos")
    score = _fused_score(ctx, paths, emb)
    sets = _by_path(score, paths)
    quality = fusion.fit_quality_weights(pairs, sets, dict(zip(paths, emb.eye_px.tolist(), strict=True)))
    return strategies.compare_networks(split, paths, score, emb.eye_px, quality)


def robustness_slices(
    ctx: Context,
    gallery_size: int = 1000,
    nonmated: int = 1000,
    slices: tuple[str, ...] = robustness.DEFAULT_SLICES,
    seed: int = 0,
) -> dict[str, Any]:
    split = _robustness_split(ctx, gallery_size, nonmated, seed)
    clean = ctx.embed(split.paths(), "embedding clean photos")

    def factory(name: str) -> Progress | None:
        return ctx.progress(f"embedding {name} probes")

    out = robustness.run(split, clean, slices, ctx.vision, ctx.workers, factory)
    return out


def robustness_by_network(
    ctx: Context,
    gallery_size: int = 1000,
    nonmated: int = 1000,
    slices: tuple[str, ...] = robustness.DEFAULT_SLICES,
    seed: int = 0,
) -> dict[str, Any]:
    """The robustness slices (same split and probes) with dlib, FaceRes and fused by the shipped calibration."""
    from izde.watchlist.fusion import load_fusion

    split = _robustness_split(ctx, gallery_size, nonmated, seed)
    return robustness.run_networks(split, load_fusion(), slices, ctx.vision, ctx.workers)


def _robustness_split(ctx: Context, gallery_size: int, nonmated: int, seed: int) -> identification.Split:
    """The robustness slices' people and probes: one mated probe per enrolled person, a sample of the others."""
    ids = load_identities(ctx.data)
    return robustness.probe_subset(identification.make_split(ids, gallery_size, seed=seed), nonmated)


def calibration_score(ctx: Context, paths: list[Path]) -> tuple[calibration.Score, Embeddings]:
    """Every photo compared by the score izde matches with (``vision.descriptors``): dlib's distance, or the
    fused one (by the shipped normalisers, in dlib's units); and dlib's embeddings (the faces found)."""
    emb = ctx.embed(paths, "embedding every photo")
    if not ctx.vision.fused:
        return calibration.Score.single(emb.descriptors), emb
    return _fused_score(ctx, paths, emb), emb


def _fused_score(ctx: Context, paths: list[Path], emb: Embeddings) -> calibration.Score:
    """``paths`` compared by the fused score (the shipped normalisers), from dlib's ``emb`` and FaceRes's."""
    from izde.eval.fusion import DLIB, FACERES, faceres_descriptors
    from izde.watchlist.fusion import load_fusion

    faceres = faceres_descriptors(paths, ctx.vision, progress=ctx.progress("FaceRes descriptors"), workers=ctx.workers)
    return calibration.Score({DLIB: emb.descriptors, FACERES: faceres}, load_fusion())


def _by_path(score: calibration.Score, paths: list[Path]) -> dict[str, dict[Path, Any]]:
    """Each network's descriptors of ``paths``, by photo."""
    return {k: dict(zip(paths, v, strict=True)) for k, v in score.descriptors.items()}


def nonmated_nearest(
    ctx: Context, score: calibration.Score, paths: list[Path], gallery_sizes: tuple[int, ...]
) -> dict[int, npt.NDArray[np.float64]]:
    """Per gallery size, the closest person's distance of each non-mated 1:N search (one photo enrolled)."""
    if score.fusion is None:
        scores, _ = identification_scores(ctx, gallery_sizes)
        return {g: s.nonmated for g, s in scores.items()}
    from izde.eval import fusion

    ids = load_identities(ctx.data)
    sets = _by_path(score, paths)
    return {
        g: fusion.nonmated_nearest(identification.make_split(ids, g), sets, score.fusion) for g in sorted(gallery_sizes)
    }


def calibrate(ctx: Context, gallery_sizes: tuple[int, ...] = DEFAULT_GALLERY_SIZES) -> dict[str, Any]:
    ids = load_identities(ctx.data)
    paths = ids.all_images()
    identity = np.concatenate([np.full(len(ps), i, np.int64) for i, ps in enumerate(ids.photos)])
    score, emb = calibration_score(ctx, paths)
    # Per-probe rates: every photo of a one-photo identity against the first photo of every other identity.
    rows = {p: i for i, p in enumerate(paths)}
    firsts = np.array([rows[ps[0]] for ps in ids.photos])
    singles = np.array([rows[ps[0]] for ps in ids.photos if len(ps) == 1])
    same = identity[singles][:, None] == identity[firsts][None, :]
    rates = calibration.probe_rates(score, singles, firsts, same)
    source = {
        "dataset": ctx.data.name,
        "identities": len(ids),
        "images": len(paths),
        "embedder": embedder_name(ctx.vision),
        "descriptors": list(score.descriptors),
        "face_found_by": emb.misses(),
        "note": "per-comparison histograms over every pair of photos; nonmated_nearest from 1:N searches with "
        "one enrolled photo per person",
    }
    if score.fusion is not None:
        from izde.watchlist.fusion import CALIBRATION

        source["fusion"] = CALIBRATION.name
        source["units"] = "fused distance in dlib's units (izde.watchlist.fusion.Fusion.in_units)"
    nonmated = nonmated_nearest(ctx, score, paths, gallery_sizes)
    return calibration.build(score, identity, nonmated, source, rates)


def calibration_check(
    cal: calibration.Calibration, thresholds: tuple[float, ...] = (0.4, 0.45, 0.5, 0.55)
) -> list[Any]:
    """Predicted FPIR (per-probe model and independent-comparison model) against the measured one."""
    rows = []
    for t in thresholds:
        for g, measured in cal.measured_fpir(t).items():
            rows.append(
                {
                    "threshold": t,
                    "gallery_size": g,
                    "measured_fpir": measured,
                    "predicted_fpir": cal.false_alerts(t, g) / calibration.FACES,
                    "independent_model_fpir": cal.independent_model(t, g) / calibration.FACES,
                }
            )
    return rows


def report(
    ctx: Context, out: Path, command: str, gallery_sizes: tuple[int, ...] = DEFAULT_GALLERY_SIZES
) -> dict[str, Any]:
    """Every evaluation, written to ``out`` as report.json, README.md, calibration.json and PNG plots."""
    from izde.eval.report import markdown

    require_dir(ctx.data)
    out.mkdir(parents=True, exist_ok=True)
    ctx.plots = out
    result: dict[str, Any] = {
        "dataset": str(ctx.data.name),
        "command": command,
        "machine": machine(),
        "date": datetime.now(UTC).date().isoformat(),
        "embedder": embedder_name(ctx.vision),
        "threshold": ctx.threshold,
    }
    result["calibration"] = "calibration.json"
    cal = calibrate(ctx, gallery_sizes)
    calibration.write(cal, out / "calibration.json")
    result["calibration_check"] = calibration_check(calibration.Calibration.from_json(json.dumps(cal), "calibration"))
    result["verification"] = verification(ctx)
    result["identification"] = identify(ctx, gallery_sizes)
    result["strategies"] = compare_strategies(ctx)
    result["robustness"] = robustness_slices(ctx, max(gallery_sizes))
    from izde.vision.faceres import is_built

    if is_built():  # the second network is optional: 'izde models build' fetches it
        from izde.eval import fusion

        result["fusion"] = fusion.compare(ctx.data, gallery_sizes, ctx.workers, plots=out)
        result["fusion"]["ms_per_face"] = fusion.cost_per_face()
        result["strategies_by_network"] = compare_strategies_by_network(ctx)
        result["robustness_by_network"] = robustness_by_network(ctx, max(gallery_sizes))
    (out / "report.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    (out / "README.md").write_text(markdown(result), encoding="utf-8")
    return result
