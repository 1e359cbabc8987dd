"""The fused gallery (dlib + FaceRes, calibrated on LFW dev-train) on real video: Lin-Manuel Miranda is found
in the Hamilton clip, and nobody in the crowd clip matches anyone on the list."""

from __future__ import annotations

import numpy as np
import pytest

from izde.eval.fusion import BUILTIN, load_calibration
from izde.vision.types import F32, Image
from izde.watchlist.fusion import FusedGallery, Space
from tests.conftest import CROWD, HAMILTON, require_data
from tests.vision.faceres_helpers import require_faceres
from tests.vision.realdata import read_rgb, video_frames

pytestmark = pytest.mark.slow
PEOPLE = ("lin-manuel-miranda.png", "alex-lacamoire.png", "obama.jpg", "biden.jpg")


@pytest.fixture(scope="module")
def describe() -> object:
    from izde.vision.dlib_backend import DlibAligner, HogDetector
    from izde.vision.faceres import FaceresEmbedder
    from izde.vision.flip import FlipAveraged
    from izde.vision.onnx_backend import OnnxEmbedder

    hog, aligner = HogDetector(1), DlibAligner()
    dlib_net, faceres = FlipAveraged(OnnxEmbedder()), FaceresEmbedder(model_path=require_faceres())

    def run(image: Image) -> dict[str, F32]:
        faces = aligner.align(image, hog.detect(image))
        assert faces.chips is not None and faces.landmarks is not None
        if len(faces) == 0:
            return {"dlib": np.zeros((0, 128), np.float32), "faceres": np.zeros((0, 1024), np.float32)}
        return {"dlib": dlib_net.embed(faces.chips), "faceres": faceres.embed_faces(image, faces.landmarks)}

    return run


@pytest.fixture(scope="module")
def gallery(describe: object) -> FusedGallery:
    fusion, _ = load_calibration()
    refs = [describe(read_rgb(require_data(HAMILTON / name))) for name in PEOPLE]  # type: ignore[operator]
    assert all(len(r["dlib"]) == 1 for r in refs)
    owner = np.arange(len(PEOPLE), dtype=np.int32)
    spaces = tuple(Space(k, np.concatenate([r[k] for r in refs]), owner) for k in ("dlib", "faceres"))
    return FusedGallery(PEOPLE, PEOPLE, spaces, fusion)


def test_the_builtin_calibration_comes_from_lfw_devtrain() -> None:
    import json

    doc = json.loads(BUILTIN.read_text())
    assert "lfw-devtrain" in doc["source"]["dataset"] and set(doc["weights"]) == {"dlib", "faceres"}


def test_lin_manuel_miranda_is_found_in_the_hamilton_clip(describe: object, gallery: FusedGallery) -> None:
    _, threshold = load_calibration()
    frames = video_frames(require_data(HAMILTON / "short_hamilton_clip.mp4"), [120, 150, 180, 210, 240])
    hits, others = 0, 0
    for frame in frames:
        d = gallery.person_distances(describe(frame))  # type: ignore[operator]
        for row in d:
            best = int(np.argmin(row))
            if row[best] <= threshold:
                hits += best == 0
                others += best != 0
    assert hits >= 3 and others == 0, (hits, others)


def test_nobody_in_the_crowd_matches(describe: object, gallery: FusedGallery) -> None:
    _, threshold = load_calibration()
    frames = video_frames(require_data(CROWD / "crowd.mp4"), [0, 50])
    dists = [gallery.person_distances(describe(f)) for f in frames]  # type: ignore[operator]
    faces = sum(len(d) for d in dists)
    assert faces >= 5  # the clip shows many faces: a detector failure must not pass as "no match"
    assert min(float(d.min()) for d in dists if len(d)) > threshold


def test_a_gallery_refuses_spaces_the_fusion_does_not_know(gallery: FusedGallery) -> None:
    with pytest.raises(ValueError, match="not the fusion's"):
        FusedGallery(gallery.person_ids, gallery.labels, gallery.spaces[:1], gallery.fusion)
