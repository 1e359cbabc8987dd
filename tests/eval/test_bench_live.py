"""Live MJPEG cameras on 127.0.0.1 looping a real clip, watched together through both paths."""

from __future__ import annotations

import urllib.request

import pytest

from izde.config import Settings
from izde.eval.bench_gating import path_settings
from izde.eval.bench_live import clip_jpegs, compare_live, mjpeg_camera
from izde.eval.bench_pipeline import build_gallery
from izde.vision.stack import build_stack
from tests.conftest import HAMILTON, require_data

pytestmark = pytest.mark.slow


def test_a_bench_camera_serves_the_clip_as_mjpeg_and_stops() -> None:
    jpegs, fps = clip_jpegs(require_data(HAMILTON / "short_hamilton_clip.mp4"), (320, 180))
    assert len(jpegs) == 275 and fps == pytest.approx(29.97, abs=0.01)
    with mjpeg_camera(jpegs[:3], fps) as url, urllib.request.urlopen(url, timeout=5) as r:
        assert r.headers["Content-Type"].startswith("multipart/x-mixed-replace")
        body = r.read(sum(len(j) for j in jpegs[:3]) * 2)  # more than one loop: it loops
    assert body.count(b"--frame") >= 4 and jpegs[0] in body


def test_two_live_cameras_through_both_paths_report_drops_and_latency() -> None:
    settings = Settings()
    stack = build_stack(settings.vision)
    gallery = build_gallery([require_data(HAMILTON / "lin-manuel-miranda.png")], stack, settings)
    video = require_data(HAMILTON / "short_hamilton_clip.mp4")
    result = compare_live(video, (640, 360), 2, 4.0, gallery, path_settings(settings), stack)
    assert set(result["paths"]) == {"full-frame", "gated"}
    for r in result["paths"].values():
        assert r["cameras"] == 2 and r["frames_read"] > 0
        assert r["frames_due"] == r["frames_analysed"] + r["frames_dropped"] > 0
        assert 0.0 <= r["dropped_fraction"] <= 1.0
        assert 0.0 < r["latency_s"]["p50"] <= r["latency_s"]["p99"] < 30.0
    assert result["paths"]["full-frame"]["pixels_detected_per_frame"] == 1.0
