"""Looking ahead in a file: which frames are detected before their turn, that the guard's refusals are never
looked at, and that the threads end within their bound."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from izde.pipeline.ahead import DetectAhead
from izde.pipeline.run import run_source, with_next
from izde.pipeline.sources import FileSource, parse_source
from izde.pipeline.watcher import WatchCounters
from izde.vision.motion import FrameDifference, Shrinker
from izde.vision.types import Faces, Frame, Image


def frame(i: int) -> Frame:
    return Frame(np.full((4, 4, 3), i, np.uint8), i, i / 5, datetime.now(UTC))


def ahead_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("izde-detect-ahead")]


def faces_of(image: Image) -> Faces:
    """A stand-in detection: one box whose score is the frame's number."""
    return Faces(np.array([[0, 0, 2, 2]], np.int32), np.array([float(image[0, 0, 0])], np.float32))


def test_each_item_comes_with_the_next_ones_and_nothing_is_read_early_without_looking() -> None:
    assert list(with_next(range(4), 2)) == [(0, (1, 2)), (1, (2, 3)), (2, (3,)), (3, ())]
    assert list(with_next([], 2)) == []
    read: list[int] = []

    def source() -> Any:
        for i in range(3):
            read.append(i)
            yield i

    for item, after in with_next(source(), 0):
        assert after == () and read[-1] == item  # the next one is read only after this one's turn


def test_frames_expected_to_be_searched_whole_are_detected_ahead_and_taken_in_turn() -> None:
    frames = [frame(i) for i in range(6)]
    busy = {2, 3, 5}  # frames the motion says will be searched whole
    detected: list[int] = []

    def detect(image: Image) -> Faces:
        detected.append(int(image[0, 0, 0]))
        return faces_of(image)

    ahead = DetectAhead(detect, lambda _before, f: f.index in busy)
    ahead.look(frames[0], frames[1:3])
    ahead.look(frames[1], frames[2:4])  # frame 2 is not detected twice
    found = ahead.take(frames[2])
    assert found is not None and found.scores.tolist() == [2.0]
    assert ahead.take(frames[1]) is None  # never expected to be searched whole: the watcher detects it
    ahead.look(frames[3], frames[4:6])
    ahead.drop(frames[3])  # the watcher's own decision was otherwise: its early result is forgotten
    assert ahead.take(frames[3]) is None
    assert ahead.close()
    assert sorted(detected) == [2, 3, 5] and ahead_threads() == []


def test_closing_waits_for_a_detection_in_hand_within_its_bound() -> None:
    release = threading.Event()

    def slow(image: Image) -> Faces:
        release.wait(5)
        return faces_of(image)

    ahead = DetectAhead(slow, lambda _b, _f: True)
    ahead.look(frame(0), [frame(1)])
    t0 = time.monotonic()
    assert not ahead.close(timeout_s=0.2)  # still running: says so, and does not wait for it
    assert time.monotonic() - t0 < 2
    release.set()
    deadline = time.monotonic() + 5
    while ahead_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ahead_threads() == []


class Recorder:
    """A watcher that records what it was given, looking ``look`` frames ahead."""

    def __init__(self, look: int) -> None:
        self.looks_ahead = look
        self.counters = WatchCounters()
        self.seen: list[tuple[int, list[int]]] = []

    def process(self, f: Frame, upcoming: list[Frame]) -> list[Any]:
        self.seen.append((f.index, [u.index for u in upcoming]))
        return []

    def close(self) -> None:
        pass


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """A real 2 s video file (25 fps) whose frames carry their number."""
    path = tmp_path / "numbers.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 25.0, (64, 48))
    for i in range(50):
        writer.write(np.full((48, 64, 3), i * 5, np.uint8))
    writer.release()
    return path


def test_a_frame_the_guard_refuses_is_never_looked_at(clip: Path) -> None:
    guarded: list[int] = []

    def guard(f: Frame) -> str | None:
        guarded.append(f.index)
        return "the authorisation ended" if f.position_s >= 1.0 else None

    w = Recorder(2)
    result = run_source(FileSource(parse_source(str(clip))), w, 5.0, guard=guard)  # type: ignore[arg-type]
    assert result.stop_reason == "the authorisation ended"
    given = {i for i, _ in w.seen} | {u for _, after in w.seen for u in after}
    refused = [i for i in guarded if i / 25 >= 1.0]
    assert refused and not given & set(refused)
    assert w.seen[0][1] == [5, 10]  # frames are analysed every 0.2 s: 0, 5, 10, ...
    # Without looking ahead, each frame is checked just before its turn, as before.
    guarded.clear()
    w = Recorder(0)
    run_source(FileSource(parse_source(str(clip))), w, 5.0, guard=guard)  # type: ignore[arg-type]
    assert [after for _, after in w.seen] == [[]] * len(w.seen) and guarded[: len(w.seen)] == [i for i, _ in w.seen]


def test_a_frame_shrunk_ahead_for_motion_is_shrunk_once() -> None:
    shrink = Shrinker(keep=2)
    a, b, c = (np.random.default_rng(i).integers(0, 255, (72, 128, 3), np.uint8) for i in range(3))
    first = shrink(a)
    assert shrink(a) is first  # remembered by identity
    shrink(b), shrink(c)
    assert shrink(a) is not first  # only the last ``keep`` are remembered
    assert np.array_equal(shrink(a)[0], first[0])
    # The motion stage and a guess made ahead from the same shrunk pictures see the same change.
    stage, guess = FrameDifference(shrink=Shrinker()), FrameDifference(shrink=shrink)
    stage.update(a)
    moved = stage.update(b)
    ahead = guess.between(guess.shrink(a)[0], *guess.shrink(b), b.shape)
    assert np.array_equal(moved.boxes, ahead.boxes) and moved.changed == ahead.changed
