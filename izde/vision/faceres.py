"""HSE FaceRes: a second face descriptor network (MobileNet, 1024-d, cosine), run by ONNX Runtime.

The weights come from the npm package @vladmandic/human (see :mod:`izde.vision.npm_weights`), converted to
ONNX by izde's own TF.js exporter and cached next to dlib's converted networks. Only the descriptor output
(``global_pooling/Mean``) is exported: the package's graph also holds age and gender classifiers, which izde
never builds or runs. See docs/models/faceres.md for the measured accuracy and limits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from izde.vision import align5
from izde.vision.npm_models import NpmModel, NpmNetwork, ensure_network, npm_dir
from izde.vision.npm_models import onnx_path as npm_onnx_path
from izde.vision.npm_weights import HUMAN, NpmPackage
from izde.vision.tfjs_export import INPUT, OUTPUT, InputPrep
from izde.vision.types import F32, Image

__all__ = ["HUMAN", "FaceresEmbedder", "FaceresModel", "ensure_faceres", "is_built", "npm_dir", "onnx_path"]

NAME = "hse_faceres_v1"
OUTPUT_NODE = "global_pooling/Mean"
DIM = 1024
SIZE = 224
# The network was trained on VGGFace2 with Keras's Caffe preprocessing: BGR, ImageNet channel means.
PREP = InputPrep((SIZE, SIZE), bgr=True, mean=(103.939, 116.779, 123.68))
# Margin around dlib's 5-point template, as a fraction of the template's size (dlib's own chip: 0.25).
# Chosen on 500 LFW dev-train pairs; see docs/models/faceres.md.
PADDING = 0.4


NETWORK = NpmNetwork(
    key="faceres",
    title="FaceRes",
    name=NAME,
    outputs={OUTPUT: OUTPUT_NODE},
    prep=PREP,
    not_built_hint=(
        "run 'izde models build' (it needs npm once), or match with dlib's descriptor alone: "
        "vision.descriptors set to dlib only (IZDE_VISION__DESCRIPTORS='[\"dlib\"]')"
    ),
)
FaceresModel = NpmModel


def onnx_path(pkg: NpmPackage = HUMAN) -> Path:
    return npm_onnx_path(NETWORK, pkg)


def is_built(pkg: NpmPackage = HUMAN) -> bool:
    return onnx_path(pkg).is_file()


def ensure_faceres(fetch: bool = True, rebuild: bool = False, pkg: NpmPackage = HUMAN) -> NpmModel:
    """The cached ONNX file, fetching the npm package (only when ``fetch``) and converting it if needed."""
    return ensure_network(NETWORK, pkg, fetch, rebuild)


class FaceresEmbedder:
    """L2-normalised 1024-d FaceRes descriptors of faces given by their 5 landmarks.

    Unlike dlib's network it takes its own, larger and looser chip, cut from the image by the same
    5-point alignment; distances are Euclidean between unit vectors (sqrt(2 - 2 cos)).
    """

    key = "faceres"
    name = NAME
    dim = DIM

    def __init__(
        self, device: str = "cpu", batch_size: int = 32, model_path: Path | None = None, threads: int | None = None
    ) -> None:
        from izde.vision.onnx_backend import make_session

        self.batch_size = batch_size
        self.model_path = model_path or ensure_faceres(fetch=False).path
        self._session = make_session(self.model_path, device, threads)  # type: ignore[arg-type]
        self.providers: list[str] = list(self._session.get_providers())

    def chips(self, image: Image, landmarks: F32) -> Image:
        return align5.chips(image, landmarks, SIZE, PADDING)

    def features(self, chips: Image) -> F32:
        """The network's raw 1024-d output for (N, 224, 224, 3) uint8 RGB chips."""
        if chips.dtype != np.uint8 or chips.ndim != 4 or chips.shape[1:] != (SIZE, SIZE, 3):
            raise ValueError(f"chips must be (N, {SIZE}, {SIZE}, 3) uint8 RGB, got {chips.shape}")
        if len(chips) == 0:
            return np.zeros((0, DIM), np.float32)
        x = np.ascontiguousarray(chips)
        out = [
            self._session.run(None, {INPUT: x[i : i + self.batch_size]})[0] for i in range(0, len(x), self.batch_size)
        ]
        return np.concatenate(out).astype(np.float32, copy=False)

    def embed_chips(self, chips: Image) -> F32:
        """Unit-length descriptors of chips cut by :meth:`chips`."""
        raw = self.features(chips)
        norms = np.linalg.norm(raw, axis=1, keepdims=True)
        return np.asarray(raw / np.maximum(norms, 1e-12), np.float32)

    def embed_faces(self, image: Image, landmarks: F32) -> F32:
        return self.embed_chips(self.chips(image, landmarks))
