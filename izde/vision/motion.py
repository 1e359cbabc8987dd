"""Where a camera's picture changed since the last analysed frame: a cheap stage that gates face detection.

The picture is shrunk to ``width`` pixels wide and turned grey before anything else, so a 1080p frame costs about
a millisecond. Changed pixels are grouped into boxes in full-resolution coordinates; ``changed`` says how much of
the picture moved, so a camera cut, a lighting change or a PTZ move (nearly everything changes) can be told apart
from people walking through a still scene.

Each camera needs its own instance: both backends keep the previous frame (or a background model).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import cv2
import numpy as np

from izde.vision.types import I32, Image

MotionKind = Literal["off", "diff", "mog2"]


@dataclass(frozen=True, slots=True)
class Motion:
    """The changed areas of one frame."""

    boxes: I32  # (K, 4) left, top, right, bottom in full-resolution pixels (right/bottom exclusive)
    changed: float  # fraction of the picture that changed, 0..1; 1.0 for the first frame (nothing to compare)

    def __post_init__(self) -> None:
        if self.boxes.ndim != 2 or self.boxes.shape[1] != 4:
            raise ValueError(f"Motion.boxes must be (K, 4), got {self.boxes.shape}")
        if not 0.0 <= self.changed <= 1.0:
            raise ValueError(f"Motion.changed must be within 0..1, got {self.changed}")


class MotionDetector(Protocol):
    name: str

    def update(self, image: Image) -> Motion:
        """The areas of ``image`` (RGB) that changed since the previous call."""
        ...


class Shrinker:
    """Pictures shrunk to ``width`` pixels wide, grey and blurred, as the motion stages compare them; the last
    ``keep`` are remembered (by identity, holding the pictures), so a frame looked at ahead of its turn (see
    :mod:`izde.pipeline.ahead`) is shrunk once. One thread uses an instance."""

    def __init__(self, width: int = 320, keep: int = 4) -> None:
        self.width, self.keep = width, keep
        self._memo: list[tuple[Image, tuple[np.ndarray, float]]] = []

    def __call__(self, image: Image) -> tuple[np.ndarray, float]:
        for seen, shrunk in self._memo:
            if seen is image:
                return shrunk
        shrunk = _small_grey(image, self.width)
        self._memo = [*self._memo[1 - self.keep :], (image, shrunk)] if self.keep > 0 else []
        return shrunk


def _small_grey(image: Image, width: int) -> tuple[np.ndarray, float]:
    h, w = image.shape[:2]
    scale = min(1.0, width / w)
    small = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    # Blurring first keeps sensor noise and compression blocks from counting as motion.
    return cv2.GaussianBlur(grey, (5, 5), 0), scale


def _boxes(mask: np.ndarray, scale: float, min_area: int, shape: tuple[int, ...]) -> I32:
    """Bounding boxes of the mask's blobs of at least ``min_area`` small pixels, in full-resolution pixels."""
    mask = cv2.dilate(mask, np.ones((5, 5), np.uint8))  # joins a moving head's pieces into one blob
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    keep = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= min_area]
    if not keep:
        return np.zeros((0, 4), np.int32)
    s = stats[keep]
    x, y, bw, bh = (s[:, k].astype(np.float64) for k in range(4))
    h, w = shape[:2]
    boxes = np.stack([np.floor(x / scale), np.floor(y / scale), np.ceil((x + bw) / scale), np.ceil((y + bh) / scale)])
    boxes = boxes.T
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, w)
    boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, h)
    return boxes.astype(np.int32)


class FrameDifference:
    """Pixels whose grey level moved by more than ``threshold`` since the previous analysed frame.

    Costs ~1 ms per frame at any resolution. A face that keeps perfectly still is invisible to it; the
    watcher's periodic full scans and its regions around live tracks cover that case."""

    name = "diff"

    def __init__(self, threshold: int = 30, min_area: int = 6, shrink: Shrinker | None = None) -> None:
        self.threshold, self.min_area = threshold, min_area
        self.shrink = shrink or Shrinker(keep=0)  # the picture as compared, and the scale it was shrunk by
        self._prev: np.ndarray | None = None

    def update(self, image: Image) -> Motion:
        grey, scale = self.shrink(image)
        prev, self._prev = self._prev, grey
        return self.between(prev, grey, scale, image.shape)

    def between(self, prev: np.ndarray | None, grey: np.ndarray, scale: float, shape: tuple[int, ...]) -> Motion:
        """What changed from ``prev`` to ``grey`` (both from :meth:`shrink`) in a frame of ``shape``."""
        if prev is None or prev.shape != grey.shape:
            h, w = shape[:2]
            return Motion(np.array([[0, 0, w, h]], np.int32), 1.0)
        mask = (cv2.absdiff(grey, prev) > self.threshold).astype(np.uint8)
        return Motion(_boxes(mask, scale, self.min_area, shape), float(mask.mean()))


class BackgroundSubtraction:
    """OpenCV's MOG2 background model: pixels unlike the learned background, so a person who stops keeps
    showing until they blend in (``history`` frames). Costs more than frame differencing (~3 ms) and,
    in a crowd, marks more of the picture."""

    name = "mog2"

    def __init__(
        self, threshold: int = 30, min_area: int = 6, history: int = 50, shrink: Shrinker | None = None
    ) -> None:
        self.min_area = min_area
        self.shrink = shrink or Shrinker(keep=0)
        # MOG2's threshold is a squared Mahalanobis distance; the square of a grey-level step is comparable.
        self._model = cv2.createBackgroundSubtractorMOG2(history, float(threshold * threshold) / 4, False)
        self._first = True

    def update(self, image: Image) -> Motion:
        grey, scale = self.shrink(image)
        mask = (self._model.apply(grey) > 0).astype(np.uint8)
        if self._first:
            self._first = False
            h, w = image.shape[:2]
            return Motion(np.array([[0, 0, w, h]], np.int32), 1.0)
        return Motion(_boxes(mask, scale, self.min_area, image.shape), float(mask.mean()))


def build_motion(kind: MotionKind, threshold: int = 30, shrink: Shrinker | None = None) -> MotionDetector | None:
    """A new, per-camera motion stage, or None when motion gating is off."""
    if kind == "off":
        return None
    if kind == "diff":
        return FrameDifference(threshold, shrink=shrink)
    return BackgroundSubtraction(threshold, shrink=shrink)
