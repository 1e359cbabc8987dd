"""Per-stage costs on real video and the camera capacity derived from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from izde.config import Settings
from izde.errors import InvalidInput
from izde.eval import bench_stages


def _with_detector(detector: str) -> Settings:
    s = Settings()
    return s.model_copy(update={"vision": s.vision.model_copy(update={"detector": detector})})


@pytest.mark.slow
def test_stages_time_both_detectors_and_capacity_follows_the_settings(data_dir: Path) -> None:
    clips = bench_stages.load_clips(data_dir, frames=2)
    st = bench_stages.stages(clips, Settings(), batch_sizes=(1,), mmod_frames=0)
    for clip in st["clips"].values():
        for key in ("blazeface-scale0.5", "hog-upsample0", "hog-upsample1", "mmod-onnx-upsample0"):
            assert clip["detect"][key] > 0 and clip["detect_cpu"][key] > 0
            assert key in clip["faces_per_frame_by_detector"]
    assert st["embedders"]["onnx"]["name"].endswith("+flip")  # measured as the pipeline computes it
    # FaceRes, fused with dlib's by default: its own chip and descriptor per face, charged to capacity.
    faceres = st["fused_embedders"]["faceres"]
    assert faceres["name"] == "hse_faceres_v1" and faceres["chip_per_face_s"] > 0
    assert faceres["per_face_s_by_batch"]["1"] > 0
    dlib_only = bench_stages.capacity(st, Settings(vision={"descriptors": ["dlib"]}), cores=2)  # type: ignore[arg-type]
    assert bench_stages.capacity(st, Settings(), cores=2)["descriptor_s"] > dlib_only["descriptor_s"]

    blaze = bench_stages.capacity(st, Settings(), cores=2)  # the default detector
    hog = bench_stages.capacity(st, _with_detector("hog"), cores=2)
    mmod = bench_stages.capacity(st, _with_detector("mmod"), cores=2)
    assert (blaze["detector"], hog["detector"], mmod["detector"]) == (
        "blazeface-scale0.5",
        "hog-upsample1",
        "mmod-onnx-upsample0",
    )
    for cap, key in ((blaze, "blazeface-scale0.5"), (hog, "hog-upsample1"), (mmod, "mmod-onnx-upsample0")):
        for name, c in cap["clips"].items():
            assert c["faces_per_frame"] == st["clips"][name]["faces_per_frame_by_detector"][key]
            cpu = c["cpu_s_per_camera_second"]
            assert cpu["typical"] <= cpu["worst"]
            assert c["cameras"]["typical"] == pytest.approx(2 / cpu["typical"])
            # At least the detector's CPU time for each analysed frame is charged.
            assert cpu["typical"] >= 5 * st["clips"][name]["detect_cpu"][key]

    with pytest.raises(InvalidInput, match="mmod-dlib"):
        s = _with_detector("mmod")
        bench_stages.capacity(
            st, s.model_copy(update={"vision": s.vision.model_copy(update={"detector_backend": "dlib"})})
        )
