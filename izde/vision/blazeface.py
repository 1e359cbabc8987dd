"""BlazeFace: a small CNN face detector (MediaPipe's 256 px "back camera" model), run by ONNX Runtime.

The weights come from the npm package @vladmandic/human, the same pinned tarball as FaceRes (see
:mod:`izde.vision.npm_weights`), converted to ONNX by izde's TF.js exporter and cached next to the other networks.

The network is fully convolutional: trained on 256x256 inputs, it runs on a whole frame at once, its anchors on
a 16 and a 32 px grid over the frame. It finds faces from ~20 px to most of 256 px, so a frame is searched at
``scale`` (0.5: faces from ~40 px wide, as HOG with one upsampling), and, when faces could be too large there,
once more shrunk into 256 px. On a 1280x720 crowd frame this takes ~40 ms of one core where HOG with one
upsampling takes ~300 ms, and it finds 96% of the faces HOG finds and ~70% more (faces turned down or aside,
small ones); ``izde bench capacity`` measures both.

Boxes are mapped onto the boxes dlib's HOG detector draws around the same faces (:data:`TO_DLIB_BOX`, fitted on
real frames), because dlib's 5-point landmark model, which aligns every face for the descriptors, was trained
from boxes drawn that way.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import cv2
import numpy as np

from izde.vision.model_cache import ModelCacheError
from izde.vision.npm_models import NpmModel, NpmNetwork, ensure_network
from izde.vision.npm_models import onnx_path as npm_onnx_path
from izde.vision.npm_weights import HUMAN, NpmPackage
from izde.vision.tfjs_export import INPUT, InputPrep
from izde.vision.types import F32, Faces, Image

NAME = "blazeface_back_v1"
SIZE = 256  # the input it was trained on
STRIDE = 32  # its coarsest grid: an input's sides must be multiples of this
# The network's inputs are in [-1, 1]. It is fully convolutional: the export takes any input size.
PREP = InputPrep(None, bgr=False, mean=(127.5, 127.5, 127.5), scale=1 / 127.5)
# Its two heads, as the TF.js graph names them: scores and box regressions on the 16 px grid (2 anchors a cell)
# and on the 32 px grid (6 anchors a cell).
OUTPUTS = {"scores_a": "Identity", "scores_b": "Identity_1", "boxes_a": "Identity_2", "boxes_b": "Identity_3"}
NMS_IOU = 0.3
# Faces the network finds span ~20 px to most of its 256 px input: a frame searched at a scale where its faces
# could be larger than LARGE_PX is searched once more shrunk into one 256 px input, for those.
LARGE_PX = 192
# Centre shift (in face widths) and size ratio from a BlazeFace box to the box dlib's HOG detector draws around the
# same face: medians over the 331 faces both found (IoU >= 0.3) in every 2nd-3rd frame of the shared Hamilton and
# crowd (720p, 1080p) clips; interquartile ranges 0.14, 0.11 and 0.15.
TO_DLIB_BOX = (-0.04, -0.03, 1.02)


NETWORK = NpmNetwork(
    key="blazeface",
    title="BlazeFace",
    name=NAME,
    outputs=OUTPUTS,
    prep=PREP,
    not_built_hint="run 'izde models build' (it needs npm once), or detect with HOG: vision.detector: hog",
)


def onnx_path(pkg: NpmPackage = HUMAN) -> Path:
    return npm_onnx_path(NETWORK, pkg)


def is_built(pkg: NpmPackage = HUMAN) -> bool:
    return onnx_path(pkg).is_file()


def ensure_blazeface(fetch: bool = True, rebuild: bool = False, pkg: NpmPackage = HUMAN) -> NpmModel:
    """The cached ONNX file, fetching the npm package (only when ``fetch``) and converting it if needed."""
    return ensure_network(NETWORK, pkg, fetch, rebuild)


@cache
def anchors(height: int, width: int) -> F32:
    """(K, 2) anchor centres in input pixels for an input of height x width (multiples of STRIDE), in the order
    of the heads' rows: the 16 px grid's cells row by row, 2 anchors each, then the 32 px grid's, 6 each."""
    out = []
    for stride, per_cell in ((16, 2), (32, 6)):
        ys, xs = np.mgrid[0 : height // stride, 0 : width // stride]
        centres = np.stack([(xs + 0.5) * stride, (ys + 0.5) * stride], axis=-1).reshape(-1, 2)
        out.append(np.repeat(centres, per_cell, axis=0))
    return np.concatenate(out).astype(np.float32)


def padded_size(height: int, width: int) -> tuple[int, int]:
    return -(-height // STRIDE) * STRIDE, -(-width // STRIDE) * STRIDE


def decode(scores: np.ndarray, regs: np.ndarray, centres: F32, threshold: float) -> tuple[F32, F32]:
    """Boxes (K, 4) left, top, right, bottom in input pixels and their scores, for one input."""
    logits = np.clip(scores.reshape(-1), -80.0, 80.0)
    prob = 1.0 / (1.0 + np.exp(-logits))
    keep = prob >= threshold
    a, r = centres[keep], regs.reshape(-1, regs.shape[-1])[keep]
    centre, half = a + r[:, :2], r[:, 2:4] / 2
    return np.concatenate([centre - half, centre + half], axis=1).astype(np.float32), prob[keep].astype(np.float32)


def to_dlib_boxes(boxes: np.ndarray) -> np.ndarray:
    """BlazeFace boxes (float, K x 4) as dlib's HOG detector would draw them."""
    dx, dy, ratio = TO_DLIB_BOX
    w = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    cx = (boxes[:, 0] + boxes[:, 2]) / 2 + dx * w
    cy = (boxes[:, 1] + boxes[:, 3]) / 2 + dy * w
    half = ratio * w / 2
    return np.stack([cx - half, cy - half, cx + half, cy + half], axis=1)


class BlazefaceDetector:
    """Faces in an RGB image, searched at ``scale`` (and shrunk to 256 px for large faces)."""

    name = "blazeface"

    def __init__(
        self,
        scale: float = 0.5,
        threshold: float = 0.7,
        device: str = "cpu",
        model_path: Path | None = None,
        threads: int = 1,
    ) -> None:
        """``threads``: ONNX Runtime's for one call; one is the least CPU per frame where cameras share cores."""
        from izde.vision.onnx_backend import make_session

        if not 0.05 <= scale <= 4.0:
            raise ValueError("scale must be between 0.05 and 4")
        if not 0.0 < threshold < 1.0:
            raise ValueError("threshold must be between 0 and 1")
        self.scale = scale
        self.threshold = threshold
        self.model_path = model_path or ensure_blazeface(fetch=False).path
        self._session = make_session(self.model_path, device, threads)  # type: ignore[arg-type]
        outs = [o.name for o in self._session.get_outputs()]
        if sorted(outs) != sorted(OUTPUTS):
            raise ModelCacheError(f"{self.model_path} is not izde's BlazeFace export (outputs {outs})")

    def _run(self, picture: Image) -> tuple[F32, F32]:
        """Boxes and scores of ``picture`` (RGB), in its pixels: it is padded to the network's grid."""
        h, w = picture.shape[:2]
        ph, pw = padded_size(h, w)
        x = np.zeros((1, ph, pw, 3), np.uint8)
        x[0, :h, :w] = picture
        sa, sb, ba, bb = self._session.run(list(OUTPUTS), {INPUT: x})
        # The 16 px grid's head (more anchors) first, whichever name the export gave it.
        heads = sorted([(sa, ba), (sb, bb)], key=lambda head: -head[0].shape[1])
        scores = np.concatenate([heads[0][0][0], heads[1][0][0]])
        regs = np.concatenate([heads[0][1][0], heads[1][1][0]])
        return decode(scores, regs, anchors(ph, pw), self.threshold)

    def detect(self, image: Image) -> Faces:
        h, w = image.shape[:2]
        s = self.scale
        scaled = _resized(image, s)
        b, p = self._run(scaled)
        boxes, scores = [b / s], [p]
        if max(scaled.shape[:2]) > LARGE_PX:
            # The whole image shrunk into the network's own input, for faces too large at ``scale``; only those
            # are taken from it (a small face there is a coarser view of one found above).
            g = SIZE / max(h, w)
            b, p = self._run(_resized(image, g))
            large = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) / g >= LARGE_PX / s
            big = b[large] / g
            # At ``scale`` such a face is larger than anything the network learnt, and its eyes or mouth can
            # pass for faces of their own: what lies mostly inside a large face is part of it.
            inside = _inside(boxes[0], big)
            boxes, scores = [boxes[0][~inside], big], [scores[0][~inside], p[large]]
        return _faces(np.concatenate(boxes), np.concatenate(scores), (h, w))


def _inside(boxes: np.ndarray, outer: np.ndarray, share: float = 0.5) -> np.ndarray:
    """(K,) bool: at least ``share`` of each box's area lies inside one of ``outer``."""
    if not len(boxes) or not len(outer):
        return np.zeros(len(boxes), bool)
    lt = np.maximum(boxes[:, None, :2], outer[None, :, :2])
    rb = np.minimum(boxes[:, None, 2:], outer[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    return np.asarray((inter / np.maximum(area, 1e-6)[:, None] >= share).any(axis=1))


def _resized(image: Image, scale: float) -> Image:
    h, w = image.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)


def _faces(boxes: np.ndarray, scores: np.ndarray, shape: tuple[int, int]) -> Faces:
    """One box per face (non-maximum suppression), in dlib's convention, clipped to the image."""
    if not len(boxes):
        return Faces.empty()
    xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)
    keep = np.asarray(cv2.dnn.NMSBoxes(xywh.tolist(), scores.tolist(), 0.0, NMS_IOU), np.int64).reshape(-1)
    out = to_dlib_boxes(boxes[keep])
    h, w = shape
    out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, w)
    out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, h)
    b = np.round(out).astype(np.int32)
    ok = (b[:, 2] - b[:, 0] >= 4) & (b[:, 3] - b[:, 1] >= 4)
    return Faces(b[ok], scores[keep][ok].astype(np.float32))
