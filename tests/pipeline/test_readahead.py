"""Reading a recorded source ahead of analysis on another thread: same frames, same errors, bounded ends."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pytest

from izde.errors import SourceError
from izde.pipeline.readahead import JOIN_S, read_ahead
from izde.pipeline.sources import FileSource, parse_source
from izde.vision.types import Frame
from tests.conftest import HAMILTON, require_data


def frame(i: int) -> Frame:
    return Frame(np.full((2, 2, 3), i % 256, np.uint8), i, i / 25, datetime.now(UTC))


def readers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "izde-read-ahead"]


def test_a_file_reads_the_same_frames_ahead_as_in_line() -> None:
    path = str(require_data(HAMILTON / "short_hamilton_clip.mp4"))
    direct_source = FileSource(parse_source(path))
    direct = list(direct_source.frames(5.0, threading.Event()))
    ahead_source = FileSource(parse_source(path))
    ahead = list(read_ahead(ahead_source.frames(5.0, threading.Event())))
    assert [(f.index, f.position_s) for f in ahead] == [(f.index, f.position_s) for f in direct]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(ahead, direct, strict=True))
    assert ahead_source.stats == direct_source.stats and ahead_source.stats.finished
    assert readers() == []


def test_an_error_of_the_source_reaches_the_consumer_after_the_frames_before_it() -> None:
    def failing() -> Iterator[Frame]:
        yield frame(0)
        yield frame(1)
        raise SourceError("cannot read video file x.mp4", "check the file")

    got = []
    with pytest.raises(SourceError, match="cannot read video file"):
        for f in read_ahead(failing()):
            got.append(f.index)
    assert got == [0, 1] and readers() == []


def test_a_consumer_that_stops_early_ends_the_reader_and_closes_the_source() -> None:
    closed = threading.Event()
    produced = []

    def endless() -> Iterator[Frame]:
        i = 0
        try:
            while True:
                produced.append(i)
                yield frame(i)
                i += 1
        finally:
            closed.set()

    frames = read_ahead(endless(), depth=2)
    assert next(frames).index == 0
    time.sleep(0.2)
    assert len(produced) <= 4  # the one taken, two waiting, one blocked on the full queue
    start = time.monotonic()
    frames.close()
    assert time.monotonic() - start < JOIN_S
    assert closed.is_set() and readers() == []
