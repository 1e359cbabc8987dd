"""Face detection of one frame on several cores: a pool of threads, and detections cut into jobs for it.

dlib's detector releases the GIL, so threads run detections side by side. A detector that can cut one
detection into jobs that together find the same faces (:class:`Splittable`) has its large searches cut; any
detector has the regions of one frame searched side by side.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from izde.vision.types import Faces, Image

# Below this many pixels a search is not cut: it is over in a few milliseconds, and cutting it costs a
# resampled copy of the image; the regions of a frame still run side by side.
MIN_SPLIT_PX = 100_000
# How long closing waits for a detection under way (one HOG pass over a 1080p frame takes ~0.6 s on one core).
CLOSE_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class Split:
    """One detection as independent ``jobs`` and how to ``join`` their results into the faces found."""

    jobs: tuple[Callable[[], Any], ...]
    join: Callable[[list[Any]], Faces]


@runtime_checkable
class Splittable(Protocol):
    """A detector that can cut one detection into jobs finding together what :meth:`detect` finds."""

    def split(self, image: Image, parts: int) -> Split: ...


def usable_cores() -> int:
    """Cores this process may run on (its affinity, where the system says)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def resolve_threads(setting: int) -> int:
    """``vision.threads`` as a count: 0 is one per usable core."""
    return setting if setting > 0 else usable_cores()


def split(detector: Any, image: Image, parts: int) -> Split:
    """``detector``'s search of ``image`` as jobs: cut in ``parts`` where it can be and is worth it, else one."""
    if parts > 1 and isinstance(detector, Splittable) and image.shape[0] * image.shape[1] >= MIN_SPLIT_PX:
        return detector.split(image, parts)
    return Split((lambda: detector.detect(image),), lambda found: found[0])


class DetectPool:
    """The threads detection runs on, started on first use; :meth:`close` stops them."""

    def __init__(self, threads: int) -> None:
        if threads < 2:
            raise ValueError(f"a detection pool needs at least 2 threads, got {threads}")
        self.threads = threads
        self._executor: ThreadPoolExecutor | None = None
        self._workers: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    def _register(self) -> None:
        with self._lock:
            self._workers.append(threading.current_thread())

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("the detection pool is closed")
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.threads, "izde-detect", initializer=self._register)
            return self._executor

    def run(self, jobs: Sequence[Callable[[], Any]]) -> list[Any]:
        """Each job's result, in order. One job runs in the calling thread: no hand-over for nothing."""
        if len(jobs) == 1:
            return [jobs[0]()]
        return list(self._pool().map(lambda job: job(), jobs))

    def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> bool:
        """Stop the threads: jobs not started are cancelled, one under way may finish within ``timeout_s``.
        True when every thread has ended."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
            workers = list(self._workers)
        if executor is None:
            return True
        executor.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + timeout_s
        for t in workers:
            t.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in workers)

    @property
    def alive(self) -> int:
        """Threads still running (0 before first use and after a completed close)."""
        with self._lock:
            return sum(t.is_alive() for t in self._workers)


def detect_pool(threads: int) -> DetectPool | None:
    """A pool for ``threads`` threads (``vision.threads``; 0: one per usable core), or None for one."""
    n = resolve_threads(threads)
    return DetectPool(n) if n > 1 else None
