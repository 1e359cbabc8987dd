"""dlib's reference networks: HOG and MMOD detectors, 5-point landmarks with chip alignment, ResNet descriptor.

Model files come from the ``face_recognition_models`` package; they are loaded on first use, never at import.
"""

from __future__ import annotations

import threading
from functools import cache, partial
from typing import Any

import numpy as np

from izde.vision.dlib_models import FIVE_POINT, MMOD, RESNET, model_file
from izde.vision.parallel import Split
from izde.vision.types import CHIP_SIZE, DESCRIPTOR_DIM, F32, Faces, Image

CHIP_PADDING = 0.25


# dlib's networks keep their activations in the network object and run without the GIL, so two threads
# sharing one get each other's results; the reference networks run one call at a time.
_net_lock = threading.Lock()


def _hog() -> Any:
    """One HOG detector per thread: dlib's detector keeps scratch buffers and releases the GIL, so threads
    sharing one get wrong boxes (measured: 41 of 138 frames differed with 3 threads)."""
    from izde.vision.hog_levels import thread_detector

    return thread_detector()


@cache
def _mmod() -> Any:
    import dlib

    return dlib.cnn_face_detection_model_v1(str(model_file(MMOD)))


@cache
def _shape_predictor() -> Any:
    import dlib

    return dlib.shape_predictor(str(model_file(FIVE_POINT)))


@cache
def _resnet() -> Any:
    import dlib

    return dlib.face_recognition_model_v1(str(model_file(RESNET)))


def _exclusive(rects: list[Any]) -> np.ndarray:
    # dlib rectangles include their right/bottom pixel; izde boxes exclude it, like slices do.
    return np.array([[r.left(), r.top(), r.right() + 1, r.bottom() + 1] for r in rects], np.int32).reshape(-1, 4)


class HogDetector:
    """dlib's HOG + linear SVM frontal face detector."""

    name = "hog"

    def __init__(self, upsample: int = 1, adjust_threshold: float = 0.0) -> None:
        self.upsample = upsample
        self.adjust_threshold = adjust_threshold

    def detect(self, image: Image) -> Faces:
        rects, scores, _ = _hog().run(image, self.upsample, self.adjust_threshold)
        return Faces(_exclusive(list(rects)), np.asarray(scores, np.float32).reshape(-1))

    def split(self, image: Image, parts: int) -> Split:
        """This detection as ``parts`` jobs (fewer where the pyramid gives no more) scanning runs of pyramid
        levels, joined as one run joins its levels (see :mod:`izde.vision.hog_levels`)."""
        from izde.vision import hog_levels

        cuts = hog_levels.level_cuts(parts)
        # The upsampling is done once here, not in each job: every job scans levels of the same picture.
        base = hog_levels.upsampled(image, self.upsample)
        starts = (0, *cuts)
        counts: list[int | None] = [b - a for a, b in zip(starts, cuts, strict=False)] + [None]
        jobs = tuple(
            partial(hog_levels.scan_levels, base, first, count, self.adjust_threshold)
            for first, count in zip(starts, counts, strict=True)
        )
        return Split(jobs, partial(hog_levels.join, upsample=self.upsample))


class DlibMmodDetector:
    """dlib's MMOD CNN face detector run by dlib (the reference; slow on CPU)."""

    name = "mmod-dlib"

    def __init__(self, upsample: int = 1) -> None:
        self.upsample = upsample

    def detect(self, image: Image) -> Faces:
        with _net_lock:
            dets = _mmod()(image, self.upsample)
        return Faces(_exclusive([d.rect for d in dets]), np.array([d.confidence for d in dets], np.float32).reshape(-1))


class DlibAligner:
    """5-point landmarks and dlib's own chip extraction (cheap: ~2.5 ms per face)."""

    name = "dlib-5pt"

    def align(self, image: Image, faces: Faces) -> Faces:
        import dlib

        n = len(faces)
        if n == 0:
            return faces.with_(
                landmarks=np.zeros((0, 5, 2), np.float32),
                chips=np.zeros((0, CHIP_SIZE, CHIP_SIZE, 3), np.uint8),
            )
        shapes = dlib.full_object_detections()
        predictor = _shape_predictor()
        for left, top, right, bottom in faces.boxes.tolist():
            shapes.append(predictor(image, dlib.rectangle(left, top, right - 1, bottom - 1)))
        landmarks = np.array([[(p.x, p.y) for p in s.parts()] for s in shapes], np.float32)
        chips = np.stack(dlib.get_face_chips(image, shapes, size=CHIP_SIZE, padding=CHIP_PADDING)).astype(np.uint8)
        return faces.with_(landmarks=landmarks, chips=chips)


class DlibEmbedder:
    """dlib's ResNet face descriptor (128-d, Euclidean metric)."""

    name = "dlib-resnet"

    def embed(self, chips: Image) -> F32:
        if len(chips) == 0:
            return np.zeros((0, DESCRIPTOR_DIM), np.float32)
        with _net_lock:
            out = _resnet().compute_face_descriptor([np.ascontiguousarray(c) for c in chips], 0)
        return np.array([np.asarray(v) for v in out], np.float32).reshape(-1, DESCRIPTOR_DIM)
