"""dlib's face descriptor ResNet and MMOD face detector, run by ONNX Runtime.

Same numbers as dlib (descriptors within ~1e-6, the same MMOD rectangles), 10-40x faster on a CPU and
usable on a GPU. The ONNX files are converted from dlib's own weight files on first use and cached
(see :mod:`izde.vision.model_cache`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import numpy as np

from izde.errors import IzdeError
from izde.vision import mmod_pyramid as mp
from izde.vision.dlibfile import load_network
from izde.vision.model_cache import ModelKind, ensure_model, source_path
from izde.vision.onnx_export import MMOD_INPUT, RESNET_INPUT
from izde.vision.parallel import usable_cores
from izde.vision.types import CHIP_SIZE, DESCRIPTOR_DIM, F32, Faces, Image, check_image

Device = Literal["cpu", "cuda", "auto"]
log = logging.getLogger(__name__)


class OnnxRuntimeError(IzdeError):
    """ONNX Runtime is missing, or cannot run a model on the requested device."""


def providers_for(device: Device) -> list[Any]:
    """ONNX Runtime providers for a device setting; 'auto' takes the GPU when onnxruntime can use one."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    has_cuda = "CUDAExecutionProvider" in available
    if device == "cuda" and not has_cuda:
        raise OnnxRuntimeError(
            "the CUDA execution provider is not available in this onnxruntime",
            "install onnxruntime-gpu with a matching CUDA, or set vision.onnx_device to cpu",
        )
    if device == "cpu" or not has_cuda:
        return ["CPUExecutionProvider"]
    # TF32 matmuls would move descriptors ~1e-3 away from dlib's float32 results.
    return [("CUDAExecutionProvider", {"use_tf32": "0"}), "CPUExecutionProvider"]


def make_session(path: Path, device: Device, threads: int | None = None) -> Any:
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise OnnxRuntimeError("onnxruntime is not installed", "pip install onnxruntime") from e
    # Telemetry off before any session exists: nothing about this deployment's use leaves the machine.
    ort.disable_telemetry_events()
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # One intra-op thread per usable core; inter-op parallelism does nothing for these chain-like graphs.
    opts.intra_op_num_threads = threads or usable_cores()
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    # Idle pool threads would otherwise spin between runs, taking the cores that decoding, the image
    # pyramid and other cameras' watchers need: `izde bench pipeline --detector mmod` ran ~30% faster
    # without spinning, while a model run on its own is as fast either way.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=providers_for(device))
    except OnnxRuntimeError:
        raise
    except Exception as e:  # onnxruntime raises its own exception types
        raise OnnxRuntimeError(f"onnxruntime cannot load {path}: {e}") from e


def open_cached(kind: ModelKind, model_path: Path | None, device: Device, threads: int | None) -> tuple[Path, Any]:
    """A session on ``model_path``, or on the cached conversion of dlib's file. A cached file that
    onnxruntime cannot load (damaged on disk after it was written) is converted again, once."""
    if model_path is not None:
        return model_path, make_session(model_path, device, threads)
    cached = ensure_model(kind)
    try:
        return cached.path, make_session(cached.path, device, threads)
    except OnnxRuntimeError as e:
        if cached.built:
            raise
        log.warning("the cached %s model %s cannot be loaded (%s); converting it again", kind, cached.path, e)
        cached = ensure_model(kind, rebuild=True)
        return cached.path, make_session(cached.path, device, threads)


class OnnxEmbedder:
    """128-d face descriptors in dlib's metric space, computed by ONNX Runtime in batches."""

    name = "onnx-resnet"

    def __init__(
        self, device: Device = "cpu", batch_size: int = 32, model_path: Path | None = None, threads: int | None = None
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.batch_size = batch_size
        self.model_path, self._session = open_cached("resnet", model_path, device, threads)
        self.providers: list[str] = list(self._session.get_providers())

    def embed(self, chips: Image) -> F32:
        if chips.dtype != np.uint8 or chips.ndim != 4 or chips.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
            raise ValueError(f"chips must be (N, {CHIP_SIZE}, {CHIP_SIZE}, 3) uint8 RGB, got {chips.shape}")
        if len(chips) == 0:
            return np.zeros((0, DESCRIPTOR_DIM), np.float32)
        x = np.ascontiguousarray(chips)
        out = [
            self._session.run(None, {RESNET_INPUT: x[i : i + self.batch_size]})[0]
            for i in range(0, len(x), self.batch_size)
        ]
        return np.concatenate(out).astype(np.float32, copy=False)


class OnnxMmodDetector:
    """dlib's ``cnn_face_detection_model_v1(image, upsample)``, run by ONNX Runtime.

    Boxes are dlib's rectangles with right and bottom made exclusive (dlib's inclusive value + 1), so a
    box's width is ``right - left``. Like dlib's, boxes are not clipped to the image. Scores are the
    CNN's raw confidences (positive for a detection).
    """

    name = "mmod-onnx"

    def __init__(
        self, upsample: int = 0, device: Device = "cpu", model_path: Path | None = None, threads: int | None = None
    ) -> None:
        if upsample < 0:
            raise ValueError("upsample must be >= 0")
        self.upsample = upsample
        net = load_network(source_path("mmod"))  # small file: the mean, paddings and NMS threshold
        self._mean = net.input.mean
        self._padding = (net.input.pyramid_padding, net.input.pyramid_outer_padding)
        self._window = (net.loss_options["window_width"], net.loss_options["window_height"])
        self._iou = net.loss_options["nms_iou_thresh"]
        self.model_path, self._session = open_cached("mmod", model_path, device, threads)
        self.providers: list[str] = list(self._session.get_providers())

    def raw_detect(self, image: Image) -> tuple[list[mp.Rect], list[float]]:
        """dlib's rectangles (inclusive right/bottom) and confidences, best first."""
        check_image(image)
        img = image
        for _ in range(self.upsample):
            img = mp.pyramid_up(img)
        layout = mp.tile_layout(img.shape[0], img.shape[1], *self._padding)
        if min(layout.height, layout.width) < mp.MIN_TENSOR_SIZE:
            return [], []  # too small for even one output cell
        tensor = mp.pyramid_tensor(img, self._mean, layout)
        scores = self._session.run(None, {MMOD_INPUT: tensor})[0][0, 0]
        rects, confs = mp.decode(scores, layout, self._window)
        rects, confs = mp.nms(rects, confs, self._iou)
        if self.upsample:
            rects = [mp.rect_down_2(r, self.upsample) for r in rects]
        return rects, confs

    def detect(self, image: Image) -> Faces:
        rects, confs = self.raw_detect(image)
        if not rects:
            return Faces.empty()
        boxes = np.array(rects, np.int32)
        boxes[:, 2:] += 1  # inclusive -> exclusive
        return Faces(boxes, np.array(confs, np.float32))
