"""1:1 verification on LFW-format pairs: accuracy, best threshold, TAR at fixed FAR, ROC."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from izde.eval import metrics
from izde.eval.datasets import Pair
from izde.eval.embed import Embeddings

FARS = (1e-2, 1e-3)


@dataclass(frozen=True)
class VerificationResult:
    genuine: metrics.F64
    impostor: metrics.F64
    threshold: float  # the settings' threshold
    misses: dict[str, int]  # how the faces of the images were found (hog / mmod / centre)

    def summary(self) -> dict[str, Any]:
        g, i = self.genuine, self.impostor
        best_t, best_acc = metrics.best_threshold(g, i)
        cv_mean, cv_std = metrics.cross_validated_accuracy(g, i)
        return {
            "pairs": {"same": int(g.size), "different": int(i.size)},
            "face_found_by": self.misses,
            "default_threshold": {
                "threshold": self.threshold,
                "accuracy": metrics.accuracy(g, i, self.threshold),
                "tar": metrics.accept_rate(g, self.threshold),
                "far": metrics.accept_rate(i, self.threshold),
            },
            "best_threshold": {"threshold": best_t, "accuracy": best_acc},
            "cross_validated_accuracy": {"folds": 10, "mean": cv_mean, "std": cv_std},
            "tar_at_far": [_op(metrics.tar_at_far(g, i, far)) for far in FARS],
            "distances": {
                "genuine_mean": float(g.mean()),
                "impostor_mean": float(i.mean()),
            },
        }


def _op(p: metrics.OperatingPoint) -> dict[str, Any]:
    return {
        "far": p.target,
        "threshold": p.threshold,
        "far_reached": p.negative_rate,
        "tar": p.positive_rate,
        "impostor_pairs": p.n_negatives,
        "measured": p.reliable,
    }


def verify(pairs: list[Pair], emb: Embeddings, threshold: float) -> VerificationResult:
    rows = emb.rows()
    a = emb.descriptors[[rows[p.a] for p in pairs]]
    b = emb.descriptors[[rows[p.b] for p in pairs]]
    d = np.linalg.norm(a.astype(np.float64) - b.astype(np.float64), axis=1)
    same = np.array([p.same for p in pairs], bool)
    if same.all() or not same.any():
        from izde.errors import InvalidInput

        raise InvalidInput("verification needs both same-person and different-person pairs")
    return VerificationResult(d[same], d[~same], threshold, emb.misses())


def pair_paths(pairs: list[Pair]) -> list[Any]:
    return [p for pair in pairs for p in (pair.a, pair.b)]
