"""Detection of the next frames, searched whole, on threads of their own while the watcher handles this one.

One camera watched alone runs one frame at a time, and the face detector is most of a frame's work: its own
threads spread one network run over the cores poorly (BlazeFace at 640x384 runs 1.35x faster on two threads than
on one), while two frames detected side by side run 2x. Where the picture moves everywhere (a crowd: motion
gating searches every frame whole), the next frames will be searched whole too, so they are detected now, one
thread each. Whether a frame moves everywhere is told from it and the frame before it, as the gate will tell it.
A result is used only when the watcher's own decision for that frame is to search it whole: the faces are
those it would have found itself. When the decision is otherwise, the early result is dropped (a wasted
detection, never a different one). At most ``DEPTH`` frames are detected ahead; nothing of them outlives their
turn.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait

from izde.vision.types import Faces, Frame, Image

log = logging.getLogger(__name__)

# Frames detected ahead at most, each on its own thread: two keep two cores busy while the watcher's thread
# aligns, tracks and hands shots over.
DEPTH = 2
# How long closing waits for the detections in hand: one takes a fraction of a second.
CLOSE_S = 10.0

Busy = Callable[[Frame, Frame], bool]  # (a frame, the next one): will the next one be searched whole?


class DetectAhead:
    """Runs ``detect`` (a whole-frame search) on the upcoming frames that ``busy`` expects to be searched
    whole, on up to ``depth`` background threads."""

    def __init__(self, detect: Callable[[Image], Faces], busy: Busy, depth: int = DEPTH) -> None:
        self.depth = depth
        self._detect = detect
        self._busy = busy
        self._executor: ThreadPoolExecutor | None = None
        self._ahead: list[tuple[Frame, Future[Faces]]] = []  # in frame order
        self._guessed: dict[int, bool] = {}  # id(frame) -> busy, for the frames in view
        self.started = 0  # frames detected ahead
        self.taken = 0  # of which the watcher used (the others were wasted)

    def look(self, frame: Frame, upcoming: Sequence[Frame]) -> None:
        """``frame`` is being handled: begin detecting those of the ``upcoming`` frames (in order) that will
        likely be searched whole, unless already begun."""
        view = list(upcoming[: self.depth])
        in_view = {id(f) for f in view}
        self._guessed = {k: v for k, v in self._guessed.items() if k in in_view}
        begun = {id(f) for f, _ in self._ahead}
        before = frame
        for f in view:
            if id(f) not in self._guessed:
                self._guessed[id(f)] = self._busy(before, f)
            if self._guessed[id(f)] and id(f) not in begun:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(self.depth, "izde-detect-ahead")
                self._ahead.append((f, self._executor.submit(self._detect, f.image)))
                self.started += 1
            before = f

    def take(self, frame: Frame) -> Faces | None:
        """The whole-frame faces of ``frame`` if it was detected ahead (waiting for them), else None."""
        found = self._pop(frame)
        if found is None:
            return None
        self.taken += 1
        return found.result()

    def drop(self, frame: Frame) -> None:
        """Forget ``frame``'s early detection, if any (the watcher searches it otherwise); one still running
        ends on its own."""
        self._pop(frame)

    def _pop(self, frame: Frame) -> Future[Faces] | None:
        """``frame``'s detection, leaving those of later frames; earlier ones (their turn passed) are dropped."""
        for i, (f, future) in enumerate(self._ahead):
            if f is frame:
                del self._ahead[: i + 1]
                return future
        return None

    def close(self, timeout_s: float = CLOSE_S) -> bool:
        """Wait (at most ``timeout_s``) for the detections in hand and stop the threads. True when they ended."""
        ahead, self._ahead, self._guessed = self._ahead, [], {}
        executor, self._executor = self._executor, None
        if executor is None:
            return True
        running = wait([future for _, future in ahead], timeout_s).not_done
        if running:
            log.warning("detecting ahead took over %.0f s; its threads are left to end", timeout_s)
        executor.shutdown(wait=not running, cancel_futures=True)
        return not running
