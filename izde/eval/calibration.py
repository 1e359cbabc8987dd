"""Calibration: from measured distance distributions to expected false alerts in operation.

A calibration file holds numbers only (no images or descriptors):
  - impostor and genuine distance histograms: every pair of photos of two different people / of one person;
  - per-probe false match rates: for each probe of a person not enrolled, the share of other people (one
    photo each) within threshold t, summarised on a grid of thresholds as the mean rate within slices of the
    probes sorted by rate (finer towards the probes that resemble many people);
  - per gallery size G, the nearest-person distance of each non-mated search (measured FPIR curves).

For a watchlist of N people and threshold t, a face of someone not on the list raises a false alert when any
of the N comparisons is within t. For a probe whose per-comparison rate is p, that happens with probability
1 - (1 - p)^N; averaged over probes,
    FPIR(t, N) = E_probe[1 - (1 - p(t))^N],
and the expected false alerts per 10,000 faces is 10,000 times that. Averaging over probes matters: false
matches concentrate on faces that resemble many people, and one pooled rate p (all comparisons treated as
independent) overstates FPIR several times at N = 1,000 (see ``independent_model``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from izde.errors import InvalidInput
from izde.vision.types import F32

if TYPE_CHECKING:  # a type only: 'izde threshold show' need not import the matching code
    from izde.watchlist.fusion import Fusion

F64 = npt.NDArray[np.float64]
Rows = npt.NDArray[np.intp]
FORMAT = "izde-calibration/1"
BIN_WIDTH = 0.005
BIN_END = 1.0  # distances beyond this are counted in "above"; no threshold in use comes near it
FACES = 10_000
DEFAULT_RESOURCE = "lfw_devtrain_dlib.json"
# The shipped calibration of each score izde can match with (``vision.descriptors``).
RESOURCES = {("dlib",): DEFAULT_RESOURCE, ("dlib", "faceres"): "lfw_devtrain_fused.json"}


def _hist(d: npt.NDArray[np.float64]) -> tuple[list[int], int]:
    edges = np.arange(0.0, BIN_END + BIN_WIDTH / 2, BIN_WIDTH)
    counts, _ = np.histogram(d, edges)
    return [int(c) for c in counts], int(np.count_nonzero(d >= BIN_END))


def euclidean(a: F32, b: F32) -> F64:
    """(len(a), len(b)) Euclidean distances between the rows of ``a`` and of ``b``."""
    x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    sq = np.einsum("ij,ij->i", x, x)[:, None] + np.einsum("ij,ij->i", y, y)[None, :] - 2.0 * x @ y.T
    return np.asarray(np.sqrt(np.clip(sq, 0.0, None)), np.float64)


@dataclass(frozen=True)
class Score:
    """The score photos are compared by: one network's Euclidean distance, or several networks' distances
    fused (:class:`izde.watchlist.fusion.Fusion`) and expressed in dlib's units, as izde matches with them.

    ``descriptors`` holds one (n, D) array per network, row i of each being photo i.
    """

    descriptors: dict[str, F32]
    fusion: Fusion | None = None

    def __post_init__(self) -> None:
        if len({len(v) for v in self.descriptors.values()}) != 1:
            raise ValueError("every network needs one descriptor per photo")
        if self.fusion is None and len(self.descriptors) != 1:
            raise ValueError("several networks' distances need a fusion to be one score")

    @staticmethod
    def single(descriptors: F32, network: str = "dlib") -> Score:
        return Score({network: np.asarray(descriptors, np.float32)})

    def __len__(self) -> int:
        return len(next(iter(self.descriptors.values())))

    def distances(self, rows: Rows, cols: Rows) -> F64:
        """(len(rows), len(cols)) distances between photos ``rows`` and photos ``cols``."""
        per = {k: euclidean(v[rows], v[cols]) for k, v in self.descriptors.items()}
        if self.fusion is None:
            return next(iter(per.values()))
        return self.fusion.in_units(self.fusion.fuse(per))


def _as_score(descriptors: F32 | Score) -> Score:
    return descriptors if isinstance(descriptors, Score) else Score.single(descriptors)


def pair_histograms(descriptors: F32 | Score, identity: npt.NDArray[np.int64], block: int = 1024) -> dict[str, Any]:
    """Histograms of all impostor and genuine distances among the photos (one descriptor row per photo, or a
    :class:`Score` over several networks)."""
    score = _as_score(descriptors)
    n = len(score)
    every = np.arange(n)
    n_bins = round(BIN_END / BIN_WIDTH)
    imp, gen = np.zeros(n_bins, np.int64), np.zeros(n_bins, np.int64)
    imp_above = gen_above = 0
    for start in range(0, n, block):
        rows = np.arange(start, min(start + block, n))
        d = score.distances(rows, every)
        upper = every[None, :] > rows[:, None]  # each unordered pair once
        same = identity[rows, None] == identity[None, :]
        for mask, acc in ((upper & ~same, imp), (upper & same, gen)):
            counts, above = _hist(d[mask])
            acc += np.asarray(counts, np.int64)
            if acc is imp:
                imp_above += above
            else:
                gen_above += above
    return {
        "impostor": {"counts": imp.tolist(), "above": imp_above},
        "genuine": {"counts": gen.tolist(), "above": gen_above},
    }


def nearest_histogram(nonmated: npt.NDArray[np.float64]) -> dict[str, Any]:
    counts, above = _hist(np.asarray(nonmated, np.float64))
    return {"counts": counts, "above": above}


MIX_THRESHOLDS = tuple(round(0.2 + 0.01 * i, 2) for i in range(61))  # 0.20 .. 0.80
# Upper ends of the probe slices (probes sorted by rate); narrow at the top where the false alerts come from.
MIX_LEVELS = (0.5, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999, 1.0)


def probe_rates(score: Score, probes: Rows, templates: Rows, same: npt.NDArray[np.bool_]) -> F64:
    """(len(probes), len(MIX_THRESHOLDS)): each probe photo's share of template photos within each threshold.

    ``same[i, j]`` marks template j as probe i's own identity (left out).
    """
    d = score.distances(probes, templates)
    d[same] = np.inf
    n = (~same).sum(axis=1).clip(min=1)
    d.sort(axis=1)
    thresholds = np.asarray(MIX_THRESHOLDS)
    counts = np.stack([np.searchsorted(row, thresholds, side="right") for row in d])
    return np.asarray(counts / n[:, None], np.float64)


def mixture(rates: npt.NDArray[np.float64]) -> dict[str, Any]:
    """Mean per-probe rate within each slice of MIX_LEVELS, per threshold."""
    r = np.sort(rates, axis=0)
    bounds = [0, *(round(level * len(r)) for level in MIX_LEVELS)]
    means = [[float(r[a:b, k].mean()) if b > a else 0.0 for a, b in pairwise(bounds)] for k in range(r.shape[1])]
    return {
        "thresholds": list(MIX_THRESHOLDS),
        "levels": list(MIX_LEVELS),
        "probes": len(r),
        "mean_rate": [[float(f"{v:.4g}") for v in row] for row in means],
    }


def build(
    descriptors: F32 | Score,
    identity: npt.NDArray[np.int64],
    nonmated_by_gallery: dict[int, npt.NDArray[np.float64]],
    source: dict[str, Any],
    rates: npt.NDArray[np.float64] | None = None,
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "source": source,
        "bin_width": BIN_WIDTH,
        "bin_end": BIN_END,
        **pair_histograms(descriptors, identity),
        "nonmated_nearest": {str(g): nearest_histogram(v) for g, v in sorted(nonmated_by_gallery.items())},
        **({"probe_rates": mixture(rates)} if rates is not None else {}),
    }


def write(cal: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(cal, separators=(",", ":")) + "\n", encoding="utf-8")


def user_path(home: Path) -> Path:
    return home / "calibration.json"


def score_mismatch(cal: Calibration, descriptors: Sequence[str]) -> str | None:
    """Why ``cal``'s figures are not those of the score matched with (``vision.descriptors``), or None."""
    if tuple(cal.descriptors) == tuple(descriptors):
        return None
    return (
        f"this calibration measured the {'+'.join(cal.descriptors)} score, but izde matches by the "
        f"{'+'.join(descriptors)} score: its figures are not this deployment's. On LFW dev-train 1:N the fused score "
        "at 0.486 falsely matches no more often than dlib's at 0.50 (docs/evaluation/fusion)"
    )


def built_in(descriptors: Sequence[str] = ("dlib",)) -> str:
    """The shipped calibration of the score ``descriptors`` match by (dlib's when none measured it)."""
    return RESOURCES.get(tuple(descriptors), DEFAULT_RESOURCE)


def load(
    path: Path | None = None, home: Path | None = None, descriptors: Sequence[str] = ("dlib",)
) -> tuple[Calibration, str]:
    """The calibration at ``path``, else the user's (``HOME/calibration.json``), else the one shipped with izde
    for the score ``descriptors`` match by; and where it came from."""
    if path is not None:
        if not path.is_file():
            raise InvalidInput(f"calibration file {path} does not exist", "write one with 'izde eval calibrate'")
        return Calibration.from_json(path.read_text(encoding="utf-8"), str(path)), str(path)
    if home is not None and user_path(home).is_file():
        p = user_path(home)
        return Calibration.from_json(p.read_text(encoding="utf-8"), str(p)), str(p)
    name = built_in(descriptors)
    text = resources.files("izde.eval").joinpath("data", name).read_text(encoding="utf-8")
    return Calibration.from_json(text, "built-in"), f"built-in ({name})"


def _cdf(h: dict[str, Any]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    counts = np.asarray(h["counts"], np.float64)
    total = counts.sum() + float(h["above"])
    edges = np.arange(len(counts) + 1) * BIN_WIDTH
    cdf = np.concatenate([[0.0], np.cumsum(counts)]) / max(total, 1.0)
    return edges.astype(np.float64), np.asarray(cdf, np.float64)


@dataclass(frozen=True)
class Calibration:
    source: dict[str, Any]
    impostor_edges: npt.NDArray[np.float64]
    impostor_cdf: npt.NDArray[np.float64]
    genuine_cdf: npt.NDArray[np.float64]
    nearest: dict[int, npt.NDArray[np.float64]]  # gallery size -> CDF of non-mated nearest distance
    mix_thresholds: npt.NDArray[np.float64] | None = None  # (T,)
    mix_weights: npt.NDArray[np.float64] | None = None  # (S,) share of probes per slice
    mix_rates: npt.NDArray[np.float64] | None = None  # (T, S) mean per-comparison rate per slice

    @staticmethod
    def from_json(text: str, name: str) -> Calibration:
        try:
            raw = json.loads(text)
            if raw.get("format") != FORMAT or float(raw["bin_width"]) != BIN_WIDTH:
                raise ValueError("unknown format")
            edges, imp = _cdf(raw["impostor"])
            _, gen = _cdf(raw["genuine"])
            nearest = {int(g): _cdf(h)[1] for g, h in raw.get("nonmated_nearest", {}).items()}
            mix = raw.get("probe_rates")
            if mix is not None:
                levels = np.asarray(mix["levels"], np.float64)
                mix_t = np.asarray(mix["thresholds"], np.float64)
                mix_w = np.diff(np.concatenate([[0.0], levels]))
                mix_r = np.asarray(mix["mean_rate"], np.float64).reshape(len(mix_t), len(levels))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise InvalidInput(
                f"{name} is not an izde calibration file ({e})", "write one with 'izde eval calibrate'"
            ) from None
        if mix is None:
            return Calibration(raw.get("source", {}), edges, imp, gen, nearest)
        return Calibration(raw.get("source", {}), edges, imp, gen, nearest, mix_t, mix_w, mix_r)

    @property
    def descriptors(self) -> tuple[str, ...]:
        """The networks whose score this calibration measured (files from before fusion measured dlib's)."""
        return tuple(self.source.get("descriptors", ("dlib",)))

    def impostor_rate(self, threshold: float) -> float:
        """Per-comparison false match rate p(t), interpolated within the histogram bins."""
        return float(np.interp(threshold, self.impostor_edges, self.impostor_cdf))

    def genuine_rate(self, threshold: float) -> float:
        """Share of same-person comparisons accepted at ``threshold`` (1:1)."""
        return float(np.interp(threshold, self.impostor_edges, self.genuine_cdf))

    def independent_model(self, threshold: float, watchlist_size: int, faces: int = FACES) -> float:
        """False alerts per ``faces`` faces if every comparison were an independent draw at the pooled rate."""
        p = self.impostor_rate(threshold)
        return faces * -float(np.expm1(watchlist_size * np.log1p(-min(p, 1.0 - 1e-15))))

    def false_alerts(self, threshold: float, watchlist_size: int, faces: int = FACES) -> float:
        """Expected false alerts per ``faces`` faces of people not on a watchlist of ``watchlist_size``.

        From the per-probe rates when the file has them (outside their threshold grid, the nearest grid
        point's rates scaled by the pooled impostor CDF); else from the pooled rate.
        """
        if self.mix_thresholds is None or self.mix_rates is None or self.mix_weights is None:
            return self.independent_model(threshold, watchlist_size, faces)
        t = self.mix_thresholds
        k = np.clip(np.searchsorted(t, threshold) - 1, 0, len(t) - 2)
        frac = (threshold - t[k]) / (t[k + 1] - t[k])
        if 0.0 <= frac <= 1.0:
            p = (1 - frac) * self.mix_rates[k] + frac * self.mix_rates[k + 1]
        else:
            edge = 0 if frac < 0 else len(t) - 1
            ref = self.impostor_rate(float(t[edge]))
            p = self.mix_rates[edge] * (self.impostor_rate(threshold) / ref if ref > 0 else 0.0)
        p = np.clip(p, 0.0, 1.0 - 1e-15)
        per_face = -np.expm1(watchlist_size * np.log1p(-p))
        return faces * float(np.dot(self.mix_weights, per_face))

    def threshold_for(self, rate: float, watchlist_size: int, faces: int = FACES) -> float:
        """The largest threshold whose expected false alerts per ``faces`` faces stay at or below ``rate``."""
        if not 0.0 < rate < faces:
            raise InvalidInput(f"target rate {rate} must be above 0 and below {faces} per {faces} faces")
        lo, hi = 0.0, float(self.impostor_edges[-1])
        if self.false_alerts(hi, watchlist_size, faces) <= rate:
            return hi
        for _ in range(60):
            mid = (lo + hi) / 2
            if self.false_alerts(mid, watchlist_size, faces) <= rate:
                lo = mid
            else:
                hi = mid
        return lo

    def measured_fpir(self, threshold: float) -> dict[int, float]:
        """Measured non-mated false positive identification rate at ``threshold`` per calibrated gallery size."""
        return {g: float(np.interp(threshold, self.impostor_edges, c)) for g, c in sorted(self.nearest.items())}

    def report(self, threshold: float, watchlist_size: int, target_rate: float | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "threshold": threshold,
            "watchlist_size": watchlist_size,
            "per_comparison_false_match_rate": self.impostor_rate(threshold),
            "false_alerts_per_10000_faces": self.false_alerts(threshold, watchlist_size),
            "model": "per-probe rates" if self.mix_rates is not None else "independent comparisons",
            "independent_model_per_10000_faces": self.independent_model(threshold, watchlist_size),
            "genuine_accept_rate_1to1": self.genuine_rate(threshold),
            "measured_fpir_by_gallery_size": {str(g): v for g, v in self.measured_fpir(threshold).items()},
        }
        if target_rate is not None:
            t = self.threshold_for(target_rate, watchlist_size)
            out["target"] = {
                "false_alerts_per_10000_faces": target_rate,
                "threshold": t,
                "genuine_accept_rate_1to1": self.genuine_rate(t),
            }
        return out
