"""The ONNX backends reproduce dlib on real faces: descriptors to 1e-4, MMOD rectangles to 1 px."""

from __future__ import annotations

from pathlib import Path

import dlib
import face_recognition_models as frm
import numpy as np
import pytest

from izde.vision.onnx_backend import OnnxEmbedder, OnnxMmodDetector
from izde.vision.protocols import Detector, Embedder
from izde.vision.types import Image
from tests.vision.realdata import lfw_chips, read_rgb, video_frames

pytestmark = pytest.mark.slow

N_FACES = 32


@pytest.fixture(scope="module")
def chips(data_dir: Path) -> np.ndarray:
    c = lfw_chips(data_dir, N_FACES)
    assert len(c) >= 30
    return c


@pytest.fixture(scope="module")
def dlib_descriptors(chips: np.ndarray) -> np.ndarray:
    net = dlib.face_recognition_model_v1(frm.face_recognition_model_location())
    return np.array([np.array(net.compute_face_descriptor(c)) for c in chips], np.float32)


def test_descriptors_match_dlib(chips: np.ndarray, dlib_descriptors: np.ndarray) -> None:
    emb = OnnxEmbedder(batch_size=8)
    assert isinstance(emb, Embedder)
    ours = emb.embed(chips)
    assert ours.shape == (len(chips), 128) and ours.dtype == np.float32
    dist = np.linalg.norm(ours - dlib_descriptors, axis=1)
    assert dist.max() <= 1e-4, f"max L2 distance to dlib {dist.max():.2e}"
    # The faces are of different people: the comparison is not trivially satisfied by a constant output.
    spread = np.linalg.norm(dlib_descriptors[0] - dlib_descriptors[1:], axis=1)
    assert spread.min() > 0.3


def test_batching_does_not_change_descriptors(chips: np.ndarray) -> None:
    one = OnnxEmbedder(batch_size=1).embed(chips[:9])
    many = OnnxEmbedder(batch_size=32).embed(chips[:9])
    assert np.abs(one - many).max() < 1e-5
    assert OnnxEmbedder().embed(chips[:0]).shape == (0, 128)


def test_embedder_rejects_wrong_chip_shape() -> None:
    with pytest.raises(ValueError, match="150"):
        OnnxEmbedder().embed(np.zeros((2, 112, 112, 3), np.uint8))


def _images(data_dir: Path) -> list[Image]:
    hamilton = data_dir / "video" / "hamilton"
    return [
        read_rgb(hamilton / "two_people.jpg"),
        read_rgb(hamilton / "obama.jpg"),
        *video_frames(hamilton / "short_hamilton_clip.mp4", [0, 150]),
        *video_frames(data_dir / "video" / "crowd" / "crowd.mp4", [0, 60]),
    ]


def _assert_same_detections(ours: OnnxMmodDetector, image: Image, upsample: int) -> int:
    ref = dlib.cnn_face_detection_model_v1(frm.cnn_face_detector_model_location())(image, upsample)
    ref_boxes = np.array(
        [(d.rect.left(), d.rect.top(), d.rect.right() + 1, d.rect.bottom() + 1) for d in ref], np.int64
    ).reshape(-1, 4)
    ref_conf = np.array([d.confidence for d in ref], np.float32)
    faces = ours.detect(image)
    assert len(faces) == len(ref_boxes), f"{len(faces)} faces, dlib found {len(ref_boxes)}"
    # Both lists are best first; match by order, then check geometry and confidence.
    order = np.argsort(-ref_conf, kind="stable")
    assert np.abs(faces.boxes.astype(np.int64) - ref_boxes[order]).max(initial=0) <= 1
    assert np.abs(faces.scores - ref_conf[order]).max(initial=0) <= 1e-3
    return len(faces)


def test_mmod_matches_dlib_on_real_images(data_dir: Path) -> None:
    det = OnnxMmodDetector(upsample=0)
    assert isinstance(det, Detector)
    found = [_assert_same_detections(det, img, 0) for img in _images(data_dir)]
    assert found[0] == 2  # two_people.jpg
    assert sum(found) >= 5  # the comparison covered real detections, not only empty lists


def test_mmod_upsample_matches_dlib(data_dir: Path) -> None:
    frame = video_frames(data_dir / "video" / "hamilton" / "short_hamilton_clip.mp4", [150])[0]
    assert _assert_same_detections(OnnxMmodDetector(upsample=1), frame, 1) >= 1


def test_mmod_empty_and_tiny_images() -> None:
    det = OnnxMmodDetector()
    assert len(det.detect(np.zeros((3, 3, 3), np.uint8))) == 0
    assert len(det.detect(np.full((120, 160, 3), 128, np.uint8))) == 0
