"""A watcher's description and matching of one frame's best shots, run on a thread of their own.

One camera watched alone (``izde watch`` of a file) runs one frame at a time: while the descriptor networks run,
the next frame waits, and a second core idles between the detector's calls. With ``pipeline.describe_ahead`` the
watcher hands each frame's new shots to this thread and goes on to the next frame; the alerts come back to the
watcher's own thread, which emits them (sinks write to the database, and keep one thread). Jobs run in order,
one at a time; a full queue makes the watcher wait, so memory stays bounded.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

Job = TypeVar("Job")
Result = TypeVar("Result")

# Jobs waiting at most (one more runs): a frame's shots are small, but the watcher should not run far ahead.
DEPTH = 2
# How long closing waits for the jobs in hand; one job takes a fraction of a second.
DRAIN_S = 30.0


class Describer(Generic[Job, Result]):
    """Runs ``work`` on each submitted job on one background thread; results are collected by the submitter."""

    def __init__(self, work: Callable[[Job], list[Result]], depth: int = DEPTH) -> None:
        self._work = work
        self._jobs: queue.Queue[Job | None] = queue.Queue(maxsize=depth)
        self._done: list[Result] = []
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._in_hand = 0  # submitted and not finished
        self._thread = threading.Thread(target=self._run, name="izde-describer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                results = self._work(job)
            except BaseException as e:  # handed to the submitter, raised on its thread
                results = []
                with self._lock:
                    self._error = self._error or e
            with self._lock:
                self._done.extend(results)
                self._in_hand -= 1
                self._idle.notify_all()

    def submit(self, job: Job) -> list[Result]:
        """Queue ``job`` (waiting while the queue is full); the results finished so far."""
        self._raise()
        with self._lock:
            self._in_hand += 1
        self._jobs.put(job)
        return self.collect()

    def collect(self) -> list[Result]:
        """The results of the jobs finished since the last collection; a job's error is raised here."""
        self._raise()
        with self._lock:
            out, self._done = self._done, []
        return out

    def drain(self, timeout_s: float = DRAIN_S) -> list[Result]:
        """Wait (at most ``timeout_s``) for every submitted job; their results."""
        with self._lock:
            if not self._idle.wait_for(lambda: self._in_hand == 0, timeout_s):
                log.warning("describing the last shots took over %.0f s; their alerts are dropped", timeout_s)
        return self.collect()

    def close(self, timeout_s: float = DRAIN_S) -> list[Result]:
        """Finish the jobs in hand (within ``timeout_s``) and stop the thread; their results."""
        try:
            return self.drain(timeout_s)
        finally:
            # Still busy after the timeout: the queue may be full, and the daemon thread ends with the process.
            with contextlib.suppress(queue.Full):
                self._jobs.put_nowait(None)
            self._thread.join(1.0)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _raise(self) -> None:
        with self._lock:
            error, self._error = self._error, None
        if error is not None:
            raise error
