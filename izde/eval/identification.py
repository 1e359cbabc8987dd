"""1:N identification on a folder-per-identity dataset: rank-1, FNIR at fixed FPIR, DET, per-group figures.

The split: identities with more photos than are enrolled are shuffled once (seeded) and the first G of them
form the gallery, so larger galleries contain the smaller ones. Each enrolled person's first photo(s) are
enrolled; up to ``max_probes`` of their other photos are mated probes (capped so that the few people with
hundreds of photos do not dominate). Every photo of the identities with too few photos to enrol (on LFW, the
2,854 people with a single photo) is a non-mated probe; this set is the same for every gallery size, so FPIR
can be compared across sizes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from izde.errors import InvalidInput
from izde.eval import metrics
from izde.eval.datasets import Identities, group_of
from izde.eval.embed import Embeddings
from izde.vision.types import F32
from izde.watchlist.index import Gallery

FPIRS = (1e-2, 1e-3)


@dataclass(frozen=True)
class Split:
    names: tuple[str, ...]  # enrolled identities, gallery order
    enrol: tuple[tuple[Path, ...], ...]  # their enrolled photos
    mated: tuple[tuple[Path, int], ...]  # (probe photo, index of the mate in names)
    nonmated: tuple[Path, ...]

    def paths(self) -> list[Path]:
        return [p for ps in self.enrol for p in ps] + [p for p, _ in self.mated] + list(self.nonmated)


def candidates(ids: Identities, enrol_photos: int, seed: int) -> list[int]:
    idx = [i for i, ps in enumerate(ids.photos) if len(ps) > enrol_photos]
    random.Random(seed).shuffle(idx)
    return idx


def make_split(ids: Identities, gallery_size: int, enrol_photos: int = 1, max_probes: int = 5, seed: int = 0) -> Split:
    cands = candidates(ids, enrol_photos, seed)
    if gallery_size > len(cands):
        raise InvalidInput(
            f"a gallery of {gallery_size} needs that many identities with more than {enrol_photos} photo(s); "
            f"{ids.root} has {len(cands)}",
            f"use --gallery-size {len(cands)} or less",
        )
    chosen = cands[:gallery_size]
    mated = [(p, g) for g, i in enumerate(chosen) for p in ids.photos[i][enrol_photos : enrol_photos + max_probes]]
    nonmated = [p for ps in ids.photos if len(ps) <= enrol_photos for p in ps]
    if not nonmated:
        raise InvalidInput(f"{ids.root} has no identities with {enrol_photos} photo(s) or fewer to use as non-mated")
    return Split(
        tuple(ids.names[i] for i in chosen),
        tuple(ids.photos[i][:enrol_photos] for i in chosen),
        tuple(mated),
        tuple(nonmated),
    )


def gallery_of(names: tuple[str, ...], templates: list[F32]) -> Gallery:
    """A gallery with one person per name; ``templates[i]`` holds person i's templates, (k, 128)."""
    owner = np.concatenate([np.full(len(t), i, np.int32) for i, t in enumerate(templates)])
    return Gallery(names, names, np.concatenate(templates).astype(np.float32), owner)


@dataclass(frozen=True)
class SearchScores:
    mated: metrics.F64  # per mated probe: mate's distance if rank 1, else inf
    nonmated: metrics.F64  # per non-mated probe: closest person's distance
    gallery_size: int
    mated_paths: tuple[Path, ...] = field(default=(), repr=False)
    nonmated_paths: tuple[Path, ...] = field(default=(), repr=False)

    def summary(self, fpirs: tuple[float, ...] = FPIRS, threshold: float | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "gallery_size": self.gallery_size,
            "mated_probes": int(self.mated.size),
            "nonmated_probes": int(self.nonmated.size),
            "rank1": metrics.rank1(self.mated),
            "fnir_at_fpir": [op_json(metrics.fnir_at_fpir(self.mated, self.nonmated, f)) for f in fpirs],
        }
        if threshold is not None:
            out["at_threshold"] = {
                "threshold": threshold,
                "fnir": metrics.fnir(self.mated, threshold),
                "fpir": metrics.accept_rate(self.nonmated, threshold),
            }
        return out


def op_json(p: metrics.OperatingPoint) -> dict[str, Any]:
    return {
        "fpir": p.target,
        "threshold": p.threshold,
        "fpir_reached": p.negative_rate,
        "fnir": p.positive_rate,
        "nonmated_probes": p.n_negatives,
        "measured": p.reliable,
    }


def search(gallery: Gallery, mated: F32, mates: np.ndarray, nonmated: F32) -> tuple[metrics.F64, metrics.F64]:
    m = metrics.mated_scores(gallery.person_distances(mated), mates)
    n = metrics.nonmated_scores(gallery.person_distances(nonmated))
    return m, n


def run_split(split: Split, emb: Embeddings, probe_emb: Embeddings | None = None) -> SearchScores:
    """Search every probe of ``split``; probes come from ``probe_emb`` (e.g. a degraded variant) when given."""
    rows = emb.rows()
    probes = probe_emb or emb
    prow = probes.rows()
    gallery = gallery_of(split.names, [emb.descriptors[[rows[p] for p in ps]] for ps in split.enrol])
    mated = probes.descriptors[[prow[p] for p, _ in split.mated]]
    nonmated = probes.descriptors[[prow[p] for p in split.nonmated]]
    m, n = search(gallery, mated, np.array([g for _, g in split.mated]), nonmated)
    return SearchScores(m, n, len(split.names), tuple(p for p, _ in split.mated), split.nonmated)


def by_group(scores: SearchScores, root: Path, labels: dict[str, str], fpir: float = 1e-2) -> dict[str, Any]:
    """The same figures per group label, at the overall threshold for ``fpir`` (groups are compared at one
    operating threshold, as a deployment would run them)."""
    t = metrics.threshold_at_rate(scores.nonmated, fpir)
    mg = [group_of(p, root, labels) for p in scores.mated_paths]
    ng = [group_of(p, root, labels) for p in scores.nonmated_paths]
    out: dict[str, Any] = {}
    for g in sorted({x for x in mg + ng if x is not None}):
        m = scores.mated[[x == g for x in mg]]
        n = scores.nonmated[[x == g for x in ng]]
        out[g] = {
            "mated_probes": int(m.size),
            "nonmated_probes": int(n.size),
            "rank1": metrics.rank1(m) if m.size else None,
            "fnir": metrics.fnir(m, t) if m.size else None,
            "fpir": metrics.accept_rate(n, t) if n.size else None,
        }
    return {"threshold": t, "overall_fpir_target": fpir, "groups": out}
