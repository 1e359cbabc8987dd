"""Biometric error rates from comparison distances. Pure functions of arrays; lower distance = more alike.

A comparison is accepted when its distance is at or below the threshold, as in :meth:`Gallery.match`.

Verification (1:1): genuine distances (same person) and impostor distances (different people).
  TAR(t) = share of genuine <= t; FAR(t) = share of impostor <= t.
Identification (1:N, ISO/IEC 19795-1 and NIST FRVT terms): one search per probe.
  A mated search succeeds at t when the enrolled mate is the closest person and its distance is <= t; the
  *mated score* is that distance, or +inf when another person is closer. FNIR(t) = share of mated scores > t.
  A non-mated search raises a false alarm at t when the closest person is within t; the *non-mated score* is
  that closest distance. FPIR(t) = share of non-mated scores <= t.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
Scores = npt.ArrayLike


def _arr(x: Scores) -> F64:
    a = np.asarray(x, np.float64).reshape(-1)
    if a.size == 0:
        raise ValueError("no scores")
    return a


def accept_rate(scores: Scores, threshold: float) -> float:
    """Share of distances at or below ``threshold``."""
    a = _arr(scores)
    return float(np.count_nonzero(a <= threshold) / a.size)


def accuracy(genuine: Scores, impostor: Scores, threshold: float) -> float:
    """Share of pairs decided right: genuine accepted, impostor rejected."""
    g, i = _arr(genuine), _arr(impostor)
    return float((np.count_nonzero(g <= threshold) + np.count_nonzero(i > threshold)) / (g.size + i.size))


def best_threshold(genuine: Scores, impostor: Scores) -> tuple[float, float]:
    """(threshold, accuracy) maximising accuracy; ties go to the smallest such threshold.

    Candidates are midpoints between consecutive distinct distances, plus one below and one above all.
    """
    g, i = _arr(genuine), _arr(impostor)
    values = np.unique(np.concatenate([g, i]))
    cands = np.concatenate([[values[0] - 1e-6], (values[:-1] + values[1:]) / 2, [values[-1] + 1e-6]])
    gs, is_ = np.sort(g), np.sort(i)
    correct = np.searchsorted(gs, cands, side="right") + (is_.size - np.searchsorted(is_, cands, side="right"))
    k = int(np.argmax(correct))
    return float(cands[k]), float(correct[k] / (g.size + i.size))


def cross_validated_accuracy(genuine: Scores, impostor: Scores, folds: int = 10) -> tuple[float, float]:
    """LFW's protocol: the threshold is chosen on the other folds; returns (mean, std) of the fold accuracies.

    Pairs are dealt round-robin into folds, so each fold keeps the same/different balance of the input.
    """
    g, i = _arr(genuine), _arr(impostor)
    accs = []
    for f in range(folds):
        gm, im = np.arange(g.size) % folds == f, np.arange(i.size) % folds == f
        if not gm.any() and not im.any():
            continue
        t, _ = best_threshold(g[~gm], i[~im])
        accs.append((np.count_nonzero(g[gm] <= t) + np.count_nonzero(i[im] > t)) / (gm.sum() + im.sum()))
    return float(np.mean(accs)), float(np.std(accs))


def threshold_at_rate(negatives: Scores, rate: float) -> float:
    """The largest threshold at which at most ``rate`` of ``negatives`` (impostor / non-mated) are accepted.

    With n negatives, ``floor(rate * n)`` of them may be accepted; the threshold is just below the next one.
    Below 1/n the estimate rests on zero events; callers report the resolution with :func:`resolution`.
    """
    a = np.sort(_arr(negatives))
    k = int(np.floor(rate * a.size + 1e-9))
    if k >= a.size:
        return float(np.inf)
    return float(np.nextafter(a[k], -np.inf))


def resolution(negatives: Scores) -> float:
    """The smallest non-zero rate the negatives can measure (1/n)."""
    return 1.0 / _arr(negatives).size


@dataclass(frozen=True, slots=True)
class OperatingPoint:
    target: float  # the FAR or FPIR asked for
    threshold: float
    negative_rate: float  # the FAR / FPIR reached at the threshold (<= target)
    positive_rate: float  # TAR (verification) or FNIR (identification) at the threshold
    n_negatives: int

    @property
    def reliable(self) -> bool:
        """At least one negative is allowed at the target: the point is measured, not extrapolated."""
        return self.target * self.n_negatives >= 1.0


def tar_at_far(genuine: Scores, impostor: Scores, far: float) -> OperatingPoint:
    i = _arr(impostor)
    t = threshold_at_rate(i, far)
    return OperatingPoint(far, t, accept_rate(i, t), accept_rate(genuine, t), i.size)


def roc(genuine: Scores, impostor: Scores) -> tuple[F64, F64, F64]:
    """(thresholds, FAR, TAR) at every distinct distance, thresholds ascending."""
    g, i = np.sort(_arr(genuine)), np.sort(_arr(impostor))
    t = np.unique(np.concatenate([g, i]))
    far = np.searchsorted(i, t, side="right") / i.size
    tar = np.searchsorted(g, t, side="right") / g.size
    return t, far.astype(np.float64), tar.astype(np.float64)


def mated_scores(distances: npt.ArrayLike, mates: npt.ArrayLike) -> F64:
    """Mated scores from a (K, P) person-distance matrix and each probe's mate column: inf unless rank 1."""
    d = np.asarray(distances, np.float64)
    m = np.asarray(mates, np.int64)
    mate = d[np.arange(len(m)), m]
    return np.where(np.argmin(d, axis=1) == m, mate, np.inf)


def nonmated_scores(distances: npt.ArrayLike) -> F64:
    """The closest person's distance per non-mated probe."""
    return np.asarray(np.min(np.asarray(distances, np.float64), axis=1), np.float64)


def rank1(mated: Scores) -> float:
    """Share of mated searches whose mate is the closest person, at any distance."""
    return float(np.mean(np.isfinite(_arr(mated))))


def fnir(mated: Scores, threshold: float) -> float:
    return 1.0 - accept_rate(mated, threshold)


def fnir_at_fpir(mated: Scores, nonmated: Scores, fpir: float) -> OperatingPoint:
    n = _arr(nonmated)
    t = threshold_at_rate(n, fpir)
    return OperatingPoint(fpir, t, accept_rate(n, t), fnir(mated, t), n.size)


def det(mated: Scores, nonmated: Scores) -> tuple[F64, F64, F64]:
    """(thresholds, FPIR, FNIR) at every distinct non-mated distance, thresholds ascending."""
    m, n = np.sort(_arr(mated)), np.sort(_arr(nonmated))
    t = np.unique(n)
    fpir = np.searchsorted(n, t, side="right") / n.size
    fnir_ = 1.0 - np.searchsorted(m, t, side="right") / m.size
    return t, fpir.astype(np.float64), fnir_.astype(np.float64)
