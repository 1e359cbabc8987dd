"""Descriptors of dataset photos, computed once and cached on disk.

Embedding LFW with dlib costs ~90 ms per image, so every evaluation command reads descriptors from a cache
keyed by the image's path, size and modification time, the embedder's name and the probe variant (clean,
downscaled, JPEG-compressed). Only missing entries are computed, in worker processes when asked.

Face finding follows the usual LFW protocol for 250x250 deep-funneled photos: HOG with one upsampling and the
face nearest the centre, if it is large and central enough to be the photo's subject; on a miss, the MMOD
detector (when allowed) under the same rule, and last a centred box. Degraded probe
variants reuse the clean photo's face box, scaled, so that they measure recognition rather than detection;
whether HOG still finds the face in the degraded image is recorded separately.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from izde.config import VisionSettings
from izde.vision.types import DESCRIPTOR_DIM, F32, Faces, Image

Progress = Callable[[int, int], None]  # (done, total)
CACHE_ENV = "IZDE_EVAL_CACHE"
CLEAN = "clean"
METHODS = ("hog", "mmod", "centre", "box")
# A face box for photos where no detector fires: LFW's funneled faces sit in the centre, about 40% of the side.
CENTRE_FRACTION = 0.42
# The photo's subject is centred and large; a detection off centre or small is someone (or something) else,
# so it counts as a miss. On LFW 250x250 the subject's box is 90-130 px wide and within ~25 px of the centre.
MAX_CENTRE_OFFSET = 0.2  # of the shorter side
MIN_SUBJECT_WIDTH = 0.25  # of the shorter side
# Part of every cache key: changing how faces are found or cut must not reuse old descriptors.
FACE_PROTOCOL = "centre-v2"


def cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    from platformdirs import user_cache_path

    return user_cache_path("izde", appauthor=False) / "eval"


@dataclass(frozen=True)
class Variant:
    """How a probe photo is degraded before its face is embedded."""

    name: str
    eye_px: float | None = None  # downscale so the eyes are this many pixels apart
    jpeg_quality: int | None = None  # re-encode as JPEG at this quality

    @staticmethod
    def parse(name: str) -> Variant:
        """``clean``, ``eyes40`` (eyes 40 px apart), ``jpeg30`` (JPEG quality 30), or ``eyes30+jpeg50``."""
        eye: float | None = None
        q: int | None = None
        for part in name.split("+"):
            if part == CLEAN:
                continue
            if part.startswith("eyes") and part[4:].isdigit():
                eye = float(part[4:])
            elif part.startswith("jpeg") and part[4:].isdigit():
                q = int(part[4:])
            else:
                from izde.errors import InvalidInput

                raise InvalidInput(f"unknown probe variant {part!r}", "use clean, eyesN, jpegN or eyesN+jpegN")
        return Variant(name, eye, q)

    @property
    def is_clean(self) -> bool:
        return self.eye_px is None and self.jpeg_quality is None


@dataclass(frozen=True)
class Embeddings:
    """Descriptors of a list of photos, row i for ``paths[i]``."""

    paths: tuple[Path, ...]
    descriptors: F32  # (n, 128)
    method: tuple[str, ...]  # how the face was found: hog, mmod, centre; box for degraded variants
    detected: npt.NDArray[np.bool_]  # HOG (upsample 1) found the face in the image that was embedded
    eye_px: F32  # distance between the eye centres in the embedded image (pixels)

    def rows(self) -> dict[Path, int]:
        return {p: i for i, p in enumerate(self.paths)}

    def misses(self) -> dict[str, int]:
        return {m: self.method.count(m) for m in METHODS if self.method.count(m)}


@dataclass(frozen=True, slots=True)
class _Record:
    descriptor: F32
    box: tuple[int, int, int, int]
    landmarks: F32  # (5, 2)
    method: str
    detected: bool


# --- the work done per image (in worker processes) ---------------------------------------------------------


@cache
def _stages(vision_json: str) -> tuple[Any, Any, Any, Any]:
    from izde.vision.dlib_backend import DlibAligner, DlibMmodDetector, HogDetector
    from izde.vision.stack import build_descriptor

    vision = VisionSettings.model_validate_json(vision_json)
    # The same descriptor as the pipeline computes (mirrored averaging included), so figures carry over.
    return HogDetector(1), DlibMmodDetector(1), DlibAligner(), build_descriptor(vision)


def embedder_name(vision: VisionSettings) -> str:
    # The name is part of the cache key: descriptors of different networks or runtimes never mix.
    base = "dlib-resnet" if vision.embedder == "dlib" else f"{vision.embedder}-resnet"
    return f"{base}+flip" if vision.flip_average else base


def subject(faces: Faces, image: Image) -> Faces:
    """The face nearest the centre if it is plausibly the photo's subject, else no face."""
    if len(faces) == 0:
        return faces
    h, w = image.shape[:2]
    side = min(h, w)
    cx = (faces.boxes[:, 0] + faces.boxes[:, 2]) / 2 - w / 2
    cy = (faces.boxes[:, 1] + faces.boxes[:, 3]) / 2 - h / 2
    i = int(np.argmin(cx * cx + cy * cy))
    near = float(np.hypot(cx[i], cy[i])) <= MAX_CENTRE_OFFSET * side
    large = int(faces.widths()[i]) >= MIN_SUBJECT_WIDTH * side
    return faces.select(i) if near and large else faces.select(np.zeros(0, np.int64))


def _centre_box(image: Image) -> Faces:
    h, w = image.shape[:2]
    side = CENTRE_FRACTION * min(h, w)
    left, top = round(w / 2 - side / 2), round(h / 2 - side / 2)
    return Faces.from_boxes([(left, top, round(left + side), round(top + side))], [0.0])


def _read(path: str) -> Image:
    from izde.vision.images import read_image_file

    return read_image_file(Path(path))[0]


def degrade(image: Image, variant: Variant, eye_px: float) -> tuple[Image, float]:
    """The degraded image and the factor its coordinates were scaled by."""
    scale = 1.0
    out = image
    if variant.eye_px is not None and eye_px > variant.eye_px:
        scale = variant.eye_px / eye_px
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        # INTER_AREA averages the pixels a camera sensor would have merged; plain decimation would alias.
        out = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)
    if variant.jpeg_quality is not None:
        from izde.vision.images import decode_image, encode_jpeg

        out = decode_image(encode_jpeg(out, variant.jpeg_quality))
    return np.ascontiguousarray(out), scale


def eye_distance(landmarks: F32) -> float:
    return float(np.linalg.norm(landmarks[0:2].mean(axis=0) - landmarks[2:4].mean(axis=0)))


def _work(job: tuple[str, str, str, bool, tuple[int, int, int, int] | None, float]) -> tuple[str, _Record]:
    path, variant_name, vision_json, use_mmod, clean_box, clean_eye = job
    hog, mmod, aligner, embedder = _stages(vision_json)
    image = _read(path)
    variant = Variant.parse(variant_name)
    if variant.is_clean:
        face, method = subject(hog.detect(image), image), "hog"
        if len(face) == 0 and use_mmod:
            face, method = subject(mmod.detect(image), image), "mmod"
        if len(face) == 0:
            face, method = _centre_box(image), "centre"
        detected = method == "hog"
    else:
        assert clean_box is not None
        image, scale = degrade(image, variant, clean_eye)
        left, top, right, bottom = (round(v * scale) for v in clean_box)
        face = Faces.from_boxes([(left, top, right, bottom)], [0.0])
        method = "box"
        detected = len(hog.detect(image)) > 0
    aligned = aligner.align(image, face)
    assert aligned.chips is not None and aligned.landmarks is not None
    desc = np.asarray(embedder.embed(aligned.chips)[0], np.float32)
    left, top, right, bottom = (int(v) for v in face.boxes[0])
    return path, _Record(desc, (left, top, right, bottom), aligned.landmarks[0], method, detected)


def _init_worker() -> None:
    # One BLAS thread per worker: the parallelism is the worker processes themselves.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


# --- the cache ----------------------------------------------------------------------------------------------


class EmbeddingCache:
    """A SQLite file of descriptors. Only the parent process writes; workers return their results."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_dir() / "embeddings.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, descriptor BLOB, box TEXT, landmarks BLOB,"
                " method TEXT, detected INTEGER)"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=60)

    @staticmethod
    def key(path: Path, embedder: str, variant: str) -> str:
        st = path.stat()
        return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{embedder}|{variant}|{FACE_PROTOCOL}"

    def get(self, keys: Sequence[str]) -> dict[str, _Record]:
        out: dict[str, _Record] = {}
        with closing(self._connect()) as db:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                q = f"SELECT key, descriptor, box, landmarks, method, detected FROM emb WHERE key IN ({marks})"
                for k, d, b, lm, m, det in db.execute(q, chunk):
                    box = tuple(int(v) for v in b.split(","))
                    out[k] = _Record(
                        np.frombuffer(d, np.float32).copy(),
                        (box[0], box[1], box[2], box[3]),
                        np.frombuffer(lm, np.float32).reshape(5, 2).copy(),
                        m,
                        bool(det),
                    )
        return out

    def put(self, items: Sequence[tuple[str, _Record]]) -> None:
        with closing(self._connect()) as db, db:
            db.executemany(
                "INSERT OR REPLACE INTO emb VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        k,
                        r.descriptor.astype(np.float32).tobytes(),
                        ",".join(str(v) for v in r.box),
                        r.landmarks.astype(np.float32).tobytes(),
                        r.method,
                        int(r.detected),
                    )
                    for k, r in items
                ],
            )


def _run_jobs(
    jobs: list[tuple[str, str, str, bool, tuple[int, int, int, int] | None, float]], workers: int
) -> Iterator[tuple[str, _Record]]:
    if workers <= 1 or len(jobs) < 2 * workers:
        for job in jobs:
            yield _work(job)
        return
    import multiprocessing as mp

    # spawn, not fork: the parent may already hold dlib models and threads that must not be duplicated.
    with mp.get_context("spawn").Pool(workers, initializer=_init_worker) as pool:
        yield from pool.imap_unordered(_work, jobs, chunksize=4)


def embed_paths(
    paths: Sequence[Path],
    vision: VisionSettings | None = None,
    variant: str = CLEAN,
    workers: int = 1,
    mmod_fallback: bool = True,
    progress: Progress | None = None,
    store: EmbeddingCache | None = None,
) -> Embeddings:
    """Descriptors of ``paths`` (duplicates allowed), from the cache or computed and then cached."""
    vision = vision or VisionSettings()
    store = store or EmbeddingCache()
    name = embedder_name(vision)
    unique = list(dict.fromkeys(Path(p) for p in paths))
    keys = {p: store.key(p, name, variant) for p in unique}
    found = store.get(list(keys.values()))
    todo = [p for p in unique if keys[p] not in found]
    clean: dict[Path, _Record] = {}
    if todo and variant != CLEAN:
        Variant.parse(variant)  # a bad name fails before any work
        embed_paths(todo, vision, CLEAN, workers, mmod_fallback, None, store)
        clean_keys = {p: store.key(p, name, CLEAN) for p in todo}
        clean_recs = store.get(list(clean_keys.values()))
        clean = {p: clean_recs[clean_keys[p]] for p in todo}
    vision_json = vision.model_dump_json()
    jobs = [
        (
            str(p),
            variant,
            vision_json,
            mmod_fallback,
            clean[p].box if p in clean else None,
            eye_distance(clean[p].landmarks) if p in clean else 0.0,
        )
        for p in todo
    ]
    total, done = len(unique), len(unique) - len(todo)
    if progress:
        progress(done, total)
    batch: list[tuple[str, _Record]] = []
    for path, rec in _run_jobs(jobs, workers):
        batch.append((keys[Path(path)], rec))
        found[keys[Path(path)]] = rec
        done += 1
        if len(batch) >= 100:
            store.put(batch)
            batch = []
        if progress:
            progress(done, total)
    if batch:
        store.put(batch)
    recs = [found[keys[Path(p)]] for p in paths]
    return Embeddings(
        tuple(Path(p) for p in paths),
        np.stack([r.descriptor for r in recs]).astype(np.float32).reshape(-1, DESCRIPTOR_DIM),
        tuple(r.method for r in recs),
        np.array([r.detected for r in recs], bool),
        np.array([eye_distance(r.landmarks) for r in recs], np.float32),
    )
