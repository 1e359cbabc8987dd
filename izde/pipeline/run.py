"""Drives one source through one watcher until the source ends, fails, is stopped, or a guard says stop."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from izde.pipeline.readahead import read_ahead
from izde.pipeline.sources import Source, SourceStats
from izde.pipeline.watcher import WatchCounters, Watcher
from izde.vision.types import Frame

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
    try:
        for frame in frames:
            if guard is not None and (reason := guard(frame)) is not None:
                break
            watcher.process(frame)
            if progress is not None:
                progress(frame, watcher.counters)
    finally:
        stop.set()
        if hasattr(frames, "close"):
            frames.close()  # the reader (and the source it holds) ends before the stats are read
        watcher.close()
    return RunResult(source.stats, watcher.counters, reason)
