"""A track's best shots: which shot is kept, and so embedded, and which is refused.

``TrackState.offer`` decides when a face is embedded again: a shot is kept while the track holds fewer than
``keep`` shots, and afterwards only when it beats the worst kept shot by ``min_gain``, so a face standing still
is not embedded again for noise in its quality score. The watcher embeds exactly the shots ``offer`` keeps.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from izde.pipeline.tracks import Shot, TrackState


def shot(quality: float) -> Shot:
    # Each shot has its own images, as the watcher's do: two shots are never the same object.
    return Shot(
        quality=quality,
        chip=np.zeros((150, 150, 3), np.uint8),
        crop=np.zeros((40, 40, 3), np.uint8),
        others=np.zeros((0, 4), np.int32),
        position_s=0.0,
        wall_time=datetime(2026, 1, 1, tzinfo=UTC),
    )


def track(*qualities: float) -> TrackState:
    t = TrackState(id=1, first_seen_s=0.0)
    t.shots = [shot(q) for q in qualities]
    return t


@pytest.mark.parametrize(
    "held, keep, offered, min_gain, kept, after",
    [
        # Fewer than ``keep`` shots: every shot is kept, however poor, in order best first.
        ((), 3, 0.1, None, True, (0.1,)),
        ((0.9, 0.7), 3, 0.1, None, True, (0.9, 0.7, 0.1)),
        ((0.9, 0.7), 3, 0.95, None, True, (0.95, 0.9, 0.7)),
        # A full track: within the default margin (0.02) of the worst kept shot, refused.
        ((0.9, 0.7, 0.5), 3, 0.5, None, False, (0.9, 0.7, 0.5)),
        ((0.9, 0.7, 0.5), 3, 0.51, None, False, (0.9, 0.7, 0.5)),
        ((0.9, 0.7, 0.5), 3, 0.3, None, False, (0.9, 0.7, 0.5)),
        # Clearly better than the worst, though worse than the others: it takes the worst one's place.
        ((0.9, 0.7, 0.5), 3, 0.6, None, True, (0.9, 0.7, 0.6)),
        # Better than all: first, and the worst is dropped.
        ((0.9, 0.7, 0.5), 3, 0.95, None, True, (0.95, 0.9, 0.7)),
        # The margin's edge (values exact in binary): exactly the margin above the worst is enough.
        ((0.75, 0.5), 2, 0.75, 0.25, True, (0.75, 0.75)),
        ((0.75, 0.5), 2, 0.625, 0.25, False, (0.75, 0.5)),
        # Without a margin, a tie with the worst is taken in and dropped again: not kept, nothing changes.
        ((0.75, 0.5), 2, 0.5, 0.0, False, (0.75, 0.5)),
        # keep=1: only the single best shot, and only when it is better by the margin.
        ((0.5,), 1, 0.51, None, False, (0.5,)),
        ((0.5,), 1, 0.6, None, True, (0.6,)),
    ],
)
def test_offer(
    held: tuple[float, ...], keep: int, offered: float, min_gain: float | None, kept: bool, after: tuple[float, ...]
) -> None:
    t = track(*held)
    before = list(t.shots)
    s = shot(offered)
    got = t.offer(s, keep) if min_gain is None else t.offer(s, keep, min_gain)
    assert got is kept
    assert [x.quality for x in t.shots] == list(after)
    assert len(t.shots) <= keep
    assert any(x is s for x in t.shots) is kept  # what it says is what it did
    assert all(x is s or any(x is b for b in before) for x in t.shots)  # the others are the shots held before


def test_a_shot_as_good_as_one_already_kept_is_kept_beside_it() -> None:
    # Qualities repeat (a still face, a repeated frame): the new shot is compared by identity, never by value.
    t = track(0.7)
    s = shot(0.7)
    assert t.offer(s, 3) is True
    assert [x.quality for x in t.shots] == [0.7, 0.7] and t.shots[1] is s
    full = track(0.9, 0.7, 0.5)
    better = shot(0.7)
    assert full.offer(better, 3) is True
    assert [x.quality for x in full.shots] == [0.9, 0.7, 0.7] and full.shots[2] is better


def test_a_still_face_is_embedded_again_only_when_its_shots_get_clearly_better() -> None:
    # One track, shot after shot, as the watcher offers them: it embeds exactly the shots ``offer`` keeps. The
    # quality of a face that stands still jitters by a little; only a real improvement is embedded again.
    t = track()
    qualities = [0.50, 0.51, 0.50, 0.505, 0.515, 0.51, 0.518, 0.60, 0.59, 0.605, 0.70, 0.61, 0.615]
    embedded = [q for q in qualities if t.offer(shot(q), keep=3)]
    assert embedded == [0.50, 0.51, 0.50, 0.60, 0.59, 0.605, 0.70]
    assert [s.quality for s in t.shots] == [0.70, 0.605, 0.60]


def test_descriptors_are_those_of_the_embedded_shots_best_first() -> None:
    t = track(0.9, 0.7, 0.5)
    assert t.best_embedded() is None
    empty = t.descriptors()
    assert empty.shape == (0, 128) and empty.dtype == np.float32  # no descriptor yet: none, of the right width
    t.shots[1].descriptor = np.full(128, 0.7, np.float32)
    t.shots[2].descriptor = np.full(128, 0.5, np.float32)
    assert t.best_embedded() is t.shots[1]
    ds = t.descriptors()
    assert ds.shape == (2, 128) and ds[:, 0].tolist() == pytest.approx([0.7, 0.5])
