"""Score-level fusion of several descriptor networks, and a gallery that holds one template space per network.

Each network's distances live on their own scale (dlib: Euclidean, ~0.35 same / ~0.8 different person;
FaceRes: Euclidean between unit vectors, ~0.8 / ~1.2). Each is normalised by its impostor distribution,
``z = (d - impostor mean) / impostor std``, so a fused distance is a weighted mean of "how many impostor
standard deviations below the typical impostor" each network puts a comparison; lower is closer, as
everywhere in izde. The normalisers are fitted on LFW dev-train pairs only (``izde eval fusion``) and ship in
``izde/eval/data/fusion_lfw_devtrain.json``.

For matching, a fused distance is expressed back in dlib's units (dlib's impostor mean plus the fused value
times dlib's impostor std): an order-preserving map, so thresholds and stored threshold changes keep one
familiar scale, where 0.5 is about as far below the typical impostor as dlib's 0.5.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from izde.vision.types import F32
from izde.watchlist.index import Candidate, Gallery

F64 = npt.NDArray[np.float64]
CALIBRATION = Path(__file__).parent.parent / "eval" / "data" / "fusion_lfw_devtrain.json"
UNITS = "dlib"  # the network whose units fused distances are reported in
UNIT_NETWORKS = frozenset({"faceres"})  # compared as unit vectors (cosine)


@dataclass(frozen=True, slots=True)
class Normaliser:
    """Maps one network's distances to impostor standard units (lower is closer)."""

    impostor_mean: float
    impostor_std: float
    genuine_mean: float

    @staticmethod
    def fit(genuine: npt.ArrayLike, impostor: npt.ArrayLike) -> Normaliser:
        i = np.asarray(impostor, np.float64)
        return Normaliser(float(i.mean()), float(i.std()), float(np.mean(np.asarray(genuine, np.float64))))

    def __call__(self, d: npt.ArrayLike) -> F64:
        return (np.asarray(d, np.float64) - self.impostor_mean) / self.impostor_std

    @property
    def dprime(self) -> float:
        """How far genuine pairs sit from impostors, in impostor standard deviations."""
        return (self.impostor_mean - self.genuine_mean) / self.impostor_std

    def as_json(self) -> dict[str, float]:
        return {
            "impostor_mean": self.impostor_mean,
            "impostor_std": self.impostor_std,
            "genuine_mean": self.genuine_mean,
        }


@dataclass(frozen=True, slots=True)
class Fusion:
    """Per-network normalisers and weights; a fused distance is the weighted mean of normalised ones."""

    normalisers: dict[str, Normaliser]
    weights: dict[str, float]

    def fuse(self, distances: dict[str, F64]) -> F64:
        total = sum(self.weights.values())
        out = sum(self.weights[k] * self.normalisers[k](distances[k]) for k in self.weights)
        return np.asarray(out, np.float64) / total

    def in_units(self, fused: npt.ArrayLike, network: str = UNITS) -> F64:
        """Fused distances mapped onto ``network``'s distance scale (same impostor mean and spread)."""
        n = self.normalisers[network]
        return n.impostor_mean + n.impostor_std * np.asarray(fused, np.float64)


@cache  # read once: every gallery of a running session (rebuilt at each recheck) uses it
def load_fusion(path: Path = CALIBRATION) -> Fusion:
    """The normalisers and weights of a calibration file written by ``izde eval fusion --calibration-out``."""
    doc = json.loads(path.read_text())
    norms = {k: Normaliser(**v) for k, v in doc["normalisers"].items()}
    return Fusion(norms, {k: float(w) for k, w in doc["weights"].items()})


def person_distances(probes: F32, templates: F32, owner: npt.NDArray[np.int32], people: int) -> F64:
    """(K, P): each probe's smallest Euclidean distance to any template of each person (inf if none)."""
    p, t = np.asarray(probes, np.float64), np.asarray(templates, np.float64)
    out = np.full((len(p), people), np.inf)
    if len(t) == 0 or len(p) == 0:
        return out
    sq = (p * p).sum(1)[:, None] + (t * t).sum(1)[None, :] - 2.0 * p @ t.T
    dist = np.sqrt(np.clip(sq, 0.0, None))
    np.minimum.at(out, (slice(None), owner), dist)  # type: ignore[arg-type]
    return out


@dataclass(frozen=True)
class Space:
    """One network's templates: ``templates[i]`` belongs to person ``owner[i]`` of the gallery."""

    network: str
    templates: F32  # (M, D)
    owner: npt.NDArray[np.int32]  # (M,)
    unit: bool = False  # descriptors are compared as unit vectors: a probe (a mean of several) is renormalised

    @property
    def dim(self) -> int:
        return int(self.templates.shape[1])

    def __post_init__(self) -> None:
        if self.templates.ndim != 2 or self.owner.shape != (self.templates.shape[0],):
            raise ValueError(f"space {self.network}: templates must be (M, D) with one owner per template")


@dataclass(frozen=True)
class FusedGallery:
    """Persons with templates in several networks' spaces, compared by the fused, normalised distance.

    A person's fused distance combines, per network, the smallest distance to that person's templates in
    that network; a person lacking templates in a network cannot be matched (their distance is inf).
    """

    person_ids: tuple[str, ...]
    labels: tuple[str, ...]
    spaces: tuple[Space, ...]
    fusion: Fusion

    def __post_init__(self) -> None:
        if len(self.person_ids) != len(self.labels):
            raise ValueError("person_ids and labels must be parallel")
        names = {s.network for s in self.spaces}
        if names != set(self.fusion.weights):
            raise ValueError(f"the gallery's spaces {sorted(names)} are not the fusion's {sorted(self.fusion.weights)}")
        for s in self.spaces:
            if len(s.owner) and (s.owner.min() < 0 or s.owner.max() >= len(self.person_ids)):
                raise ValueError(f"space {s.network}: owner indexes a person that is not in the gallery")

    def __len__(self) -> int:
        return len(self.person_ids)

    def person_distances(self, probes: dict[str, F32]) -> F64:
        """(K, P) fused distances of each probe (one descriptor per network) to each person."""
        per = {
            s.network: person_distances(probes[s.network], s.templates, s.owner, len(self.person_ids))
            for s in self.spaces
        }
        return self.fusion.fuse(per)

    @property
    def networks(self) -> tuple[str, ...]:
        return tuple(s.network for s in self.spaces)

    def split(self, probe: F32) -> dict[str, F32]:
        """One probe laid out as the spaces' descriptors side by side, in the spaces' order, by network."""
        row = np.asarray(probe, np.float32).reshape(-1)
        dims = [s.dim for s in self.spaces]
        if row.shape[0] != sum(dims):
            raise ValueError(f"a probe for spaces {self.networks} has {sum(dims)} values, got {row.shape[0]}")
        out, start = {}, 0
        for s, d in zip(self.spaces, dims, strict=True):
            part = row[start : start + d]
            if s.unit:
                part = part / max(float(np.linalg.norm(part)), 1e-12)
            out[s.network] = np.asarray(part[None], np.float32)
            start += d
        return out

    def match(self, probe: F32, threshold: float) -> list[Candidate]:
        """Persons whose fused distance (in dlib's units) is within ``threshold``, closest first."""
        d = self.fusion.in_units(self.person_distances(self.split(probe))[0])
        hits = np.flatnonzero(d <= threshold)
        return [
            Candidate(self.person_ids[i], self.labels[i], float(d[i])) for i in hits[np.argsort(d[hits], kind="stable")]
        ]


# What a deployment matches with: dlib's templates alone, or several networks' fused.
MatchGallery = Gallery | FusedGallery


def match_gallery(person_ids: tuple[str, ...], labels: tuple[str, ...], spaces: tuple[Space, ...]) -> MatchGallery:
    """dlib's space alone as a :class:`Gallery`; several spaces fused with the shipped calibration."""
    if len(spaces) == 1:
        return Gallery(person_ids, labels, spaces[0].templates, spaces[0].owner)
    return FusedGallery(person_ids, labels, spaces, load_fusion())


def dlib_gallery(gallery: MatchGallery) -> Gallery:
    """dlib's templates of ``gallery`` alone (what per-frame dlib baselines compare with)."""
    if isinstance(gallery, Gallery):
        return gallery
    space = next(s for s in gallery.spaces if s.network == UNITS)
    return Gallery(gallery.person_ids, gallery.labels, space.templates, space.owner)


def screening(gallery: object) -> Gallery | None:
    """dlib's templates of a fused gallery, for a first look before the costlier networks run; None for a
    gallery of one network (there is nothing to save)."""
    return dlib_gallery(gallery) if isinstance(gallery, FusedGallery) else None


def spaces_of(gallery: MatchGallery) -> tuple[Space, ...]:
    """Every network's templates of ``gallery`` (a dlib-only gallery has one space)."""
    if isinstance(gallery, FusedGallery):
        return gallery.spaces
    return (Space(UNITS, gallery.templates, gallery.owner),)
