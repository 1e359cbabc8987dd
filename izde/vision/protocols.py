"""Stage interfaces. Each backend (dlib reference, ONNX) implements one of these."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from izde.vision.types import F32, Faces, Image


@runtime_checkable
class Detector(Protocol):
    """Finds faces in an RGB image. Returns boxes and scores only."""

    name: str

    def detect(self, image: Image) -> Faces: ...


@runtime_checkable
class Aligner(Protocol):
    """Adds 5-point landmarks and aligned 150x150 chips to detected faces."""

    name: str

    def align(self, image: Image, faces: Faces) -> Faces: ...


@runtime_checkable
class Embedder(Protocol):
    """Turns aligned chips (N, 150, 150, 3) uint8 RGB into descriptors (N, 128) float32.

    Descriptors live in dlib's metric space: Euclidean distance, not L2-normalised.
    """

    name: str

    def embed(self, chips: Image) -> F32: ...


@runtime_checkable
class ChipEmbedder(Protocol):
    """A descriptor network with its own chip, cut from the image at a face's 5 landmarks (e.g. FaceRes).

    ``key`` is its name in ``vision.descriptors``; ``name`` the model its templates are stored under.
    """

    key: str
    name: str
    dim: int

    def chips(self, image: Image, landmarks: F32) -> Image: ...

    def embed_chips(self, chips: Image) -> F32: ...
