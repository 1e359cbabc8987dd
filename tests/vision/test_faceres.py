"""The FaceRes network: izde's ONNX export computes what TF.js computes, and it tells real faces apart."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from izde.eval.datasets import read_pairs
from izde.eval.embed import subject
from izde.vision.faceres import FaceresEmbedder
from tests.conftest import LFW, require_data
from tests.vision.faceres_helpers import require_faceres
from tests.vision.realdata import read_rgb

REFERENCE = Path(__file__).parent / "data" / "faceres_reference.json"


@pytest.fixture(scope="module")
def embedder() -> FaceresEmbedder:
    return FaceresEmbedder(model_path=require_faceres())


def test_export_equals_tfjs_on_real_lfw_faces(embedder: FaceresEmbedder) -> None:
    """Reference outputs computed once by TF.js itself (scripts/faceres_reference.py) on the same pixels."""
    ref = json.loads(REFERENCE.read_text())
    want = np.stack([np.frombuffer(base64.b64decode(v), "<f4") for v in ref["features_f32le_b64"]])
    crops = np.stack([read_rgb(require_data(LFW) / rel)[13:237, 13:237] for rel in ref["images"]])
    got = embedder.features(np.ascontiguousarray(crops))
    rel_err = np.linalg.norm(got - want, axis=1) / np.linalg.norm(want, axis=1)
    # float16 weights widened to float32 in both; only summation order differs (measured ~1.5e-6).
    assert rel_err.max() < 1e-4, rel_err


def test_same_person_pairs_are_closer_than_different_person_pairs(embedder: FaceresEmbedder) -> None:
    from izde.vision.dlib_backend import DlibAligner, HogDetector

    pairs = read_pairs(require_data(LFW))
    chosen = [p for p in pairs if p.same][:15] + [p for p in pairs if not p.same][:15]
    hog, aligner = HogDetector(1), DlibAligner()
    cache: dict[Path, np.ndarray] = {}

    def describe(path: Path) -> np.ndarray:
        if path not in cache:
            image = read_rgb(path)
            face = subject(hog.detect(image), image)
            assert len(face) == 1, path
            lm = aligner.align(image, face).landmarks
            assert lm is not None
            cache[path] = embedder.embed_faces(image, lm)[0]
        return cache[path]

    dist = np.array([np.linalg.norm(describe(p.a) - describe(p.b)) for p in chosen])
    same = np.array([p.same for p in chosen])
    assert np.allclose([np.linalg.norm(v) for v in cache.values()], 1.0, atol=1e-5)
    assert dist[same].mean() < dist[~same].mean() - 0.2, (dist[same], dist[~same])
    # At the best single threshold, at most 3 of the 30 pairs are on the wrong side.
    best = max(int(((dist <= t) == same).sum()) for t in dist)
    assert best >= 27, best
