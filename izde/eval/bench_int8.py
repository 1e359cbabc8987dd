"""MMOD quantized to INT8 with ONNX Runtime's static quantization, checked against the float model on real frames.

The float model is izde's ONNX export of dlib's MMOD network. Activations are calibrated (min/max) on pyramid
tensors of a few real frames; the frames it is then compared on are other frames of the same clips. Reported:
the float model's boxes that INT8 finds again (IoU >= 0.5), the boxes it adds, how far matched boxes move, and
the CPU time per frame of both, measured alternately in one process.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from izde.vision import mmod_pyramid as mp
from izde.vision.tracking import iou_matrix
from izde.vision.types import Faces, Image


class _Calibration:
    """Feeds ONNX Runtime's calibrator the network's inputs for the calibration frames."""

    def __init__(self, tensors: list[np.ndarray], input_name: str) -> None:
        self._it: Iterator[np.ndarray] = iter(tensors)
        self._name = input_name

    def get_next(self) -> dict[str, np.ndarray] | None:
        t = next(self._it, None)
        return None if t is None else {self._name: t}


def quantize(float_model: Path, calibration: list[Image], out: Path, mean: tuple[float, float, float]) -> Path:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    from izde.vision.onnx_export import MMOD_INPUT

    tensors = []
    for image in calibration:
        layout = mp.tile_layout(image.shape[0], image.shape[1])
        tensors.append(mp.pyramid_tensor(image, mean, layout))

    class Reader(_Calibration, CalibrationDataReader):  # type: ignore[misc]
        pass

    quantize_static(
        str(float_model),
        str(out),
        Reader(tensors, MMOD_INPUT),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        weight_type=QuantType.QInt8,
        activation_type=QuantType.QUInt8,
    )
    return out


def compare_boxes(reference: Faces, other: Faces, min_iou: float = 0.5) -> dict[str, Any]:
    """Greedy one-to-one matching of ``other``'s boxes to ``reference``'s."""
    iou = iou_matrix(reference.boxes, other.boxes)
    matched: list[float] = []
    used: set[int] = set()
    for r in range(len(reference)):
        if iou.shape[1] == 0:
            break
        order = [int(j) for j in np.argsort(-iou[r]) if int(j) not in used]
        if order and iou[r, order[0]] >= min_iou:
            used.add(order[0])
            matched.append(float(iou[r, order[0]]))
    return {"reference": len(reference), "found_again": len(matched), "added": len(other) - len(used), "ious": matched}


def run(
    frames: dict[str, list[Image]],
    calibration: list[Image],
    log: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Float vs INT8 MMOD (upsample 0) on each group of ``frames``."""
    from izde.vision.onnx_backend import OnnxMmodDetector

    float_det = OnnxMmodDetector(0)
    with tempfile.TemporaryDirectory(prefix="izde-int8-") as tmp:
        log(f"quantizing {float_det.model_path.name} on {len(calibration)} calibration frames...")
        int8_path = quantize(float_det.model_path, calibration, Path(tmp) / "mmod_int8.onnx", float_det._mean)
        int8_det = OnnxMmodDetector(0, model_path=int8_path)
        out: dict[str, Any] = {
            "float_model_mb": float_det.model_path.stat().st_size / 1e6,
            "int8_model_mb": int8_path.stat().st_size / 1e6,
            "groups": {},
        }
        for name, images in frames.items():
            log(f"{name}: {len(images)} frames, float and INT8 alternately")
            float_det.detect(images[0])
            int8_det.detect(images[0])  # warm-up
            cpu = {"float": 0.0, "int8": 0.0}
            totals = {"reference": 0, "found_again": 0, "added": 0}
            ious: list[float] = []
            score_diffs: list[float] = []
            for image in images:
                t = time.process_time()
                ref = float_det.detect(image)
                cpu["float"] += time.process_time() - t
                t = time.process_time()
                q = int8_det.detect(image)
                cpu["int8"] += time.process_time() - t
                c = compare_boxes(ref, q)
                for k in totals:
                    totals[k] += c[k]
                ious.extend(c["ious"])
                if len(ref) and len(q):
                    score_diffs.append(float(abs(ref.scores.max() - q.scores.max())))
            n = len(images)
            out["groups"][name] = {
                "frames": n,
                "size": list(images[0].shape[1::-1]),
                **totals,
                "recall_vs_float": totals["found_again"] / totals["reference"] if totals["reference"] else None,
                "mean_iou_matched": float(np.mean(ious)) if ious else None,
                "min_iou_matched": float(np.min(ious)) if ious else None,
                "max_top_score_diff": max(score_diffs) if score_diffs else None,
                "cpu_s_per_frame": {k: v / n for k, v in cpu.items()},
                "speedup": cpu["float"] / cpu["int8"] if cpu["int8"] else None,
            }
    return out


def shared_frames(data: Path, every: int = 10) -> tuple[dict[str, list[Image]], list[Image]]:
    """Evaluation frames (every ``every``-th) of Hamilton and of the crowd at 1280x720, and calibration
    frames taken between them (never the same frames)."""
    import cv2

    def read(path: Path, size: tuple[int, int] | None) -> list[Image]:
        cap = cv2.VideoCapture(str(path))
        out: list[Image] = []
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            if size is not None:
                bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
            rgb: Image = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), np.uint8)
            out.append(rgb)
        cap.release()
        return out

    ham = read(data / "video/hamilton/short_hamilton_clip.mp4", None)
    crowd = read(data / "video/crowd/crowd.mp4", (1280, 720))
    frames = {"hamilton 640x360": ham[::every], "crowd 1280x720": crowd[::every]}
    calibration = ham[every // 2 :: every * 4] + crowd[every // 2 :: every * 4]
    return frames, calibration
