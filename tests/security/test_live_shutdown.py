"""A live reader whose consumer stopped reading ends by itself: its end-of-stream marker never blocks.

The reader once ended with a blocking ``queue.put(None)``: with the consumer gone and the queue full of frames,
the reader thread (and whatever waited for it) hung forever."""

from __future__ import annotations

import threading
import time

from izde.pipeline.sources import LiveSource, SourceKind, SourceSpec
from tests.conftest import HAMILTON, require_data


def test_reader_ends_when_nobody_reads_its_queue() -> None:
    # A recording read as a stream: frames arrive faster than anyone takes them, then the stream ends and the
    # reconnect fails (no retries), as when a camera goes away while the session's consumer has stopped.
    clip = require_data(HAMILTON / "short_hamilton_clip.mp4")
    src = LiveSource(SourceSpec(SourceKind.STREAM, str(clip)), retries=0, backoff_s=0.01, timeout_ms=2000)
    src.retries = -1  # after the end, no reconnect attempt at all: the reader must finish at once
    stop = threading.Event()
    reader = threading.Thread(target=src._reader, args=(50.0, stop), daemon=True)
    started = time.monotonic()
    reader.start()
    reader.join(timeout=60)
    assert not reader.is_alive(), "the reader blocked on a full queue"
    assert time.monotonic() - started < 60
    # The end marker is the newest item: a consumer that comes back still learns that the stream ended.
    items = []
    while not src._queue.empty():
        items.append(src._queue.get_nowait())
    assert items and items[-1] is None
    assert src.stats.frames_dropped > 0


def test_frames_iterator_stops_within_bounds_when_stopped() -> None:
    clip = require_data(HAMILTON / "short_hamilton_clip.mp4")
    src = LiveSource(SourceSpec(SourceKind.STREAM, str(clip)), retries=0, backoff_s=0.01, timeout_ms=2000)
    stop = threading.Event()
    frames = src.frames(5.0, stop)
    next(frames)
    stop.set()
    started = time.monotonic()
    frames.close()  # the consumer leaves; the generator's cleanup joins the reader with a bounded timeout
    assert time.monotonic() - started < src.timeout_ms / 1000 + 3
    assert src.stats.finished or src.stats.error is not None
