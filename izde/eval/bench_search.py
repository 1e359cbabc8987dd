"""1:N search speed and memory against gallery size: exact numpy vs FAISS exact and approximate indexes.

Templates are synthetic unit vectors in 128 dimensions. Probes are mated: a template plus noise scaled so
that the probe sits at ``MATED_DISTANCE`` from it, about half the typical distance between two random
templates (sqrt 2), as a same-person pair sits at about half the distance of a different-person pair in dlib's
space (0.4 vs 0.85 on LFW). recall@1 is the share of probes whose nearest template from the approximate
index is the exact search's nearest template.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from izde.vision.types import DESCRIPTOR_DIM, F32
from izde.watchlist.faiss_index import make_faiss_index
from izde.watchlist.index import Gallery

MATED_DISTANCE = 0.65
DEFAULT_SIZES = (1_000, 10_000, 100_000, 1_000_000)
DEFAULT_METHODS = ("gallery", "numpy", "faiss-flat", "faiss-ivf", "faiss-hnsw")


def unit_vectors(n: int, rng: np.random.Generator) -> F32:
    x = rng.standard_normal((n, DESCRIPTOR_DIM), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def mated_probes(templates: F32, n: int, rng: np.random.Generator) -> tuple[F32, np.ndarray]:
    idx = rng.choice(len(templates), n, replace=False)
    noise = unit_vectors(n, rng) * MATED_DISTANCE
    return (templates[idx] + noise).astype(np.float32), idx


def index_bytes(index: Any) -> int:
    """Bytes the index holds: the size of its serialised form (vectors, lists, graph)."""
    import faiss

    return int(faiss.serialize_index(index).nbytes)


def _time_per_probe(fn: Callable[[F32], np.ndarray], probes: F32, min_seconds: float = 0.5) -> tuple[float, np.ndarray]:
    """Median seconds per single-probe search (batch size 1, as the pipeline searches), and the answers."""
    fn(probes[:1])  # warm-up
    times, answers = [], []
    for i in range(len(probes)):
        t = time.perf_counter()
        answers.append(fn(probes[i : i + 1]))
        times.append(time.perf_counter() - t)
        if sum(times) > min_seconds and i >= 20:
            break
    return float(np.median(times)), np.concatenate(answers)


def _numpy_nearest(templates: F32) -> Callable[[F32], np.ndarray]:
    sq = np.einsum("ij,ij->i", templates, templates)

    def search(p: F32) -> np.ndarray:
        return np.asarray(np.argmin(sq[None, :] - 2.0 * p @ templates.T, axis=1))

    return search


def _gallery_nearest(templates: F32) -> Callable[[F32], np.ndarray]:
    n = len(templates)
    ids = tuple(str(i) for i in range(n))
    g = Gallery(ids, ids, templates, np.arange(n, dtype=np.int32))
    return lambda p: np.asarray(np.argmin(g.person_distances(p), axis=1))


def _row(n: int, method: str, seconds: float, recall: float, build_s: float, mem: int, **extra: Any) -> dict[str, Any]:
    return {
        "templates": n,
        "method": method,
        "ms_per_probe": 1000 * seconds,
        "recall_at_1": recall,
        "build_s": build_s,
        "memory_mb": mem / 2**20,
        **extra,
    }


def bench_size(
    n: int,
    methods: tuple[str, ...],
    probes: int,
    ivf_nprobe: tuple[int, ...],
    hnsw_ef: tuple[int, ...],
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    templates = unit_vectors(n, rng)
    q, _ = mated_probes(templates, min(probes, n), rng)
    exact = _numpy_nearest(templates)(q)
    rows: list[dict[str, Any]] = []

    def recall(answers: np.ndarray) -> float:
        return float(np.mean(answers == exact[: len(answers)]))

    if "numpy" in methods:
        s, a = _time_per_probe(_numpy_nearest(templates), q)
        rows.append(_row(n, "numpy", s, recall(a), 0.0, templates.nbytes))
    if "gallery" in methods:
        t0 = time.perf_counter()
        fn = _gallery_nearest(templates)
        build = time.perf_counter() - t0
        s, a = _time_per_probe(fn, q)
        rows.append(_row(n, "gallery", s, recall(a), build, templates.nbytes + 8 * n))
    for kind in ("flat", "ivf", "hnsw"):
        if f"faiss-{kind}" not in methods:
            continue
        t0 = time.perf_counter()
        index = make_faiss_index(templates, kind)
        build = time.perf_counter() - t0
        mem = index_bytes(index)

        def search(p: F32, index: Any = index) -> np.ndarray:
            return np.asarray(index.search(p, 1)[1][:, 0])

        if kind == "flat":
            s, a = _time_per_probe(search, q)
            rows.append(_row(n, "faiss-flat", s, recall(a), build, mem))
        elif kind == "ivf":
            # nprobe values past nlist would repeat the exhaustive setting; the first of them is enough.
            for nprobe in sorted({min(v, int(index.nlist)) for v in ivf_nprobe}):
                index.nprobe = nprobe
                s, a = _time_per_probe(search, q)
                extra = {"nlist": int(index.nlist), "nprobe": int(index.nprobe)}
                rows.append(_row(n, "faiss-ivf", s, recall(a), build, mem, **extra))
        else:
            for ef in hnsw_ef:
                index.hnsw.efSearch = ef
                s, a = _time_per_probe(search, q)
                extra = {"M": int(index.hnsw.nb_neighbors(1)), "efSearch": ef}
                rows.append(_row(n, "faiss-hnsw", s, recall(a), build, mem, **extra))
        del index
    return rows


def run(
    sizes: tuple[int, ...] = DEFAULT_SIZES,
    methods: tuple[str, ...] = DEFAULT_METHODS,
    probes: int = 200,
    ivf_nprobe: tuple[int, ...] = (8, 16, 32, 64, 128, 256),
    hnsw_ef: tuple[int, ...] = (16, 32, 64, 128, 256, 512),
    seed: int = 0,
    log: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    import faiss

    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for n in sizes:
        for r in bench_size(n, methods, probes, ivf_nprobe, hnsw_ef, rng):
            rows.append(r)
            extra = {k: v for k, v in r.items() if k in ("nlist", "nprobe", "M", "efSearch")}
            log(f"{n:>9,} {r['method']:<11} {r['ms_per_probe']:8.3f} ms  recall {r['recall_at_1']:.3f}  {extra}")
    return {
        "probes": probes,
        "mated_distance": MATED_DISTANCE,
        "faiss_threads": int(faiss.omp_get_max_threads()),
        "rows": rows,
        "fastest_with_recall_0_99": _fastest(rows),
    }


def _fastest(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for n in sorted({r["templates"] for r in rows}):
        ok = [r for r in rows if r["templates"] == n and r["recall_at_1"] >= 0.99]
        if ok:
            best = min(ok, key=lambda r: r["ms_per_probe"])
            out[str(n)] = {k: v for k, v in best.items() if k != "templates"}
    return out
