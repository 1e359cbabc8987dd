"""Robustness slices: the same 1:N search with degraded probes (small faces, JPEG artefacts), clean gallery.

Probes are the photos of an identification split, one mated photo per enrolled person and a fixed sample of
non-mated photos, so each slice costs a few thousand descriptor computations. Each slice reports
  - FNIR at FPIR 1e-2 with the threshold re-fitted on that slice's non-mated probes (the best the slice can
    do), and
  - FNIR and FPIR at the clean data's threshold for that FPIR (what a deployment tuned on good photos sees);
  - the share of degraded probes in which HOG (upsample 1) still finds the face.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from izde.config import VisionSettings
from izde.eval import metrics
from izde.eval.embed import CLEAN, Embeddings, Progress, embed_paths
from izde.eval.identification import Split, op_json, run_split
from izde.watchlist.fusion import Fusion

DEFAULT_SLICES = (CLEAN, "eyes40", "eyes30", "eyes20", "jpeg30")
FPIR = 1e-2


def probe_subset(split: Split, nonmated: int = 1000, mated: int | None = None) -> Split:
    """One mated probe per enrolled person (an evenly spaced sample of ``mated`` people's, if given) and an
    evenly spaced sample of the non-mated probes."""
    seen: set[int] = set()
    first = []
    for p, g in split.mated:
        if g not in seen:
            seen.add(g)
            first.append((p, g))
    if mated is not None:
        first = first[:: max(1, len(first) // mated)][:mated]
    step = max(1, len(split.nonmated) // nonmated)
    return replace(split, mated=tuple(first), nonmated=split.nonmated[::step][:nonmated])


def run(
    split: Split,
    clean: Embeddings,
    slices: tuple[str, ...] = DEFAULT_SLICES,
    vision: VisionSettings | None = None,
    workers: int = 1,
    progress: Callable[[str], Progress | None] = lambda _: None,
) -> dict[str, Any]:
    probes = [p for p, _ in split.mated] + list(split.nonmated)
    base = run_split(split, clean)
    fixed_t = metrics.threshold_at_rate(base.nonmated, FPIR)
    out = []
    for name in slices:
        emb = clean if name == CLEAN else embed_paths(probes, vision, name, workers, progress=progress(name))
        s = run_split(split, clean, emb)
        out.append(
            {
                "slice": name,
                "median_eye_px": float(np.median(emb.eye_px[[emb.rows()[p] for p in probes]])),
                "hog_finds_face": float(np.mean(emb.detected[[emb.rows()[p] for p in probes]])),
                **_score_slice(s.mated, s.nonmated, fixed_t),
            }
        )
    return {
        "gallery_size": len(split.names),
        "mated_probes": len(split.mated),
        "nonmated_probes": len(split.nonmated),
        "fpir": FPIR,
        "slices": out,
    }


def _score_slice(mated: metrics.F64, nonmated: metrics.F64, clean_threshold: float) -> dict[str, Any]:
    return {
        "rank1": metrics.rank1(mated),
        "refitted": op_json(metrics.fnir_at_fpir(mated, nonmated, FPIR)),
        "at_clean_threshold": {
            "threshold": clean_threshold,
            "fnir": metrics.fnir(mated, clean_threshold),
            "fpir": metrics.accept_rate(nonmated, clean_threshold),
        },
    }


def run_networks(
    split: Split,
    fusion: Fusion,
    slices: tuple[str, ...] = DEFAULT_SLICES,
    vision: VisionSettings | None = None,
    workers: int = 1,
) -> dict[str, Any]:
    """The slices with dlib alone, FaceRes alone and fused by ``fusion`` (fused distances in dlib's units):
    clean gallery, each network's descriptors of the same degraded probes (cut at dlib's landmarks)."""
    from izde.eval.fusion import DLIB, FACERES, FUSED, descriptor_sets, faceres_descriptors, split_distances

    vision = vision or VisionSettings()
    probes = [p for p, _ in split.mated] + list(split.nonmated)
    mates = np.array([g for _, g in split.mated])
    clean = descriptor_sets(split.paths(), vision, workers)
    thresholds: dict[str, float] = {}
    out = []
    for name in (CLEAN, *(s for s in slices if s != CLEAN)):  # clean first: it fixes the clean thresholds
        if name == CLEAN:
            degraded, eye_px = clean, embed_paths(probes, vision, CLEAN, workers).eye_px
        else:
            emb = embed_paths(probes, vision, name, workers)
            f = faceres_descriptors(probes, vision, workers=workers, variant=name)
            degraded = {
                DLIB: dict(zip(probes, emb.descriptors, strict=True)),
                FACERES: dict(zip(probes, f, strict=True)),
            }
            eye_px = emb.eye_px
        md, nd = {}, {}
        for k in clean:
            md[k], nd[k] = split_distances(split, clean[k], degraded[k])
        md[FUSED], nd[FUSED] = fusion.in_units(fusion.fuse(md)), fusion.in_units(fusion.fuse(nd))
        row: dict[str, Any] = {"slice": name, "median_eye_px": float(np.median(eye_px))}
        for k in md:
            m, n = metrics.mated_scores(md[k], mates), metrics.nonmated_scores(nd[k])
            thresholds.setdefault(k, metrics.threshold_at_rate(n, FPIR))
            row[k] = _score_slice(m, n, thresholds[k])
        out.append(row)
    return {
        "gallery_size": len(split.names),
        "mated_probes": len(split.mated),
        "nonmated_probes": len(split.nonmated),
        "fpir": FPIR,
        "slices": out,
    }
