"""Drives one source through one watcher until the source ends, fails, is stopped, or a guard says stop."""

from __future__ import annotations

import collections
import itertools
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from izde.pipeline.readahead import read_ahead
from izde.pipeline.sources import Source, SourceStats
from izde.pipeline.watcher import WatchCounters, Watcher
from izde.vision.types import Frame

T = TypeVar("T")

Progress = Callable[[Frame, WatchCounters], None]
Guard = Callable[[Frame], str | None]  # a reason to stop now, or None


@dataclass(frozen=True, slots=True)
class RunResult:
    source: SourceStats
    counters: WatchCounters
    stop_reason: str | None = None

    @property
    def finished(self) -> bool:
        return self.source.finished and self.source.error is None and self.stop_reason is None


def run_source(
    source: Source,
    watcher: Watcher,
    analysis_fps: float,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
    guard: Guard | None = None,
) -> RunResult:
    stop = stop or threading.Event()
    reason: str | None = None
    frames = source.frames(analysis_fps, stop)
    if not source.live:
        frames = read_ahead(frames)  # the next frame decodes on another core while this one is analysed
    # Each frame is checked by the guard as soon as it is read, so a frame it refuses is never looked at, even
    # ahead of its turn. Frames are looked at ahead only in files: a camera's next frame is not there yet.
    checked = ((f, guard(f) if guard is not None else None) for f in frames)
    look = watcher.looks_ahead if not source.live else 0
    try:
        for (frame, refused), upcoming in with_next(checked, look):
            if refused is not None:
                reason = refused
                break
            # Up to the first frame the guard refused: that one and those after are never looked at.
            allowed = list(itertools.takewhile(lambda item: item[1] is None, upcoming))
            watcher.process(frame, [f for f, _ in allowed])
            if progress is not None:
                progress(frame, watcher.counters)
    finally:
        stop.set()
        if hasattr(frames, "close"):
            frames.close()  # the reader (and the source it holds) ends before the stats are read
        watcher.close()
    return RunResult(source.stats, watcher.counters, reason)


def with_next(items: Iterable[T], look: int) -> Iterator[tuple[T, tuple[T, ...]]]:
    """Each item with up to ``look`` items after it. With ``look`` 0, nothing is read before its turn."""
    it = iter(items)
    window: collections.deque[T] = collections.deque(itertools.islice(it, 1))
    while window:
        window.extend(itertools.islice(it, look + 1 - len(window)))
        current = window.popleft()
        yield current, tuple(window)
        if not window:
            window.extend(itertools.islice(it, 1))
