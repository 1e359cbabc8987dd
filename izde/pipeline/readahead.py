"""Decoding a recorded source's next frame while the current one is analysed.

A file is read as fast as analysis takes its frames, so its decoding (every source frame of an inter-coded
video, 25-30 a second, while 5 are analysed) sits on the analysis thread's time. A reader thread a few frames
ahead moves it onto another core: OpenCV and PyAV release the GIL while they decode. Live sources have their
own reader (which drops frames when analysis is behind, by design), so this is for files and folders only.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator

from izde.vision.types import Frame

# Frames waiting at most: one being decoded, these ready. More only holds memory (a 1080p frame is 6 MB).
DEPTH = 2
# How often a blocked reader looks whether the consumer has gone, and how long closing waits for it.
POLL_S = 0.05
JOIN_S = 5.0


class _End:
    """The reader's last item: the source ended, or raised ``error``."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def read_ahead(frames: Iterator[Frame], depth: int = DEPTH) -> Generator[Frame, None, None]:
    """``frames``, in order, produced by a reader thread up to ``depth`` frames ahead of the consumer.

    An error the source raises reaches the consumer where it would have without the thread. When the
    consumer stops early (or this generator is closed), the reader stops after the frame it is decoding and
    closes ``frames`` on its own thread, so the source's clean-up (releasing the file) runs where it ran."""
    items: queue.Queue[Frame | _End] = queue.Queue(maxsize=depth)
    gone = threading.Event()

    def put(item: Frame | _End) -> bool:
        while not gone.is_set():
            try:
                items.put(item, timeout=POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def reader() -> None:
        end = _End()
        try:
            for frame in frames:
                if not put(frame):
                    break
        except BaseException as e:  # handed to the consumer, raised there
            end = _End(e)
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()
            put(end)

    thread = threading.Thread(target=reader, name="izde-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        gone.set()
        thread.join(JOIN_S)
