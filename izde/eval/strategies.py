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
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from izde.errors import InvalidInput
from izde.eval import metrics
from izde.eval.datasets import Identities
from izde.eval.embed import Embeddings
from izde.eval.identification import FPIRS, gallery_of, op_json, search
from izde.vision.types import F32

GALLERY_STRATEGIES = ("one", "all-min", "all-mean", "all+mean")
PROBE_STRATEGIES = ("frame", "track")


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


def _gallery_templates(strategy: str, descs: list[F32]) -> list[F32]:
    if strategy == "one":
        return [d[:1] for d in descs]
    if strategy == "all-min":
        return descs
    if strategy == "all-mean":
        return [d.mean(axis=0, keepdims=True) for d in descs]
    if strategy == "all+mean":
        return [np.concatenate([d, d.mean(axis=0, keepdims=True)]) for d in descs]
    raise ValueError(strategy)


def _probes(strategy: str, tracks: list[F32]) -> F32:
    if strategy == "frame":
        return np.stack([t[0] for t in tracks]).astype(np.float32)
    return np.stack([t.mean(axis=0) for t in tracks]).astype(np.float32)


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
            results.append(
                {
                    "gallery": gs,
                    "probe": ps,
                    "rank1": metrics.rank1(m),
                    "fnir_at_fpir": [op_json(metrics.fnir_at_fpir(m, n, f)) for f in FPIRS],
                    "mated_median_distance": float(np.median(m[np.isfinite(m)])) if np.isfinite(m).any() else None,
                }
            )
    base = next(r for r in results if r["gallery"] == "one" and r["probe"] == "frame")
    best = min(results, key=lambda r: (r["fnir_at_fpir"][0]["fnir"], -r["rank1"]))
    return {
        "gallery_size": len(split.names),
        "enrolled_photos": {
            "mean": float(np.mean([len(e) for e in split.enrol])),
            "max": max(len(e) for e in split.enrol),
        },
        "track_length": len(split.mated_tracks[0][0]),
        "mated_tracks": len(split.mated_tracks),
        "nonmated_tracks": len(split.nonmated_tracks),
        "results": results,
        "best": {"gallery": best["gallery"], "probe": best["probe"]},
        "gain_over_one_frame": {
            f"{r['gallery']}/{r['probe']}": base["fnir_at_fpir"][0]["fnir"] - r["fnir_at_fpir"][0]["fnir"]
            for r in results
        },
    }
