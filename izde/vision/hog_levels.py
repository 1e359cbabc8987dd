"""dlib's HOG face detection of one image cut by pyramid level into jobs that run on several cores at once.

dlib scans an image pyramid: the image (upsampled ``upsample`` times), then each level 5/6 the size of the one
before (``pyramid_down<6>``), every level on its own. A job here scans a run of consecutive levels: it starts
from the first of them, built by dlib's own resampling, with a copy of the detector limited to as many levels
as it scans (``max_pyramid_levels``; the last job scans to the end). Each level's picture, features and
detections are then those of the single-threaded run, boxes are mapped back from the level they were found on
as dlib maps them, and the jobs' detections are joined by dlib's own non-maximum suppression (highest score
first, dlib's overlap test), so the split finds the same faces with the same scores. Nothing is scanned twice:
a job costs about what its levels cost in one run, plus resampling down to its first level.

The limited copies are made by changing that one field in dlib's serialized model; its layout is checked when
read, and a dlib whose model reads otherwise fails loudly rather than detecting differently.

Cutting the frame into strips does not: dlib resamples each level over the whole width of what it is given, so
a strip's levels sample other points than the frame's (measured on crowd.mp4 at 720p: scores moved by up to
0.4 and about one face in five came or went, however much the strips overlapped).

What can differ: a face the single run keeps because the box that would have hidden it was itself hidden by
a third (a chain across two jobs) is lost, and a score tie may be broken the other way; neither was seen on
the shared clips.
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from izde.vision.types import Faces, Image

# Each pyramid level has (5/6)^2 the pixels of the one before; scanning costs about its pixels.
LEVEL_AREA = (5 / 6) ** 2
# The fields of dlib's serialized object_detector<scan_fhog_pyramid<pyramid_down<6>>> before its overlap test,
# all integers: versions, feature extractor, features, cell size, padding, window, max levels, min layer size.
_FIELDS = ("version", "scanner_version", "fe", "feats", "cell_size", "padding", "window_w", "window_h")
_MAX_LEVELS = len(_FIELDS)  # index of max_pyramid_levels

_per_thread = threading.local()


@dataclass(frozen=True, slots=True)
class Hits:
    """One job's detections: boxes (K, 4) inclusive, in the coordinates of the upsampled image, and scores."""

    boxes: np.ndarray
    scores: np.ndarray


def level_cuts(parts: int) -> tuple[int, ...]:
    """First pyramid level of each job after the first, so each job scans about the same pixels: the first
    job's levels hold ``1 - LEVEL_AREA^cut`` of them. The first level alone holds 31%, so beyond three or four
    jobs more add nothing."""
    cuts: list[int] = []
    for i in range(1, parts):
        cut = max(1, round(math.log(1 - i / parts) / math.log(LEVEL_AREA)))
        if not cuts or cut > cuts[-1]:
            cuts.append(cut)
    return tuple(cuts)


def _read_int(data: bytes, at: int) -> tuple[int, int]:
    """dlib's integer encoding: a byte holding the length (0x80: negative), then the bytes, little-endian."""
    head = data[at]
    n = head & 0x0F
    value = int.from_bytes(data[at + 1 : at + 1 + n], "little")
    return (-value if head & 0x80 else value), at + 1 + n


def _read_float(data: bytes, at: int) -> tuple[float, int]:
    """dlib's float encoding: a mantissa and a power of two, each an integer."""
    mantissa, at = _read_int(data, at)
    exponent, at = _read_int(data, at)
    return math.ldexp(mantissa, exponent), at


def _write_int(value: int) -> bytes:
    body = abs(value).to_bytes(max(1, (abs(value).bit_length() + 7) // 8), "little")
    return bytes([len(body) | (0x80 if value < 0 else 0)]) + body


@dataclass(frozen=True, slots=True)
class _Model:
    """dlib's frontal face detector as serialized, with where its level limit is and its overlap test."""

    data: bytes
    levels_at: tuple[int, int]  # byte range of max_pyramid_levels
    iou: float
    covered: float

    def limited(self, levels: int) -> bytes:
        start, end = self.levels_at
        return self.data[:start] + _write_int(levels) + self.data[end:]


@cache
def _model() -> _Model:
    import dlib

    data = _round_trip(lambda path: dlib.get_frontal_face_detector().save(path))
    at = 0
    values = []
    for _ in range(len(_FIELDS) + 3):  # ... max levels, min layer width and height
        start = at
        value, at = _read_int(data, at)
        values.append((value, start, at))
    named = dict(zip(_FIELDS, (v for v, _, _ in values), strict=False))
    if (named["version"], named["scanner_version"], named["cell_size"], named["window_w"]) != (2, 1, 8, 80):
        raise RuntimeError(f"unexpected layout of dlib's frontal face detector: {named}")
    _, at = _read_float(data, at)  # nuclear norm regularization strength
    _, at = _read_int(data, at)  # feature dimensions
    iou, at = _read_float(data, at)
    covered, at = _read_float(data, at)
    _, start, end = values[_MAX_LEVELS]
    return _Model(data, (start, end), iou, covered)


def _round_trip(write: Callable[[str], None]) -> bytes:
    """What dlib writes to a file, read back (dlib saves and loads detectors by path only)."""
    fd, path = tempfile.mkstemp(prefix="izde-hog-", suffix=".svm")
    os.close(fd)
    try:
        write(path)
        return Path(path).read_bytes()
    finally:
        Path(path).unlink()


def _load(data: bytes) -> Any:
    import dlib

    fd, path = tempfile.mkstemp(prefix="izde-hog-", suffix=".svm")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return dlib.fhog_object_detector(path)
    finally:
        Path(path).unlink()


def thread_detector(levels: int | None = None) -> Any:
    """This thread's frontal face detector scanning at most ``levels`` pyramid levels (None: all). One per
    thread: dlib's detector keeps scratch buffers and releases the GIL, so threads sharing one get wrong boxes.
    Loaded from the serialized model (~2 ms) rather than dlib's built-in text (~0.25 s each time)."""
    cached: dict[int | None, Any] | None = getattr(_per_thread, "detectors", None)
    if cached is None:
        cached = _per_thread.detectors = {}
    if levels not in cached:
        model = _model()
        cached[levels] = _load(model.data if levels is None else model.limited(levels))
    return cached[levels]


def upsampled(image: Image, times: int) -> Image:
    """``image`` upsampled as dlib's detector does before scanning (its pyramid_up: bilinear, to the size
    ``pyramid_down<2>`` maps the image's rectangle up to)."""
    import dlib

    pyr = dlib.pyramid_down(2)
    for _ in range(times):
        h, w = image.shape[:2]
        r = pyr.rect_up(dlib.rectangle(0, 0, w - 1, h - 1))
        image = dlib.resize_image(image, r.bottom() + 1, r.right() + 1)
    return image


def _boxes(rects: Sequence[Any]) -> np.ndarray:
    return np.array([[r.left(), r.top(), r.right(), r.bottom()] for r in rects], np.int64).reshape(-1, 4)


def scan_levels(base: Image, first: int, count: int | None, adjust_threshold: float) -> Hits:
    """Detections on pyramid levels ``first`` .. ``first + count - 1`` (to the last level when None) of
    ``base`` (the upsampled image), in ``base``'s coordinates as dlib's single run computes them."""
    import dlib

    pyr = dlib.pyramid_down(6)
    level = base
    for _ in range(first):
        level = pyr(level)
    rects, scores, _ = thread_detector(count).run(level, 0, adjust_threshold)
    if first:
        rects = [_to_base(pyr, r, first) for r in rects]
    return Hits(_boxes(rects), np.asarray(scores, np.float64).reshape(-1))


# Width of a detection box on the level it was found on (the frontal detector's 80 px window less its
# padding): a box found m levels further down is 73 * 1.2^m px wide, give or take a pixel of rounding.
_WINDOW_PX = 73.0


def _to_base(pyr: Any, rect: Any, first: int) -> Any:
    """A box found on level ``m`` of the pyramid built from level ``first`` mapped to the base image the way
    dlib maps a box found on level ``first + m``: from the window's position on that level, rounded once."""
    import dlib

    m = max(0, round(math.log(max(rect.width(), 1) / _WINDOW_PX) / math.log(6 / 5)))
    # The estimated level first: any box maps onto itself through level 0, so the order matters.
    for level in (m, m + 1, m - 1):
        if level < 0:
            continue
        window = dlib.rectangle(pyr.rect_down(dlib.drectangle(rect), level))
        if pyr.rect_up(window, level) == rect:
            return pyr.rect_up(window, first + level)
    return dlib.rectangle(pyr.rect_up(dlib.drectangle(rect), first))  # not seen: dlib's box, rounded twice


def _overlap(a: np.ndarray, b: np.ndarray, iou: float, covered: float) -> bool:
    """dlib's test_box_overlap on inclusive boxes: the intersection against the box around both, or against
    either box."""
    iw = min(a[2], b[2]) - max(a[0], b[0]) + 1
    ih = min(a[3], b[3]) - max(a[1], b[1]) + 1
    if iw <= 0 or ih <= 0:
        return False
    inner = float(iw * ih)
    outer = float((max(a[2], b[2]) - min(a[0], b[0]) + 1) * (max(a[3], b[3]) - min(a[1], b[1]) + 1))
    area_a = float((a[2] - a[0] + 1) * (a[3] - a[1] + 1))
    area_b = float((b[2] - b[0] + 1) * (b[3] - b[1] + 1))
    return inner / outer > iou or inner / area_a > covered or inner / area_b > covered


def join(parts: Sequence[Hits], upsample: int) -> Faces:
    """The jobs' detections as one run gives them: suppressed the way dlib suppresses (best score first, each
    box kept unless it overlaps one kept), then mapped down to the image."""
    import dlib

    model = _model()
    boxes = np.concatenate([p.boxes for p in parts]) if parts else np.zeros((0, 4), np.int64)
    scores = np.concatenate([p.scores for p in parts]) if parts else np.zeros(0)
    kept: list[int] = []
    for i in np.argsort(-scores, kind="stable").tolist():
        if not any(_overlap(boxes[i], boxes[k], model.iou, model.covered) for k in kept):
            kept.append(i)
    pyr = dlib.pyramid_down(2)
    out = []
    for i in kept:
        r = dlib.rectangle(*(int(v) for v in boxes[i]))
        r = pyr.rect_down(r, upsample) if upsample else r
        out.append([r.left(), r.top(), r.right() + 1, r.bottom() + 1])  # izde boxes exclude right/bottom
    return Faces(np.array(out, np.int32).reshape(-1, 4), scores[kept].astype(np.float32))
