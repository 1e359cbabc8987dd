"""Calibration: from measured distance distributions to expected false alerts in operation.

A calibration file holds histograms (numbers only, no images or descriptors) of
  - impostor distances: every comparison between photos of two different people in the dataset;
  - genuine distances: every comparison between two photos of the same person;
  - per gallery size G, the nearest-person distance of each non-mated search (the measured FPIR curve).

For a watchlist of N people (one template each) and threshold t, a face of someone not on the list raises a
false alert when any of the N comparisons is within t. Treating comparisons as independent,
    P(false alert per face) = 1 - (1 - p(t))^N,   p(t) = impostor CDF at t,
and the expected false alerts per 10,000 faces is 10,000 times that. Independence is an approximation (some
people look like many others); the measured non-mated curves stored beside it show how far off it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from izde.errors import InvalidInput
from izde.vision.types import F32

FORMAT = "izde-calibration/1"
BIN_WIDTH = 0.005
BIN_END = 1.0  # distances beyond this are counted in "above"; no threshold in use comes near it
FACES = 10_000
DEFAULT_RESOURCE = "lfw_devtrain_dlib.json"


def _hist(d: npt.NDArray[np.float64]) -> tuple[list[int], int]:
    edges = np.arange(0.0, BIN_END + BIN_WIDTH / 2, BIN_WIDTH)
    counts, _ = np.histogram(d, edges)
    return [int(c) for c in counts], int(np.count_nonzero(d >= BIN_END))


def pair_histograms(descriptors: F32, identity: npt.NDArray[np.int64], block: int = 1024) -> dict[str, Any]:
    """Histograms of all impostor and genuine distances among ``descriptors`` (one row per photo)."""
    x = np.asarray(descriptors, np.float64)
    sq = np.einsum("ij,ij->i", x, x)
    n_bins = round(BIN_END / BIN_WIDTH)
    imp, gen = np.zeros(n_bins, np.int64), np.zeros(n_bins, np.int64)
    imp_above = gen_above = 0
    for start in range(0, len(x), block):
        rows = slice(start, min(start + block, len(x)))
        d = np.sqrt(np.clip(sq[rows, None] + sq[None, :] - 2.0 * x[rows] @ x.T, 0.0, None))
        i_idx = np.arange(rows.start, rows.stop)[:, None]
        upper = np.arange(len(x))[None, :] > i_idx  # each unordered pair once
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


def build(
    descriptors: F32,
    identity: npt.NDArray[np.int64],
    nonmated_by_gallery: dict[int, npt.NDArray[np.float64]],
    source: dict[str, Any],
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "source": source,
        "bin_width": BIN_WIDTH,
        "bin_end": BIN_END,
        **pair_histograms(descriptors, identity),
        "nonmated_nearest": {str(g): nearest_histogram(v) for g, v in sorted(nonmated_by_gallery.items())},
    }


def write(cal: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(cal, separators=(",", ":")) + "\n", encoding="utf-8")


def user_path(home: Path) -> Path:
    return home / "calibration.json"


def load(path: Path | None = None, home: Path | None = None) -> tuple[Calibration, str]:
    """The calibration at ``path``, else the user's (``HOME/calibration.json``), else the one shipped with izde;
    and where it came from."""
    if path is not None:
        if not path.is_file():
            raise InvalidInput(f"calibration file {path} does not exist", "write one with 'izde eval calibrate'")
        return Calibration.from_json(path.read_text(encoding="utf-8"), str(path)), str(path)
    if home is not None and user_path(home).is_file():
        p = user_path(home)
        return Calibration.from_json(p.read_text(encoding="utf-8"), str(p)), str(p)
    text = resources.files("izde.eval").joinpath("data", DEFAULT_RESOURCE).read_text(encoding="utf-8")
    return Calibration.from_json(text, "built-in"), f"built-in ({DEFAULT_RESOURCE})"


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

    @staticmethod
    def from_json(text: str, name: str) -> Calibration:
        try:
            raw = json.loads(text)
            if raw.get("format") != FORMAT or float(raw["bin_width"]) != BIN_WIDTH:
                raise ValueError("unknown format")
            edges, imp = _cdf(raw["impostor"])
            _, gen = _cdf(raw["genuine"])
            nearest = {int(g): _cdf(h)[1] for g, h in raw.get("nonmated_nearest", {}).items()}
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise InvalidInput(
                f"{name} is not an izde calibration file ({e})", "write one with 'izde eval calibrate'"
            ) from None
        return Calibration(raw.get("source", {}), edges, imp, gen, nearest)

    def impostor_rate(self, threshold: float) -> float:
        """Per-comparison false match rate p(t), interpolated within the histogram bins."""
        return float(np.interp(threshold, self.impostor_edges, self.impostor_cdf))

    def genuine_rate(self, threshold: float) -> float:
        """Share of same-person comparisons accepted at ``threshold`` (1:1)."""
        return float(np.interp(threshold, self.impostor_edges, self.genuine_cdf))

    def false_alerts(self, threshold: float, watchlist_size: int, faces: int = FACES) -> float:
        """Expected false alerts per ``faces`` faces of people not on a watchlist of ``watchlist_size``."""
        p = self.impostor_rate(threshold)
        return faces * -float(np.expm1(watchlist_size * np.log1p(-min(p, 1.0 - 1e-15))))

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
