"""Drives one source through one watcher until the source ends, fails or is stopped."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from izde.config import Settings
from izde.pipeline.sources import Source, SourceStats
from izde.pipeline.watcher import AlertSink, WatchCounters, Watcher
from izde.vision.stack import VisionStack
from izde.vision.types import Frame
from izde.watchlist.index import Gallery

Progress = Callable[[Frame, WatchCounters], None]


@dataclass(frozen=True, slots=True)
class RunResult:
    source: SourceStats
    counters: WatchCounters

    @property
    def finished(self) -> bool:
        return self.source.finished and self.source.error is None


def run_source(
    source: Source,
    camera: str,
    stack: VisionStack,
    gallery: Gallery,
    settings: Settings,
    on_alert: AlertSink,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
) -> RunResult:
    stop = stop or threading.Event()
    watcher = Watcher(camera, stack, gallery, settings.pipeline, settings.match, on_alert, source.continuous)
    try:
        for frame in source.frames(settings.pipeline.analysis_fps, stop):
            watcher.process(frame)
            if progress is not None:
                progress(frame, watcher.counters)
    finally:
        watcher.close()
        stop.set()
    return RunResult(source.stats, watcher.counters)
