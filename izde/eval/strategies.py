"""Template strategies compared on one split: how to enrol several photos, and whether to fuse a track's frames.

Gallery side, for people with several reference photos:
  ``one``   - only the first photo is enrolled;
  ``all-min`` - every photo is a template and the person's distance is the smallest (Gallery's rule);
  ``all-mean`` - the photos' descriptors are averaged into one template;
  ``all+mean`` - both: every photo and their mean are templates, the closest wins.
Probe side: ``frame`` - one photo stands for a track; ``track`` - a track of several photos of one person,
fused by their mean descriptor (what the pipeline does with a track's best shots).

Split (seeded, LFW layout): identities with at least ``min_enrolled`` photos are enrolled with their first
photos (at most ``max_enrol``, always leaving ``track_len`` for probing) and probed with tracks made of
their next photos. Identities with ``track_len`` to ``min_enrolled - 1`` photos are never enrolled; their
tracks are the non-mated searches. Every strategy sees exactly the same people, photos and tracks; the
single-frame probe of a track is its first photo.

:func:`compare_networks` measures every strategy with each network of a score (dlib, FaceRes) alone and
fused: with the calibration's weights, with weights by each network's d', and with weights that follow the
probe's face size (:class:`izde.eval.fusion.QualityWeights`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from izde.errors import InvalidInput
from izde.eval import metrics
from izde.eval.calibration import Score
from izde.eval.datasets import Identities
from izde.eval.embed import Embeddings
from izde.eval.fusion import FUSED, FUSED_DPRIME, QualityWeights, fuse_per_probe
from izde.eval.identification import FPIRS, gallery_of, op_json, search
from izde.vision.types import F32
from izde.watchlist.fusion import UNIT_NETWORKS, Fusion, person_distances

GALLERY_STRATEGIES = ("one", "all-min", "all-mean", "all+mean")
PROBE_STRATEGIES = ("frame", "track")
FUSED_QUALITY = "fused-quality"  # fused with weights that follow the probe's face size


@dataclass(frozen=True)
class StrategySplit:
    names: tuple[str, ...]
    enrol: tuple[tuple[Path, ...], ...]
    mated_tracks: tuple[tuple[tuple[Path, ...], int], ...]
    nonmated_tracks: tuple[tuple[Path, ...], ...]

    def paths(self) -> list[Path]:
        out = [p for ps in self.enrol for p in ps]
        out += [p for t, _ in self.mated_tracks for p in t]
        return out + [p for t in self.nonmated_tracks for p in t]


def make_split(
    ids: Identities, track_len: int = 3, max_enrol: int = 5, max_tracks: int = 2, min_enrolled: int = 5
) -> StrategySplit:
    if min_enrolled < track_len + 2:
        raise InvalidInput("min_enrolled must leave at least two photos to enrol beside one track")
    names: list[str] = []
    enrol: list[tuple[Path, ...]] = []
    mated: list[tuple[tuple[Path, ...], int]] = []
    nonmated: list[tuple[Path, ...]] = []
    for name, photos in zip(ids.names, ids.photos, strict=True):
        n = len(photos)
        if n >= min_enrolled:
            k = min(max_enrol, n - track_len)
            rest = photos[k:]
            tracks = [rest[j : j + track_len] for j in range(0, len(rest) - track_len + 1, track_len)][:max_tracks]
            mated += [(t, len(names)) for t in tracks]
            names.append(name)
            enrol.append(photos[:k])
        elif n >= track_len:
            nonmated += [photos[j : j + track_len] for j in range(0, n - track_len + 1, track_len)][:max_tracks]
    if not names or not nonmated:
        raise InvalidInput(f"{ids.root} has too few identities with {track_len} or more photos for this comparison")
    return StrategySplit(tuple(names), tuple(enrol), tuple(mated), tuple(nonmated))


def _unit(d: F32) -> F32:
    return np.asarray(d / np.linalg.norm(d, axis=-1, keepdims=True), np.float32)


def _mean(d: F32, unit: bool) -> F32:
    """The mean descriptor (rows of ``d``), back on the unit sphere for networks compared as unit vectors."""
    m = d.mean(axis=0, keepdims=True)
    return _unit(m) if unit else m


def _gallery_templates(strategy: str, descs: list[F32], unit: bool = False) -> list[F32]:
    if strategy == "one":
        return [d[:1] for d in descs]
    if strategy == "all-min":
        return descs
    if strategy == "all-mean":
        return [_mean(d, unit) for d in descs]
    if strategy == "all+mean":
        return [np.concatenate([d, _mean(d, unit)]) for d in descs]
    raise ValueError(strategy)


def _probes(strategy: str, tracks: list[F32], unit: bool = False) -> F32:
    if strategy == "frame":
        return np.stack([t[0] for t in tracks]).astype(np.float32)
    return np.concatenate([_mean(t, unit) for t in tracks]).astype(np.float32)


def _row(gallery: str, probe: str, m: metrics.F64, n: metrics.F64) -> dict[str, Any]:
    return {
        "gallery": gallery,
        "probe": probe,
        "rank1": metrics.rank1(m),
        "fnir_at_fpir": [op_json(metrics.fnir_at_fpir(m, n, f)) for f in FPIRS],
        "mated_median_distance": float(np.median(m[np.isfinite(m)])) if np.isfinite(m).any() else None,
    }


def _summary(split: StrategySplit, results: list[dict[str, Any]]) -> dict[str, Any]:
    base = next(r for r in results if r["gallery"] == "one" and r["probe"] == "frame")
    best = min(results, key=lambda r: (r["fnir_at_fpir"][0]["fnir"], -r["rank1"]))
    return {
        "results": results,
        "best": {"gallery": best["gallery"], "probe": best["probe"]},
        "gain_over_one_frame": {
            f"{r['gallery']}/{r['probe']}": base["fnir_at_fpir"][0]["fnir"] - r["fnir_at_fpir"][0]["fnir"]
            for r in results
        },
    }


def _split_json(split: StrategySplit) -> dict[str, Any]:
    return {
        "gallery_size": len(split.names),
        "enrolled_photos": {
            "mean": float(np.mean([len(e) for e in split.enrol])),
            "max": max(len(e) for e in split.enrol),
        },
        "track_length": len(split.mated_tracks[0][0]),
        "mated_tracks": len(split.mated_tracks),
        "nonmated_tracks": len(split.nonmated_tracks),
    }


def compare(split: StrategySplit, emb: Embeddings) -> dict[str, Any]:
    rows = emb.rows()

    def vecs(ps: tuple[Path, ...]) -> F32:
        return emb.descriptors[[rows[p] for p in ps]]

    enrol = [vecs(ps) for ps in split.enrol]
    mated = [vecs(t) for t, _ in split.mated_tracks]
    mates = np.array([g for _, g in split.mated_tracks])
    nonmated = [vecs(t) for t in split.nonmated_tracks]
    results: list[dict[str, Any]] = []
    for gs in GALLERY_STRATEGIES:
        gallery = gallery_of(split.names, _gallery_templates(gs, enrol))
        for ps in PROBE_STRATEGIES:
            m, n = search(gallery, _probes(ps, mated), mates, _probes(ps, nonmated))
            results.append(_row(gs, ps, m, n))
    return _split_json(split) | _summary(split, results)


Distances = dict[tuple[str, str], tuple[metrics.F64, metrics.F64]]  # (gallery, probe) -> mated, non-mated (K, P)


def network_distances(split: StrategySplit, vecs: Callable[[tuple[Path, ...]], F32], unit: bool = False) -> Distances:
    """One network's probe-to-person distances under every gallery and probe strategy."""
    enrol = [vecs(ps) for ps in split.enrol]
    mated = [vecs(t) for t, _ in split.mated_tracks]
    nonmated = [vecs(t) for t in split.nonmated_tracks]
    people = len(split.names)
    out: Distances = {}
    for gs in GALLERY_STRATEGIES:
        templates = _gallery_templates(gs, enrol, unit)
        owner = np.concatenate([np.full(len(t), i, np.int32) for i, t in enumerate(templates)])
        flat = np.concatenate(templates)
        for ps in PROBE_STRATEGIES:
            out[gs, ps] = (
                person_distances(_probes(ps, mated, unit), flat, owner, people),
                person_distances(_probes(ps, nonmated, unit), flat, owner, people),
            )
    return out


def probe_eye_px(split: StrategySplit, eye_px: Callable[[tuple[Path, ...]], F32]) -> dict[str, tuple[F32, F32]]:
    """Per probe strategy, the face size (eye distance, px) of each mated and non-mated probe: the first
    photo's for ``frame``, the track's mean for ``track``."""
    mated = [eye_px(t) for t, _ in split.mated_tracks]
    nonmated = [eye_px(t) for t in split.nonmated_tracks]
    return {
        "frame": (np.array([e[0] for e in mated]), np.array([e[0] for e in nonmated])),
        "track": (np.array([e.mean() for e in mated]), np.array([e.mean() for e in nonmated])),
    }


def _rows(split: StrategySplit, dist: Distances, units: Callable[[metrics.F64], metrics.F64]) -> dict[str, Any]:
    mates = np.array([g for _, g in split.mated_tracks])
    results = []
    for (gs, ps), (md, nd) in dist.items():
        m, n = metrics.mated_scores(units(md), mates), metrics.nonmated_scores(units(nd))
        results.append(_row(gs, ps, m, n))
    return _summary(split, results)


def compare_networks(
    split: StrategySplit,
    paths: Sequence[Path],
    score: Score,
    eye_px: npt.NDArray[np.float32] | None = None,
    quality: QualityWeights | None = None,
) -> dict[str, Any]:
    """Every strategy with each network of ``score`` alone, fused by its fusion and fused with weights by each
    network's d' (distances in dlib's units); with ``eye_px`` (per photo) and ``quality``, also fused with
    weights that follow each probe's face size."""
    rows = {p: i for i, p in enumerate(paths)}
    per: dict[str, Distances] = {
        k: network_distances(split, _lookup(rows, v), k in UNIT_NETWORKS) for k, v in score.descriptors.items()
    }
    out: dict[str, Any] = _split_json(split) | {"networks": {k: _rows(split, d, _same) for k, d in per.items()}}
    if score.fusion is None:
        return out
    fu = score.fusion
    keys = list(per[next(iter(per))])
    fused = {key: _fuse(fu, per, key) for key in keys}
    out["networks"][FUSED] = _rows(split, fused, fu.in_units)
    by_dprime = Fusion(fu.normalisers, {k: fu.normalisers[k].dprime for k in fu.weights})
    out["networks"][FUSED_DPRIME] = _rows(split, {key: _fuse(by_dprime, per, key) for key in keys}, fu.in_units)
    if eye_px is not None and quality is not None:
        px = probe_eye_px(split, _lookup(rows, eye_px))
        weighted = {key: _fuse(fu, per, key, quality, px[key[1]]) for key in keys}
        out["networks"][FUSED_QUALITY] = _rows(split, weighted, fu.in_units)
        out["quality_weights"] = quality.as_json()
    return out


def _lookup(rows: dict[Path, int], values: F32) -> Callable[[tuple[Path, ...]], F32]:
    """The rows of ``values`` (one per photo, in ``rows``' order) of some photos."""
    return lambda ps: values[[rows[p] for p in ps]]


def _same(d: metrics.F64) -> metrics.F64:
    return d


def _fuse(
    fu: Fusion,
    per: dict[str, Distances],
    key: tuple[str, str],
    quality: QualityWeights | None = None,
    px: tuple[F32, F32] | None = None,
) -> tuple[metrics.F64, metrics.F64]:
    """Mated and non-mated distances of strategy ``key`` fused: by the fusion's weights, or by ``quality``'s
    weights for each probe's face size ``px``."""
    sides = []
    for side in (0, 1):
        d = {k: per[k][key][side] for k in per}
        if quality is None or px is None:
            sides.append(fu.fuse(d))
        else:
            sides.append(fuse_per_probe(fu, d, quality.of(px[side])))
    return sides[0], sides[1]
