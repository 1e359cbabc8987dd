"""The watcher on real frames of the Hamilton clip with the real models: one alert per passage of an enrolled
person, nothing for anyone else, and no track kept once it ends."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import cv2
import numpy as np
import pytest

from izde.config import MatchSettings, PipelineSettings, Settings
from izde.eval.bench_pipeline import build_gallery
from izde.pipeline.sources import FileSource, parse_source
from izde.pipeline.watcher import AlertEvent, WatchCounters, Watcher
from izde.service.watching import match_index
from izde.vision.stack import VisionStack, build_stack
from izde.vision.types import Frame
from izde.watchlist.index import Gallery, Index
from tests.conftest import HAMILTON, require_data

pytestmark = pytest.mark.slow

CLIP_S = 9.2


class CachedAnalysis:
    """The real stack, with each frame's detection and alignment computed once for the whole module: the tests
    replay the same frames several times, and detection is what the watcher does not decide."""

    def __init__(self, stack: VisionStack) -> None:
        self.stack = stack
        self.detector = stack.detector
        self.embedder = stack.embedder
        self._memo: dict[int, tuple[Any, int]] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stack, name)  # the descriptor networks: computed, not replayed

    def analyse(self, image: np.ndarray, min_face_px: int = 0, plan: Any = None, coarse: Any = None) -> tuple[Any, int]:
        # The watcher runs with motion gating off here (see watch()), so every frame is searched whole.
        assert plan is None or plan.full, "these tests replay whole-frame detections"
        key = id(image)
        if key not in self._memo:
            self._memo[key] = self.stack.analyse(image, min_face_px)
        return self._memo[key]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> CachedAnalysis:
    return CachedAnalysis(build_stack(Settings(home=tmp_path_factory.mktemp("home")).vision))


@pytest.fixture(scope="module")
def frames() -> list[Frame]:
    source = FileSource(parse_source(str(require_data(HAMILTON / "short_hamilton_clip.mp4"))))
    out = list(source.frames(PipelineSettings().analysis_fps, threading.Event()))
    assert source.stats.finished and len(out) >= 40
    # His first passage (the camera cuts away and back at 3 s) and a little more: the rest is the same story.
    return [f for f in out if f.position_s < CLIP_S / 2]


def gallery(stack: CachedAnalysis, *photos: str) -> Index:
    """One person per photo, in every space of the stack's networks, searched as a deployment searches it."""
    return match_index(build_gallery([require_data(HAMILTON / p) for p in photos], stack.stack, Settings()))


def passages(frames: list[Frame], *starts: float) -> Iterator[Frame]:
    """The clip played again at each start (seconds of source time): the same person passing once more."""
    for start in starts:
        for f in frames:
            yield replace(f, position_s=start + f.position_s)


def watch(
    stack: CachedAnalysis, g: Index, frames: Iterator[Frame], match: MatchSettings | None = None, **pipeline: Any
) -> tuple[Watcher, list]:
    alerts: list[AlertEvent] = []
    settings = PipelineSettings(**{"motion": "off", **pipeline})  # whole frames: what CachedAnalysis replays
    w = Watcher("stage", stack, g, settings, match or Settings().match, alerts.append)  # type: ignore[arg-type]
    returned = [a for f in frames for a in w.process(f)]
    assert returned == alerts  # what process() returns is what the sink was given, once each
    return w, alerts


def test_one_passage_raises_exactly_once(stack: CachedAnalysis, frames: list[Frame]) -> None:
    g = gallery(stack, "lin-manuel-miranda.png")
    w, alerts = watch(stack, g, passages(frames, 0.0))
    assert len(alerts) == 1, alerts
    (a,) = alerts
    assert (a.camera, a.person_id, a.label) == ("stage", "lin-manuel-miranda", "lin-manuel-miranda")
    # The default fused score, at its default threshold.
    assert stack.networks == ("dlib", "faceres") and a.threshold == Settings().match.threshold == 0.486
    assert 0 <= a.distance <= a.threshold
    assert 0 <= a.position_s <= CLIP_S / 2 and a.quality >= PipelineSettings().min_quality
    crop = cv2.imdecode(np.frombuffer(a.evidence_jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert crop is not None and min(crop.shape[:2]) >= 36
    c = w.counters
    assert c.alerts == 1 and c.frames_analysed == len(frames) and c.faces_seen >= c.tracks_seen >= 1
    assert 1 <= c.embeds <= c.tracks_seen * PipelineSettings().max_embeds_per_track


@pytest.mark.parametrize(
    "starts, cooldown_s, expected",
    [
        ((0.0, 20.0), 60.0, 1),  # passing again within the cooldown: silent
        ((0.0, 100.0), 60.0, 2),  # after it: a new alert
        # The clip cuts away from him and back at 3 s, so one passage is two tracks of him: without the
        # cooldown each raises its own alert. With it, one passage is one alert.
        ((0.0,), 0.0, 2),
        ((0.0, 20.0), 0.0, 4),
        ((0.0, 20.0, 100.0, 120.0), 60.0, 2),
        ((0.0, 50.0), 60.0, 1),
        ((0.0, 60.0), 60.0, 2),  # exactly the cooldown later: a new alert
    ],
)
def test_cooldown_between_passages(
    stack: CachedAnalysis, frames: list[Frame], starts: tuple[float, ...], cooldown_s: float, expected: int
) -> None:
    g = gallery(stack, "lin-manuel-miranda.png")
    _, alerts = watch(stack, g, passages(frames, *starts), cooldown_s=cooldown_s)
    positions = [a.position_s for a in alerts]
    assert len(alerts) == expected, positions
    assert all(b - a >= cooldown_s for a, b in itertools.pairwise(positions)), positions


def test_dlib_alone_still_raises_exactly_once(stack: CachedAnalysis, frames: list[Frame]) -> None:
    """vision.descriptors: [dlib] matches with dlib's descriptor alone, at dlib's threshold."""
    dlib_only = CachedAnalysis(replace(stack.stack, extra=()))
    dlib_only._memo = stack._memo  # the same detections
    settings = Settings(vision={"descriptors": ["dlib"]})
    g = gallery(dlib_only, "lin-manuel-miranda.png")
    assert g.networks == dlib_only.networks == ("dlib",)
    _, alerts = watch(dlib_only, g, passages(frames, 0.0), match=settings.match)
    assert [a.person_id for a in alerts] == ["lin-manuel-miranda"]
    assert 0 <= alerts[0].distance <= alerts[0].threshold == 0.50


def test_a_gallery_of_other_networks_is_refused(stack: CachedAnalysis) -> None:
    dlib_only = CachedAnalysis(replace(stack.stack, extra=()))
    with pytest.raises(ValueError, match="dlib\\+faceres templates but faces are described by dlib"):
        watch(dlib_only, gallery(stack, "obama.jpg"), iter(()))
    with pytest.raises(ValueError, match="holds dlib templates but faces are described by dlib\\+faceres"):
        watch(stack, gallery(dlib_only, "obama.jpg"), iter(()))


def test_strangers_raise_nothing_and_no_track_outlives_its_faces(stack: CachedAnalysis, frames: list[Frame]) -> None:
    g = gallery(stack, "obama.jpg", "biden.jpg")
    w, alerts = watch(stack, g, passages(frames, 0.0))
    assert alerts == [] and w.counters.embeds >= 1  # descriptors were computed and matched nobody
    assert w._tracks  # the last faces' tracks are still open
    # A frame long after the others closes every track: nothing of them is kept.
    w.process(replace(frames[0], position_s=frames[-1].position_s + 30, image=np.zeros_like(frames[0].image)))
    assert w._tracks == {}
    w.close()
    assert w._tracks == {}


def test_an_empty_watchlist_computes_no_descriptor(stack: CachedAnalysis, frames: list[Frame]) -> None:
    empty = Gallery((), (), np.zeros((0, 128), np.float32), np.zeros(0, np.int32))
    w, alerts = watch(stack, empty, passages(frames, 0.0))
    assert alerts == [] and w.counters.embeds == 0 and w.counters.faces_seen >= 1


def test_a_folder_of_unrelated_images_keeps_no_track(stack: CachedAnalysis, frames: list[Frame]) -> None:
    g = gallery(stack, "obama.jpg")
    w = Watcher("c", stack, g, PipelineSettings(), Settings().match, lambda a: None, continuous=False)  # type: ignore[arg-type]
    for f in frames[:10]:
        w.process(f)
        assert w._tracks == {}


def test_a_repeated_frame_is_embedded_only_for_the_best_shots(stack: CachedAnalysis, frames: list[Frame]) -> None:
    # A stalled camera, or an encoder that repeats frames: the same face, with the same quality, frame after
    # frame. The track fills its best shots once; shots no better than those are not embedded again.
    still = frames[0]
    assert stack.analyse(still.image)[1] == 1  # one face, good enough to embed
    g = gallery(stack, "obama.jpg", "biden.jpg")
    settings = PipelineSettings()
    w, alerts = watch(stack, g, (replace(still, position_s=i * 0.2) for i in range(4 * settings.best_shots)))
    assert alerts == []
    assert w.counters.tracks_seen == 1 and w.counters.faces_seen == 4 * settings.best_shots
    assert w.counters.embeds == settings.best_shots < settings.max_embeds_per_track
    # The source ends with the track still open: it is forgotten with everything it held.
    assert len(w._tracks) == 1
    w.close()
    assert w._tracks == {}


def test_a_track_is_embedded_at_most_max_embeds_times(stack: CachedAnalysis, frames: list[Frame]) -> None:
    still = frames[0]  # each repeat is a shot as good as the kept ones, offered while the track has room
    for cap in (1, 2):
        w, _ = watch(
            stack,
            gallery(stack, "obama.jpg"),
            (replace(still, position_s=i * 0.2) for i in range(6)),
            best_shots=3,
            max_embeds_per_track=cap,
        )
        assert (w.counters.tracks_seen, w.counters.embeds) == (1, cap)


def test_min_quality_is_the_lowest_quality_embedded(stack: CachedAnalysis, frames: list[Frame]) -> None:
    faces, found = stack.analyse(frames[0].image)
    assert found == 1 and faces.quality is not None
    q = float(faces.quality[0])
    g = gallery(stack, "obama.jpg")
    at, _ = watch(stack, g, iter(frames[:1]), min_quality=q)
    above, _ = watch(stack, g, iter(frames[:1]), min_quality=float(np.nextafter(q, 1.0)))
    assert (at.counters.embeds, above.counters.embeds) == (1, 0)
    assert at.counters.faces_seen == above.counters.faces_seen == 1


def test_the_detected_fraction_of_nothing_is_nothing() -> None:
    assert WatchCounters().detected_fraction == 0.0
    assert WatchCounters(pixels_detected=25, pixels_analysed=100).detected_fraction == 0.25


def test_screening_by_dlib_raises_the_same_alert(stack: CachedAnalysis, frames: list[Frame]) -> None:
    g = gallery(stack, "lin-manuel-miranda.png")
    everyone = Settings().match.model_copy(update={"screen_margin": None})
    screened, alerts = watch(stack, g, passages(frames, 0.0))
    unscreened, expected = watch(stack, g, passages(frames, 0.0), match=everyone)
    assert [(a.person_id, a.position_s, a.track_id) for a in alerts] == [
        (a.person_id, a.position_s, a.track_id) for a in expected
    ]
    # The matched track's shots were all described by both networks: the fused distance is the same.
    assert [a.distance for a in alerts] == pytest.approx([a.distance for a in expected], abs=1e-6)
    s, u = screened.counters, unscreened.counters
    # Both tracks in these frames are his (the camera cuts away and back): none of his shots is skipped.
    assert s.tracks_seen == 2 and s.embeds == u.embeds == u.embeds_fused == s.embeds_fused


def test_strangers_far_from_the_watchlist_are_not_described_by_the_fused_networks(
    stack: CachedAnalysis, frames: list[Frame]
) -> None:
    w, alerts = watch(stack, gallery(stack, "obama.jpg", "biden.jpg"), passages(frames, 0.0))
    assert alerts == [] and w.counters.embeds >= 3 and w.counters.embeds_fused == 0
    # Their chips for the other networks are held only while their tracks live.
    assert any(s.extra_chips for t in w._tracks.values() for s in t.shots)
    w.close()
    assert w._tracks == {}


def test_describing_ahead_raises_the_same_alerts_once_each(stack: CachedAnalysis, frames: list[Frame]) -> None:
    # izde watch describes a frame's shots on a second thread while the next frame is detected.
    g = gallery(stack, "lin-manuel-miranda.png")
    inline, expected = watch(stack, g, passages(frames, 0.0, 100.0), cooldown_s=0.0)
    emitted: list[AlertEvent] = []
    settings = PipelineSettings(motion="off", cooldown_s=0.0, describe_ahead=True)
    w = Watcher("stage", stack, g, settings, Settings().match, emitted.append)  # type: ignore[arg-type]
    returned = [a for f in passages(frames, 0.0, 100.0) for a in w.process(f)]
    w.close()  # the last frames' alerts come out here
    assert len(expected) == 4
    assert [(a.person_id, a.track_id, a.position_s, a.distance) for a in emitted] == [
        (a.person_id, a.track_id, a.position_s, a.distance) for a in expected
    ]
    assert returned == emitted[: len(returned)]  # process() returns what it emitted, on the caller's thread
    assert w.counters == inline.counters
    assert w._tracks == {} and not any(t.name == "izde-describer" for t in threading.enumerate())
