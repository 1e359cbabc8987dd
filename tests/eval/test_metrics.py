"""Error-rate functions against small tables worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from izde.eval import metrics

# Distances: genuine (same person) and impostor (different people); accept when distance <= t.
GEN = [0.1, 0.2, 0.3, 0.4, 0.7]
IMP = [0.35, 0.5, 0.6, 0.8, 0.9]


def test_accuracy_at_threshold() -> None:
    # t = 0.45: genuine accepted 0.1..0.4 (4 of 5); impostor rejected 0.5, 0.6, 0.8, 0.9 (4 of 5) -> 8/10.
    assert metrics.accuracy(GEN, IMP, 0.45) == pytest.approx(0.8)
    # t = 0.35 accepts the impostor at exactly 0.35 (<=): genuine 0.1-0.3 right (3), impostors 4 right.
    assert metrics.accuracy(GEN, IMP, 0.35) == pytest.approx((3 + 4) / 10)


def test_best_threshold() -> None:
    t, acc = metrics.best_threshold(GEN, IMP)
    # 8/10 is the best: between 0.3 and 0.35 (3 genuine + 5 impostors right) and between 0.4 and 0.5 (4 + 4).
    # Ties go to the smallest threshold: the midpoint 0.325.
    assert acc == pytest.approx(0.8)
    assert t == pytest.approx(0.325)


def test_threshold_at_rate_and_tar_at_far() -> None:
    # FAR 0.2 of 5 impostors allows 1 accepted: threshold just below the second smallest (0.5).
    t = metrics.threshold_at_rate(IMP, 0.2)
    assert t < 0.5 and t == pytest.approx(0.5)
    op = metrics.tar_at_far(GEN, IMP, 0.2)
    assert op.negative_rate == pytest.approx(0.2)
    assert op.positive_rate == pytest.approx(0.8)  # 0.1, 0.2, 0.3, 0.4
    assert op.reliable
    # FAR below 1/5: no impostor may pass; threshold just below 0.35.
    op0 = metrics.tar_at_far(GEN, IMP, 0.1)
    assert op0.negative_rate == 0.0 and op0.positive_rate == pytest.approx(0.6)
    assert not op0.reliable


def test_roc() -> None:
    t, far, tar = metrics.roc([0.1, 0.3], [0.2, 0.4])
    assert t.tolist() == [0.1, 0.2, 0.3, 0.4]
    assert far.tolist() == [0.0, 0.5, 0.5, 1.0]
    assert tar.tolist() == [0.5, 0.5, 1.0, 1.0]


def test_mated_and_nonmated_scores() -> None:
    d = np.array([[0.3, 0.6, 0.9], [0.5, 0.4, 0.7], [0.2, 0.8, 0.1]])
    m = metrics.mated_scores(d, [0, 0, 2])  # probe 1's mate (0) is beaten by person 1
    assert m[0] == pytest.approx(0.3) and math.isinf(m[1]) and m[2] == pytest.approx(0.1)
    assert metrics.rank1(m) == pytest.approx(2 / 3)
    assert metrics.nonmated_scores(d).tolist() == pytest.approx([0.3, 0.4, 0.1])


def test_fnir_at_fpir_and_det() -> None:
    mated = [0.2, 0.3, 0.45, np.inf]  # the last one is a rank-1 miss: never counts as found
    nonmated = [0.4, 0.5, 0.55, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0]
    # FPIR 0.1 of 10 allows one false positive: threshold just below 0.5; found: 0.2, 0.3, 0.45 -> FNIR 1/4.
    op = metrics.fnir_at_fpir(mated, nonmated, 0.1)
    assert op.threshold == pytest.approx(0.5) and op.threshold < 0.5
    assert op.negative_rate == pytest.approx(0.1)
    assert op.positive_rate == pytest.approx(0.25)
    # FPIR 0: threshold just below 0.4; 0.45 is lost too -> FNIR 2/4.
    assert metrics.fnir_at_fpir(mated, nonmated, 0.0).positive_rate == pytest.approx(0.5)
    t, fpir, fnir = metrics.det(mated, nonmated)
    assert t[0] == 0.4 and fpir[0] == pytest.approx(0.1) and fnir[0] == pytest.approx(0.5)
    assert fpir[-1] == 1.0 and fnir[-1] == pytest.approx(0.25)  # the rank-1 miss stays missed


def test_cross_validated_accuracy_separable() -> None:
    g = np.linspace(0.1, 0.4, 40)
    i = np.linspace(0.6, 0.9, 40)
    mean, std = metrics.cross_validated_accuracy(g, i, folds=10)
    assert mean == 1.0 and std == 0.0


def test_empty_scores_refused() -> None:
    with pytest.raises(ValueError):
        metrics.accept_rate([], 0.5)
