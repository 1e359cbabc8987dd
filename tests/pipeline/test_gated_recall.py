"""The motion-gated pipeline finds the people the full-frame one finds, on the real shared clips.

Both paths run side by side on the same clip with the same networks; only ``pipeline.motion`` differs.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from izde.config import Settings
from izde.eval.bench_gating import (
    HELD_FRAME,
    BenchClip,
    PathFigures,
    clip_of,
    held_clip,
    path_settings,
    resized_copy,
    watch_clip,
)
from izde.eval.bench_pipeline import build_gallery
from izde.pipeline.run import run_source
from izde.pipeline.sources import FileSource, parse_source
from izde.pipeline.watcher import AlertEvent, Watcher
from izde.vision.stack import VisionStack, build_stack
from izde.watchlist.index import Gallery
from tests.conftest import CROWD, HAMILTON, require_data

pytestmark = pytest.mark.slow
Setup = tuple[Settings, VisionStack, Gallery]


@pytest.fixture(scope="module")
def setup() -> Setup:
    settings = Settings()
    stack = build_stack(settings.vision)
    gallery = build_gallery([require_data(HAMILTON / "lin-manuel-miranda.png")], stack, settings)
    return settings, stack, gallery


def _both(clip: BenchClip, setup: Setup) -> dict[str, PathFigures]:
    settings, stack, gallery = setup
    return {name: watch_clip(clip, gallery, s, stack, name) for name, s in path_settings(settings).items()}


def _close(a: int, b: int, rel: float) -> bool:
    return abs(a - b) <= max(1, rel * b)


def _sees_what_full_frame_finds(gated: PathFigures, full: PathFigures, rel: float) -> None:
    """Every face the full-frame path found, the gated one saw (found, or carried along its track: it can see
    more, where the detector missed a face the flow kept); and it found no more than the detector finds."""
    assert gated.faces >= (1 - rel) * full.faces, (gated.faces, full.faces)
    assert gated.faces - gated.carried <= (1 + rel) * full.faces


def test_gated_hamilton_raises_the_same_alert_with_the_same_tracks(setup: Setup) -> None:
    runs = _both(clip_of("hamilton", require_data(HAMILTON / "short_hamilton_clip.mp4")), setup)
    full, gated = runs["full-frame"], runs["gated"]
    assert full.persons == gated.persons == ["lin-manuel-miranda"]
    assert gated.alerts == full.alerts == 1
    assert gated.tracks == full.tracks
    # HOG's weakest detections (scores near 0) come and go with where a crop starts; a few percent of faces.
    _sees_what_full_frame_finds(gated, full, 0.10)
    assert gated.carried > 0
    assert gated.full_scans < full.full_scans == full.frames_analysed
    assert gated.pixels_detected_per_frame < 0.9 < full.pixels_detected_per_frame


def test_gated_crowd_at_720p_raises_nothing_and_finds_the_same_faces(setup: Setup, tmp_path: Path) -> None:
    path = resized_copy(require_data(CROWD / "crowd.mp4"), (1280, 720), tmp_path / "crowd_720p.mp4")
    runs = _both(clip_of("crowd 720p", path), setup)
    full, gated = runs["full-frame"], runs["gated"]
    assert full.alerts == gated.alerts == 0
    assert _close(gated.tracks, full.tracks, 0.05)
    _sees_what_full_frame_finds(gated, full, 0.05)


def test_a_face_held_still_for_seconds_is_kept_and_matched(setup: Setup, tmp_path: Path) -> None:
    # A real frame with Lin-Manuel Miranda facing the camera, held for 6 s: nothing in the picture moves.
    path = held_clip(require_data(HAMILTON / "short_hamilton_clip.mp4"), HELD_FRAME, 6.0, tmp_path / "held.mp4")
    settings, stack, gallery = setup
    gated = watch_clip(clip_of("held", path), gallery, path_settings(settings)["gated"], stack, "gated")
    assert gated.persons == ["lin-manuel-miranda"] and gated.alerts == 1
    assert gated.tracks == 1
    # Seen on every analysed frame although the picture never changes: around its track, by full scans, and
    # carried by optical flow between detections (pipeline.redetect_every = 2: every other frame at most).
    assert gated.faces == gated.frames_analysed == 30
    assert 0 < gated.carried <= 15
    # At 0 and 2 s of the 6 s clip (pipeline.full_scan_s = 2); the one at 2 s found only the tracked face, so
    # the next is due 4 s later (pipeline.full_scan_max_s), after the clip's end.
    assert gated.full_scans == 2
    assert gated.pixels_detected_per_frame < 0.5


@pytest.mark.parametrize("which", ["hamilton", "crowd-720p"])
def test_the_default_pipeline_sees_what_the_earlier_hog_full_frame_one_found(
    setup: Setup, tmp_path: Path, which: str
) -> None:
    # izde searched every analysed frame whole with dlib's HOG (one upsampling) before BlazeFace and gating.
    settings, stack, gallery = setup
    if which == "hamilton":
        clip = clip_of(which, require_data(HAMILTON / "short_hamilton_clip.mp4"))
    else:
        clip = clip_of(which, resized_copy(require_data(CROWD / "crowd.mp4"), (1280, 720), tmp_path / "c.mp4"))
    earlier = settings.model_copy(
        update={
            "vision": settings.vision.model_copy(update={"detector": "hog"}),
            "pipeline": settings.pipeline.model_copy(update={"motion": "off"}),
        }
    )
    old = watch_clip(clip, gallery, earlier, build_stack(earlier.vision), "hog full-frame")
    new = watch_clip(clip, gallery, settings, stack, "default")
    assert new.persons == old.persons and new.alerts == old.alerts
    assert new.tracks >= old.tracks and new.faces >= old.faces


@pytest.mark.parametrize(
    ("which", "changes"),
    [("hamilton", {}), ("crowd 720p", {}), ("crowd 720p", {"search_every": 2}), ("crowd 720p", {"motion": "mog2"})],
)
def test_detecting_ahead_finds_what_detecting_in_turn_finds(
    setup: Setup, tmp_path: Path, which: str, changes: dict[str, object]
) -> None:
    # izde watch detects the next frames of a busy picture on other threads: the same faces, tracks and alerts.
    # Moving areas searched every 2nd frame, or a background model, make the guess of which frames will be
    # searched whole wrong at times: those early detections must be dropped.
    settings, stack, gallery = setup
    if which == "hamilton":
        path = require_data(HAMILTON / "short_hamilton_clip.mp4")
    else:
        path = resized_copy(require_data(CROWD / "crowd.mp4"), (1280, 720), tmp_path / "c.mp4")
    runs = {}
    for ahead in (False, True):
        pipeline = settings.pipeline.model_copy(update={**changes, "detect_ahead": ahead, "describe_ahead": ahead})
        events: list[AlertEvent] = []
        w = Watcher("bench", stack, gallery, pipeline, settings.match, events.append, True)
        result = run_source(FileSource(parse_source(str(path))), w, pipeline.analysis_fps)
        runs[ahead] = (result.counters, [(e.person_id, e.track_id, e.position_s, e.distance) for e in events], w)
    (inline, expected, _), (counters, alerts, w) = runs[False], runs[True]
    assert counters == inline
    assert alerts == expected
    assert w._ahead is not None and w._ahead.taken > 0
    if which != "hamilton" and not changes:
        # The crowd moves everywhere: nearly every frame after the first is detected ahead, and none in vain.
        assert w._ahead.taken >= 0.7 * counters.frames_analysed
        assert w._ahead.started == w._ahead.taken
    assert not [t for t in threading.enumerate() if t.name.startswith(("izde-detect-ahead", "izde-describer"))]
