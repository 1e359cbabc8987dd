"""A FAISS-backed 1:N index with :class:`Gallery`'s interface, for watchlists too large for exact search.

Gallery compares a probe with every template (exact, ~linear in the template count). Above
``AUTO_FAISS_TEMPLATES`` templates, :func:`build_index` returns a :class:`FaissGallery` instead: an IVF index
(or an HNSW graph) that looks at a small part of the templates per probe. It finds the ``k`` nearest
templates only; persons outside them get an infinite distance, which is harmless for matching because a
watchlist alert needs the probe within the threshold of a template, and any such template is among the
nearest. Measured recall@1 against the exact search is in docs/benchmarks/search.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from izde.vision.types import DESCRIPTOR_DIM, F32, I32
from izde.watchlist.index import DLIB_ONLY, Candidate, Gallery

IndexKind = Literal["flat", "ivf", "hnsw"]
# On a 2-core machine (docs/benchmarks) Gallery searches 100,000 templates in ~6 ms per probe and 1,000,000 in
# ~77 ms; IVF with nlist = 4 sqrt(M) and nprobe = nlist / 16 searches 1,000,000 in ~2 ms at recall@1 0.995
# (builds in ~1 min). HNSW needed efSearch 512 for recall 0.99 at 1,000,000 (4.6 ms, 4 min to build).
AUTO_FAISS_TEMPLATES = 100_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 40
HNSW_EF_SEARCH = 512
IVF_NPROBE_FRACTION = 16  # nprobe = nlist // this, at least IVF_MIN_NPROBE
IVF_MIN_NPROBE = 32


def make_faiss_index(templates: F32, kind: IndexKind = "ivf", nlist: int | None = None, seed: int = 0) -> Any:
    """A FAISS L2 index holding ``templates`` (row i gets id i)."""
    import faiss

    x = np.ascontiguousarray(templates, np.float32)
    index: Any
    if kind == "flat":
        index = faiss.IndexFlatL2(DESCRIPTOR_DIM)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(DESCRIPTOR_DIM, HNSW_M)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    elif kind == "ivf":
        n_lists = nlist or max(1, min(len(x) // 39, int(4 * np.sqrt(len(x)))))  # faiss wants >= 39 points per list
        quantizer = faiss.IndexFlatL2(DESCRIPTOR_DIM)
        index = faiss.IndexIVFFlat(quantizer, DESCRIPTOR_DIM, n_lists)
        rng = np.random.default_rng(seed)
        sample = x[rng.choice(len(x), min(len(x), n_lists * 64), replace=False)]
        index.train(sample)
        index.nprobe = min(n_lists, max(IVF_MIN_NPROBE, n_lists // IVF_NPROBE_FRACTION))
    else:
        raise ValueError(f"unknown index kind {kind!r}")
    index.add(x)
    return index


@dataclass(frozen=True)
class FaissGallery:
    """The same values and search interface as :class:`Gallery`, searched by a FAISS index."""

    person_ids: tuple[str, ...]
    labels: tuple[str, ...]
    templates: F32  # (M, 128)
    owner: I32  # (M,) index into person_ids
    kind: IndexKind = "ivf"
    k: int = 32  # nearest templates looked at per probe
    _index: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        Gallery(self.person_ids, self.labels, self.templates, self.owner)  # the same validation
        object.__setattr__(self, "_index", make_faiss_index(self.templates, self.kind) if len(self.templates) else None)

    @staticmethod
    def from_gallery(gallery: Gallery, kind: IndexKind = "ivf", k: int = 32) -> FaissGallery:
        return FaissGallery(gallery.person_ids, gallery.labels, gallery.templates, gallery.owner, kind, k)

    def __len__(self) -> int:
        return len(self.person_ids)

    @property
    def networks(self) -> tuple[str, ...]:
        return DLIB_ONLY

    def nearest(self, probes: F32, k: int | None = None) -> tuple[F32, np.ndarray]:
        """(K, k) distances (ascending) and template rows of the nearest templates; row -1 where none."""
        probes = np.ascontiguousarray(np.asarray(probes, np.float32).reshape(-1, DESCRIPTOR_DIM))
        kk = min(k or self.k, len(self.templates))
        if self._index is None or kk == 0:
            return np.zeros((len(probes), 0), np.float32), np.zeros((len(probes), 0), np.int64)
        sq, rows = self._index.search(probes, kk)
        return np.sqrt(np.clip(sq, 0.0, None)).astype(np.float32), rows

    def person_distances(self, probes: F32) -> F32:
        """(K, P): each probe's distance to each person's nearest template among the ``k`` found, else inf."""
        dist, rows = self.nearest(probes)
        out = np.full((len(dist), len(self.person_ids)), np.inf, np.float32)
        for i in range(len(dist)):
            ok = rows[i] >= 0
            np.minimum.at(out[i], self.owner[rows[i][ok]], dist[i][ok])
        return out

    def match(self, probe: F32, threshold: float) -> list[Candidate]:
        """Persons within ``threshold`` of the probe, closest first (each person once)."""
        dist, rows = self.nearest(probe)
        seen: set[int] = set()
        out: list[Candidate] = []
        for d, r in zip(dist[0].tolist(), rows[0].tolist(), strict=True):
            if r < 0 or d > threshold:
                continue
            p = int(self.owner[r])
            if p not in seen:
                seen.add(p)
                out.append(Candidate(self.person_ids[p], self.labels[p], float(d)))
        return out


def build_index(gallery: Gallery, auto_threshold: int = AUTO_FAISS_TEMPLATES) -> Gallery | FaissGallery:
    """The exact Gallery for ordinary watchlists, a FAISS IVF index above ``auto_threshold`` templates."""
    return FaissGallery.from_gallery(gallery) if len(gallery.templates) > auto_threshold else gallery
