"""Score fusion of dlib's descriptor with FaceRes's, measured on LFW against each network alone.

The fusion itself (per-network normalisation by the impostor distribution, weighted mean) is in
:mod:`izde.watchlist.fusion`; here its normalisers are fitted on LFW dev-train pairs (pairsDevTrain.txt) only.

FaceRes descriptors of dataset photos reuse the face each photo's dlib record found (its 5 landmarks, from
the evaluation cache), so both networks see the same face and only recognition is compared.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from izde.config import FUSED_THRESHOLD, VisionSettings
from izde.eval import identification, metrics
from izde.eval.datasets import Pair, load_identities, read_pairs
from izde.eval.embed import (
    CLEAN,
    EmbeddingCache,
    Variant,
    _read,
    _Record,
    degrade,
    embed_paths,
    embedder_name,
    eye_distance,
)
from izde.vision.types import F32, Image
from izde.watchlist.fusion import Fusion, Normaliser, person_distances

Progress = Callable[[int, int], None]
BUILTIN = Path(__file__).parent / "data" / "fusion_lfw_devtrain.json"
F64 = npt.NDArray[np.float64]
DLIB, FACERES, FUSED, FUSED_DPRIME = "dlib", "faceres", "fused", "fused-dprime"


def faceres_descriptors(
    paths: Sequence[Path],
    vision: VisionSettings | None = None,
    store: EmbeddingCache | None = None,
    progress: Progress | None = None,
    workers: int = 1,
    variant: str = CLEAN,
) -> F32:
    """(n, 1024) FaceRes descriptors of ``paths``, cut at the landmarks of each photo's dlib record; for a
    degraded ``variant`` (see :mod:`izde.eval.embed`), of the degraded image at the variant record's landmarks."""
    from izde.vision.faceres import NAME, PADDING, FaceresEmbedder

    vision = vision or VisionSettings()
    store = store or EmbeddingCache()
    unique = list(dict.fromkeys(Path(p) for p in paths))
    embed_paths(unique, vision, variant, workers=workers, store=store)  # the faces (landmarks), cached
    dkeys = {p: store.key(p, embedder_name(vision), variant) for p in unique}
    fkeys = {p: store.key(p, f"{NAME}-p{PADDING}", variant) for p in unique}
    found = store.get(list(fkeys.values()))
    todo = [p for p in unique if fkeys[p] not in found]
    if todo:
        faces = store.get([dkeys[p] for p in todo])
        image = _image_of(variant, store, vision)
        embedder = FaceresEmbedder()
        done = len(unique) - len(todo)
        for start in range(0, len(todo), 32):
            chunk = todo[start : start + 32]
            recs = [faces[dkeys[p]] for p in chunk]
            chips = np.concatenate(
                [embedder.chips(image(p), r.landmarks[None]) for p, r in zip(chunk, recs, strict=True)]
            )
            desc = embedder.embed_chips(chips)
            items = [
                (fkeys[p], _Record(desc[i], r.box, r.landmarks, r.method, r.detected))
                for i, (p, r) in enumerate(zip(chunk, recs, strict=True))
            ]
            store.put(items)
            found.update(items)
            done += len(chunk)
            if progress:
                progress(done, len(unique))
    return np.stack([found[fkeys[Path(p)]].descriptor for p in paths]).astype(np.float32)


def _image_of(variant: str, store: EmbeddingCache, vision: VisionSettings) -> Callable[[Path], Image]:
    """Reads a photo as the ``variant`` embedded it: degraded from the clean face's eye distance."""
    if variant == CLEAN:
        return lambda p: _read(str(p))
    v = Variant.parse(variant)

    def read(p: Path) -> Image:
        clean = store.get([store.key(p, embedder_name(vision), CLEAN)])
        (rec,) = clean.values()
        return degrade(_read(str(p)), v, eye_distance(rec.landmarks))[0]

    return read


def descriptor_sets(
    paths: Sequence[Path], vision: VisionSettings, workers: int = 1, progress: Progress | None = None
) -> dict[str, dict[Path, F32]]:
    """Both networks' descriptors of ``paths``, by network then path."""
    store = EmbeddingCache()
    unique = list(dict.fromkeys(Path(p) for p in paths))
    d = embed_paths(unique, vision, workers=workers, store=store).descriptors
    f = faceres_descriptors(unique, vision, store, progress, workers)
    return {DLIB: dict(zip(unique, d, strict=True)), FACERES: dict(zip(unique, f, strict=True))}


def pair_distances(pairs: Sequence[Pair], desc: dict[Path, F32]) -> F64:
    a = np.stack([desc[p.a] for p in pairs]).astype(np.float64)
    b = np.stack([desc[p.b] for p in pairs]).astype(np.float64)
    return np.asarray(np.linalg.norm(a - b, axis=1), np.float64)


def fit(pairs: Sequence[Pair], sets: dict[str, dict[Path, F32]], weights: dict[str, float] | None = None) -> Fusion:
    """Normalisers fitted on ``pairs`` (use dev-train pairs only) and the given weights (equal by default)."""
    same = np.array([p.same for p in pairs], bool)
    norms = {}
    for name, desc in sets.items():
        d = pair_distances(pairs, desc)
        norms[name] = Normaliser.fit(d[same], d[~same])
    return Fusion(norms, weights or dict.fromkeys(sets, 1.0))


def split_distances(
    split: identification.Split, desc: dict[Path, F32], probes: dict[Path, F32] | None = None
) -> tuple[F64, F64]:
    """Mated and non-mated probes' distances to every person; probes from ``probes`` (e.g. degraded) if given."""
    probes = desc if probes is None else probes
    owner = np.concatenate([np.full(len(ps), i, np.int32) for i, ps in enumerate(split.enrol)])
    templates = np.stack([desc[p] for ps in split.enrol for p in ps])
    mated = np.stack([probes[p] for p, _ in split.mated])
    nonmated = np.stack([probes[p] for p in split.nonmated])
    n = len(split.names)
    return person_distances(mated, templates, owner, n), person_distances(nonmated, templates, owner, n)


def nonmated_nearest(split: identification.Split, sets: dict[str, dict[Path, F32]], fusion: Fusion) -> F64:
    """The closest person's fused distance, in dlib's units, of each non-mated search of ``split``."""
    nd = {k: split_distances(split, desc)[1] for k, desc in sets.items()}
    return fusion.in_units(metrics.nonmated_scores(fusion.fuse(nd)))


def _identification(mated_d: F64, nonmated_d: F64, mates: np.ndarray) -> dict[str, Any]:
    m = metrics.mated_scores(mated_d, mates)
    n = metrics.nonmated_scores(nonmated_d)
    return {
        "rank1": metrics.rank1(m),
        "fnir_at_fpir": [identification.op_json(metrics.fnir_at_fpir(m, n, f)) for f in identification.FPIRS],
    }


def _verification(genuine: F64, impostor: F64) -> dict[str, Any]:
    _, acc = metrics.best_threshold(genuine, impostor)
    cv, cv_std = metrics.cross_validated_accuracy(genuine, impostor)
    return {
        "best_accuracy": acc,
        "cross_validated_accuracy": cv,
        "cross_validated_std": cv_std,
        "tar_at_far": [
            {"far": far, "tar": metrics.tar_at_far(genuine, impostor, far).positive_rate} for far in (1e-2, 1e-3)
        ],
    }


def _at_default_fpir(md: dict[str, F64], nd: dict[str, F64], mates: np.ndarray, threshold: float) -> dict[str, Any]:
    """dlib at izde's default threshold, and each other score at the threshold that gives no higher FPIR:
    the fair comparison for replacing the default (same false alarms, fewer misses?)."""
    scores = {k: (metrics.mated_scores(md[k], mates), metrics.nonmated_scores(nd[k])) for k in md}
    m, n = scores[DLIB]
    fpir = metrics.accept_rate(n, threshold)
    out: dict[str, Any] = {DLIB: {"threshold": threshold, "fpir": fpir, "fnir": metrics.fnir(m, threshold)}}
    for k, (m, n) in scores.items():
        if k != DLIB:
            t = metrics.threshold_at_rate(n, fpir)
            out[k] = {"threshold": t, "fpir": metrics.accept_rate(n, t), "fnir": metrics.fnir(m, t)}
    return out


SCREEN_MARGINS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3)


def screening(
    md: dict[str, F64], nd: dict[str, F64], mates: np.ndarray, fusion: Fusion, threshold: float
) -> list[dict[str, Any]]:
    """What screening by dlib's distance costs and saves at the fused ``threshold`` (dlib's units), per margin.

    The watcher runs the fused networks only for a probe whose nearest person by dlib's distance is within
    ``threshold + margin``; any other probe matches nobody. Per margin: FNIR and FPIR with screening (against
    none, the first row), and the share of mated and non-mated searches that still run the fused networks."""
    fused_m = fusion.in_units(md[FUSED])
    fused_n = fusion.in_units(nd[FUSED])
    mated = metrics.mated_scores(fused_m, mates)
    nonmated = metrics.nonmated_scores(fused_n)
    near_m = np.min(md[DLIB], axis=1)
    near_n = np.min(nd[DLIB], axis=1)
    rows = []
    for margin in (None, *SCREEN_MARGINS):
        limit = np.inf if margin is None else threshold + margin
        run_m, run_n = near_m <= limit, near_n <= limit
        rows.append(
            {
                "margin": margin,
                "fnir": metrics.fnir(np.where(run_m, mated, np.inf), threshold),
                "fpir": metrics.accept_rate(np.where(run_n, nonmated, np.inf), threshold),
                "fused_run_mated": float(run_m.mean()),
                "fused_run_nonmated": float(run_n.mean()),
            }
        )
    return rows


def cost_per_face(n: int = 32, repeats: int = 3) -> dict[str, float]:
    """Milliseconds per face of each network on this machine (batch of ``n`` chips, best of ``repeats``)."""
    from izde.vision.faceres import SIZE, FaceresEmbedder
    from izde.vision.onnx_backend import OnnxEmbedder
    from izde.vision.types import CHIP_SIZE

    rng = np.random.default_rng(0)
    out = {}
    for name, embed, size in (
        (DLIB, OnnxEmbedder().embed, CHIP_SIZE),
        (FACERES, FaceresEmbedder().embed_chips, SIZE),
    ):
        chips = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
        embed(chips[:2])
        best = min(_timed(lambda e=embed, c=chips: e(c)) for _ in range(repeats))  # type: ignore[misc]
        out[name] = 1000 * best / n
    return out


def _timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def compare(
    root: Path,
    gallery_sizes: Sequence[int] = (100, 1000),
    workers: int = 1,
    progress: Progress | None = None,
    weights: dict[str, float] | None = None,
    flip_average: bool = True,
    plots: Path | None = None,
) -> dict[str, Any]:
    """dlib alone, FaceRes alone and fused (equal weights, and weights by each network's d' on the pairs):
    verification on the pairs and 1:N per gallery size; a DET plot per gallery size into ``plots``."""
    from izde.config import MatchSettings

    default_threshold = MatchSettings().threshold
    vision = VisionSettings(flip_average=flip_average)
    pairs = read_pairs(root)
    ids = load_identities(root)
    splits = {g: identification.make_split(ids, g) for g in gallery_sizes}
    paths = [p for pr in pairs for p in (pr.a, pr.b)] + [p for s in splits.values() for p in s.paths()]
    sets = descriptor_sets(paths, vision, workers, progress)
    fusion = fit(pairs, sets, weights)
    by_dprime = Fusion(fusion.normalisers, {k: n.dprime for k, n in fusion.normalisers.items()})
    same = np.array([p.same for p in pairs], bool)
    pd = {k: pair_distances(pairs, v) for k, v in sets.items()}
    pd[FUSED], pd[FUSED_DPRIME] = fusion.fuse(pd), by_dprime.fuse(pd)
    result: dict[str, Any] = {
        "dataset": str(root),
        "calibration": {
            "pairs": len(pairs),
            "normalisers": {k: n.as_json() for k, n in fusion.normalisers.items()},
            "weights": fusion.weights,
            "dprime_weights": by_dprime.weights,
        },
        "verification": {k: _verification(d[same], d[~same]) for k, d in pd.items()},
        "identification": [],
    }
    for g, split in splits.items():
        mates = np.array([m for _, m in split.mated])
        md, nd = {}, {}
        for k, desc in sets.items():
            md[k], nd[k] = split_distances(split, desc)
        md[FUSED], nd[FUSED] = fusion.fuse(md), fusion.fuse(nd)
        md[FUSED_DPRIME], nd[FUSED_DPRIME] = by_dprime.fuse(md), by_dprime.fuse(nd)
        row: dict[str, Any] = {
            "gallery_size": g,
            "mated_probes": len(split.mated),
            "nonmated_probes": len(split.nonmated),
        }
        row.update({k: _identification(md[k], nd[k], mates) for k in md})
        row["at_dlib_default_fpir"] = _at_default_fpir(md, nd, mates, default_threshold)
        row["screening"] = screening(md, nd, mates, fusion, FUSED_THRESHOLD)
        result["identification"].append(row)
        if plots is not None:
            from izde.eval import plots as plot

            curves = {k: (metrics.mated_scores(md[k], mates), metrics.nonmated_scores(nd[k])) for k in md}
            name = f"fusion_det_g{g}.png"
            plot.det(curves, plots / name, f"LFW dev-train 1:N, {g} people, one photo each")
            row["plot"] = name
    return result


def table(result: dict[str, Any]) -> list[str]:
    """Markdown: FNIR at FPIR 1e-2 / 1e-3 per gallery size and verification, per network and fused."""
    names = (DLIB, FACERES, FUSED, FUSED_DPRIME)
    lines = [
        "| | " + " | ".join(names) + " |",
        "| --- | " + " | ".join("---" for _ in names) + " |",
    ]
    v = result["verification"]
    lines.append(
        "| LFW pairs, 10-fold accuracy | " + " | ".join(f"{v[n]['cross_validated_accuracy']:.2%}" for n in names) + " |"
    )
    lines.append("| TAR at FAR 1e-3 | " + " | ".join(f"{v[n]['tar_at_far'][1]['tar']:.2%}" for n in names) + " |")
    for row in result["identification"]:
        for i, f in enumerate(identification.FPIRS):
            cells = []
            for n in names:
                op = row[n]["fnir_at_fpir"][i]
                cells.append(f"{op['fnir']:.2%}" + ("" if op["measured"] else " (extrapolated)"))
            lines.append(f"| 1:N G={row['gallery_size']}, FNIR at FPIR {f:g} | " + " | ".join(cells) + " |")
    for row in result["identification"]:
        at = row["at_dlib_default_fpir"]
        cells = [f"{at[n]['fnir']:.2%} (FPIR {at[n]['fpir']:.2%})" for n in names]
        lines.append(f"| 1:N G={row['gallery_size']}, FNIR at dlib's default FPIR | " + " | ".join(cells) + " |")
    if "ms_per_face" in result:
        ms = result["ms_per_face"]
        cost = [f"{ms[DLIB]:.1f}", f"{ms[FACERES]:.1f}", *[f"{ms[DLIB] + ms[FACERES]:.1f}"] * 2]
        lines.append("| descriptor ms per face (CPU, batch 32) | " + " | ".join(cost) + " |")
    screened = [row for row in result["identification"] if "screening" in row]
    if screened:
        lines += [
            "",
            f"Screening by dlib's distance at the fused threshold {FUSED_THRESHOLD} (FaceRes runs only for searches "
            "whose nearest person by dlib is within threshold + margin):",
            "",
            "| people | margin | FNIR | FPIR | FaceRes run, mated | FaceRes run, non-mated |",
            "| ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in screened:
            for r in row["screening"]:
                m = "none" if r["margin"] is None else f"{r['margin']:.2f}"
                lines.append(
                    f"| {row['gallery_size']:,} | {m} | {r['fnir']:.2%} | {r['fpir']:.2%} | "
                    f"{r['fused_run_mated']:.0%} | {r['fused_run_nonmated']:.0%} |"
                )
    for row in result["identification"]:
        if "plot" in row:
            lines.append(f"\n![DET, {row['gallery_size']} people]({row['plot']})")
    return lines


def calibration_doc(result: dict[str, Any], command: str) -> dict[str, Any]:
    """What a deployment needs to fuse scores: the normalisers, equal weights, and the fused threshold that
    keeps the FPIR of dlib at izde's default threshold on the largest measured gallery."""
    largest = max(result["identification"], key=lambda r: r["gallery_size"])
    at = largest["at_dlib_default_fpir"]
    return {
        "source": {"dataset": result["dataset"], "command": command, "pairs": result["calibration"]["pairs"]},
        "normalisers": result["calibration"]["normalisers"],
        "weights": result["calibration"]["weights"],
        "threshold": at[FUSED]["threshold"],
        "threshold_basis": {
            "gallery_size": largest["gallery_size"],
            "dlib_threshold": at[DLIB]["threshold"],
            "fpir": at[FUSED]["fpir"],
            "dlib_fpir": at[DLIB]["fpir"],
        },
    }


def load_calibration(path: Path = BUILTIN) -> tuple[Fusion, float]:
    """The fusion and its threshold from a file written by ``izde eval fusion --calibration-out``."""
    import json

    from izde.watchlist.fusion import load_fusion

    return load_fusion(path), float(json.loads(path.read_text())["threshold"])


@dataclass(frozen=True)
class QualityWeights:
    """Per-network fusion weights that depend on the face's size: each network's d' on the pairs whose
    smaller face falls in the same band of eye distance (pixels). ``edges`` split the bands."""

    edges: F64  # (bands - 1,)
    weights: dict[str, F64]  # per network, (bands,)

    def of(self, eye_px: npt.ArrayLike) -> dict[str, F64]:
        """Each network's weight for faces with these eye distances."""
        band = np.searchsorted(self.edges, np.asarray(eye_px, np.float64))
        return {k: w[band] for k, w in self.weights.items()}

    def as_json(self) -> dict[str, Any]:
        return {"eye_px_edges": self.edges.tolist(), "weights": {k: w.tolist() for k, w in self.weights.items()}}


def fit_quality_weights(
    pairs: Sequence[Pair], sets: dict[str, dict[Path, F32]], eye_px: dict[Path, float], bands: int = 3
) -> QualityWeights:
    """Bands of equal pair count by the smaller face's eye distance; in each, each network's d'."""
    q = np.array([min(eye_px[p.a], eye_px[p.b]) for p in pairs])
    same = np.array([p.same for p in pairs], bool)
    edges = np.quantile(q, np.linspace(0, 1, bands + 1)[1:-1])
    band = np.searchsorted(edges, q)
    weights = {}
    for name, desc in sets.items():
        d = pair_distances(pairs, desc)
        weights[name] = np.array(
            [Normaliser.fit(d[same & (band == b)], d[~same & (band == b)]).dprime for b in range(bands)]
        )
    return QualityWeights(np.asarray(edges, np.float64), weights)


def fuse_per_probe(fusion: Fusion, distances: dict[str, F64], weights: dict[str, F64]) -> F64:
    """Like :meth:`Fusion.fuse` on (K, P) distances, but with one weight per probe (row) and network."""
    total = np.sum([weights[k] for k in weights], axis=0)[:, None]
    out = np.sum([weights[k][:, None] * fusion.normalisers[k](distances[k]) for k in weights], axis=0)
    return np.asarray(out / total, np.float64)
