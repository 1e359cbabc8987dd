"""PNG plots of the evaluation. matplotlib is imported (with the file-only Agg backend) inside each function so
that importing izde never starts a GUI toolkit or slows other commands down."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from izde.eval import metrics


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def roc(genuine: metrics.F64, impostor: metrics.F64, threshold: float, path: Path) -> Path:
    plt = _pyplot()
    _, far, tar = metrics.roc(genuine, impostor)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    floor = 0.5 / impostor.size  # FAR 0 has no place on a log axis; draw it half a step below the resolution
    ax.step(np.maximum(far, floor), tar, where="post", label="ROC")
    ax.plot(
        [max(metrics.accept_rate(impostor, threshold), floor)],
        [metrics.accept_rate(genuine, threshold)],
        "o",
        label=f"threshold {threshold:.2f}",
    )
    ax.set_xscale("log")
    ax.set_xlabel("false accept rate (FAR)")
    ax.set_ylabel("true accept rate (TAR)")
    ax.set_ylim(0.8, 1.0)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title(f"Verification ROC ({genuine.size} same, {impostor.size} different pairs)")
    return _save(plt, fig, path)


def histograms(genuine: metrics.F64, impostor: metrics.F64, threshold: float, path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    bins = np.linspace(0.0, 1.2, 97)
    ax.hist(genuine, bins, alpha=0.6, label="same person", density=True)
    ax.hist(impostor, bins, alpha=0.6, label="different people", density=True)
    ax.axvline(threshold, color="k", linestyle="--", label=f"threshold {threshold:.2f}")
    ax.set_xlabel("Euclidean distance between descriptors")
    ax.set_ylabel("density")
    ax.legend()
    ax.set_title("Distances of verification pairs")
    return _save(plt, fig, path)


def det(curves: dict[str, tuple[metrics.F64, metrics.F64]], path: Path, title: str) -> Path:
    """FNIR against FPIR on log axes, one curve per label: label -> (mated scores, non-mated scores)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for label, (m, n) in curves.items():
        _, fpir, fnir = metrics.det(m, n)
        floor = 0.5 / m.size
        ax.step(fpir, np.maximum(fnir, floor), where="post", label=label)
    for x in (1e-3, 1e-2):
        ax.axvline(x, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(1e-4, 1.0)
    ax.set_xlabel("false positive identification rate (FPIR)")
    ax.set_ylabel("false negative identification rate (FNIR)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    ax.set_title(title)
    return _save(plt, fig, path)


def _save(plt: Any, fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
