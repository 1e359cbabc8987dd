"""Screening by dlib's descriptor before the fused networks run, on controlled descriptors (a unit: the real
networks on real frames are in test_watcher.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from izde.config import MatchSettings, PipelineSettings
from izde.pipeline.tracks import Shot, TrackState
from izde.pipeline.watcher import Job, Watcher
from izde.vision.stack import VisionStack
from izde.watchlist.fusion import Space, match_gallery

DIM = 128


def unit(i: int, dim: int = DIM) -> np.ndarray:
    v = np.zeros(dim, np.float32)
    v[i] = 1.0
    return v


class Descriptors:
    """dlib's network stand-in: a chip's descriptor is written in the chip (its first pixel row, as floats)."""

    name = "controlled"

    def embed(self, chips: np.ndarray) -> np.ndarray:
        return np.stack([c.view(np.float32).reshape(-1)[:DIM] for c in chips])


class Extra:
    key, name = "faceres", "controlled-faceres"

    def __init__(self) -> None:
        self.calls: list[int] = []

    def embed_chips(self, chips: np.ndarray) -> np.ndarray:
        self.calls.append(len(chips))
        return np.stack([c.view(np.float32).reshape(-1)[:DIM] for c in chips])


def chip(d: np.ndarray) -> np.ndarray:
    out = np.zeros((4, DIM), np.float32)
    out[0] = d
    return out.view(np.uint8)


def shot(d: np.ndarray, quality: float) -> Shot:
    return Shot(
        quality,
        chip(d),
        np.zeros((2, 2, 3), np.uint8),
        np.zeros((0, 4), np.int32),
        0.0,
        datetime.now(UTC),
        extra_chips=(chip(d),),
    )


def test_a_track_screened_out_gets_every_shot_described_once_it_comes_near() -> None:
    person = unit(0)
    spaces = (
        Space("dlib", person[None], np.zeros(1, np.int32)),
        Space("faceres", person[None], np.zeros(1, np.int32), True),
    )
    extra = Extra()
    stack = VisionStack(None, None, Descriptors(), (extra,))  # type: ignore[arg-type]
    g = match_gallery(("p",), ("p",), spaces)
    w = Watcher("c", stack, g, PipelineSettings(), MatchSettings(threshold=0.486, screen_margin=0.15), lambda a: None)
    track = TrackState(1, 0.0)
    far = shot(unit(1), 0.5)  # dlib distance sqrt(2) from the person: screened out
    track.shots.append(far)
    assert w._describe(Job([(track, far)], {id(track): tuple(track.shots)}, 0.0)) == []
    assert far.first is not None and far.descriptor is None and far.extra_chips and extra.calls == []
    assert (w.counters.embeds, w.counters.embeds_fused) == (1, 0)
    # Two better shots of the person himself: the track's mean comes within threshold + margin.
    near = [shot(person, 0.9), shot(person, 0.8)]
    track.shots[:0] = near
    assert w._describe(Job([(track, s) for s in near], {id(track): tuple(track.shots)}, 0.2)) == [track]
    assert extra.calls == [3]  # the earlier shot too, in one batch with the new ones
    assert all(s.descriptor is not None and s.extra_chips == () for s in track.shots)
    assert (w.counters.embeds, w.counters.embeds_fused) == (3, 3)
    np.testing.assert_array_equal(far.descriptor, np.concatenate([unit(1), unit(1)]))
