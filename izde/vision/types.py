"""Typed values passed between vision stages.

Arrays are parallel: row i of every array describes the same face. Values are validated when built so a
shape mistake fails at the stage that made it, not three stages later.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
import numpy.typing as npt

DESCRIPTOR_DIM = 128
CHIP_SIZE = 150

Image = npt.NDArray[np.uint8]  # H x W x 3, RGB
F32 = npt.NDArray[np.float32]
I32 = npt.NDArray[np.int32]


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame of a source."""

    image: Image
    index: int  # frame number in the source, counting every decoded frame
    position_s: float  # position in the source (seconds); for live sources, seconds since the start
    wall_time: datetime  # UTC time the frame was read (or recorded, when the source says so)

    def __post_init__(self) -> None:
        check_image(self.image)


def check_image(image: Image) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError("an image must be an H x W x 3 uint8 RGB array")


def _check_rows(name: str, arr: np.ndarray | None, n: int, tail: tuple[int, ...]) -> None:
    if arr is None:
        return
    if arr.shape != (n, *tail):
        raise ValueError(f"Faces.{name} has shape {arr.shape}, expected {(n, *tail)}")


@dataclass(frozen=True, slots=True)
class Faces:
    """The faces of one image: boxes and scores from the detector, then whatever later stages add."""

    boxes: I32  # (N, 4) left, top, right, bottom in image pixels (right/bottom exclusive)
    scores: F32  # (N,) detector confidence (HOG: SVM margin; MMOD: CNN score); higher is surer
    landmarks: F32 | None = None  # (N, 5, 2) x, y of dlib's 5-point model
    chips: Image | None = None  # (N, 150, 150, 3) aligned face chips, RGB
    quality: F32 | None = None  # (N,) 0..1, higher is a better shot for recognition
    descriptors: F32 | None = None  # (N, 128)
    track_ids: I32 | None = None  # (N,)
    extra: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = self.boxes.shape[0] if self.boxes.ndim == 2 else -1
        if self.boxes.ndim != 2 or self.boxes.shape[1] != 4:
            raise ValueError(f"Faces.boxes must be (N, 4), got {self.boxes.shape}")
        _check_rows("scores", self.scores, n, ())
        _check_rows("landmarks", self.landmarks, n, (5, 2))
        _check_rows("chips", self.chips, n, (CHIP_SIZE, CHIP_SIZE, 3))
        _check_rows("quality", self.quality, n, ())
        _check_rows("descriptors", self.descriptors, n, (DESCRIPTOR_DIM,))
        _check_rows("track_ids", self.track_ids, n, ())

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    @staticmethod
    def empty() -> Faces:
        return Faces(np.zeros((0, 4), np.int32), np.zeros((0,), np.float32))

    @staticmethod
    def from_boxes(boxes: list[tuple[int, int, int, int]] | np.ndarray, scores: list[float] | np.ndarray) -> Faces:
        b = np.asarray(boxes, dtype=np.int32).reshape(-1, 4)
        return Faces(b, np.asarray(scores, dtype=np.float32).reshape(-1))

    def with_(self, **changes: object) -> Faces:
        """A copy with some arrays filled in (validated again)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def select(self, index: int | list[int] | np.ndarray) -> Faces:
        """The faces at the given rows, all arrays kept parallel."""
        idx = np.atleast_1d(np.asarray(index))

        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[idx]

        return Faces(
            self.boxes[idx],
            self.scores[idx],
            pick(self.landmarks),
            pick(self.chips),
            pick(self.quality),
            pick(self.descriptors),
            pick(self.track_ids),
        )

    @staticmethod
    def concat(a: Faces, b: Faces) -> Faces:
        """The rows of ``a`` then those of ``b``; an array filled in only one of them is dropped."""

        def join(x: np.ndarray | None, y: np.ndarray | None) -> np.ndarray | None:
            return None if x is None or y is None else np.concatenate([x, y])

        boxes, scores = join(a.boxes, b.boxes), join(a.scores, b.scores)
        assert boxes is not None and scores is not None
        return Faces(
            boxes,
            scores,
            join(a.landmarks, b.landmarks),
            join(a.chips, b.chips),
            join(a.quality, b.quality),
            join(a.descriptors, b.descriptors),
            join(a.track_ids, b.track_ids),
        )

    def widths(self) -> I32:
        return (self.boxes[:, 2] - self.boxes[:, 0]).astype(np.int32)
