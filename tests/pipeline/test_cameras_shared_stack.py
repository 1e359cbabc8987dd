"""Several cameras in one process share the networks; each camera's results stay its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from izde.config import Settings
from izde.eval.bench_pipeline import build_gallery, run_cameras
from izde.vision.stack import build_stack
from tests.conftest import HAMILTON, require_data

pytestmark = pytest.mark.slow


def test_cameras_sharing_one_stack_each_raise_their_own_alert() -> None:
    settings = Settings()
    stack = build_stack(settings.vision)
    gallery = build_gallery([require_data(HAMILTON / "lin-manuel-miranda.png")], stack, settings)
    clip: Path = require_data(HAMILTON / "short_hamilton_clip.mp4")
    one = run_cameras(clip, gallery, settings, stack, 1, batching=False)
    three = run_cameras(clip, gallery, settings, stack, 3, batching=True)
    assert one["alerts"] == 1 and three["alerts"] == 3
    assert three["frames"] == 3 * one["frames"] == 3 * 275
    assert three["descriptors"] == 3 * one["descriptors"] > 0
    assert three["embedder_calls"] <= 3 * one["embedder_calls"]  # merged calls can only be fewer
