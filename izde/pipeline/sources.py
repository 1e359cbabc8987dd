"""Video sources: files, RTSP/HTTP streams, webcams and folders of images, sampled to the analysis rate.

Files are paced by analysis (no frame is lost, skipped frames are only grabbed, not decoded to RGB).
Live sources are read by a thread that keeps the stream drained; when analysis falls behind, the
oldest waiting frame is dropped and counted, so memory stays bounded and alerts stay current.
"""

from __future__ import annotations

import enum
import logging
import queue
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from izde.errors import ImageError, SourceError
from izde.redact import redact
from izde.vision.images import DEFAULT_MAX_PIXELS, decode_image, too_many_pixels
from izde.vision.types import Frame

log = logging.getLogger(__name__)

MAX_CONSECUTIVE_DECODE_ERRORS = 50  # undecodable frames in a row after which a file is given up as damaged
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
# Any scheme counts as a URL here, so that the source policy refuses the ones that are not cameras by name.
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


class SourceKind(enum.StrEnum):
    FILE = "file"
    STREAM = "stream"
    WEBCAM = "webcam"
    FOLDER = "folder"

    @property
    def live(self) -> bool:
        return self in (SourceKind.STREAM, SourceKind.WEBCAM)


@dataclass(frozen=True, slots=True)
class SourceSpec:
    kind: SourceKind
    location: str

    @property
    def shown(self) -> str:
        """The location as messages and logs show it: without credentials."""
        return redact(self.location)

    def __str__(self) -> str:
        return self.shown


def parse_source(text: str) -> SourceSpec:
    """Classify a source argument; files and folders must exist."""
    text = text.strip()
    if not text:
        raise SourceError("no source given", "give a video file, a folder of images, a stream URL or a webcam index")
    if _URL.match(text):
        return SourceSpec(SourceKind.STREAM, text)
    if text.isdigit():
        return SourceSpec(SourceKind.WEBCAM, text)
    path = Path(text).expanduser()
    if path.is_dir():
        return SourceSpec(SourceKind.FOLDER, str(path))
    if path.is_file():
        return SourceSpec(SourceKind.FILE, str(path))
    if path.exists():
        raise SourceError(f"source {text} is not a regular file or folder (a device, pipe or socket)")
    raise SourceError(f"source {text} does not exist", "check the path, or give a stream URL or webcam index")


@dataclass(slots=True)
class SourceStats:
    frames_read: int = 0
    frames_dropped: int = 0  # due for analysis but discarded because analysis was behind (live sources)
    reconnects: int = 0
    finished: bool = False  # the source was read to its end
    decode_errors: int = 0  # frames due for analysis that could not be decoded (skipped)
    error: str | None = None
    notes: list[str] = field(default_factory=list)


def _bgr_to_rgb(bgr: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


class _Sampler:
    """Decides which positions are due for analysis at ``fps`` analysed frames per second."""

    def __init__(self, fps: float) -> None:
        self.period = 1.0 / fps
        self.next_due = 0.0

    def due(self, position_s: float) -> bool:
        # A small tolerance keeps a 30 fps file sampled at 5 fps on every 6th frame despite rounding.
        if position_s + 1e-6 < self.next_due:
            return False
        self.next_due = max(self.next_due + self.period, position_s + self.period * 0.5)
        return True


def _open_capture(location: str, timeout_ms: int = 10_000) -> Any:
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, timeout_ms]
    return cv2.VideoCapture(location, cv2.CAP_FFMPEG, params)


def _open_live(location: str | int, timeout_ms: int) -> Any:
    """A camera: a webcam through OpenCV, a network stream through PyAV (see :mod:`izde.pipeline.avstream`)."""
    if isinstance(location, int):
        return cv2.VideoCapture(location)
    from izde.pipeline.avstream import AvCapture

    return AvCapture(location, timeout_ms)


def _check_frame_size(cap: Any, spec: SourceSpec, max_pixels: int) -> None:
    """Refuse a video whose declared frame size exceeds the pixel limit before any frame is decoded."""
    width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
    error = too_many_pixels(width, height, max_pixels, f"each frame of {spec.shown}")
    if error is not None:
        cap.release()
        raise SourceError(error.message, error.hint)


class FileSource:
    """A video file, or a segment of one (``start_s`` to ``end_s``, positions in the file): a segment's frames keep
    their positions in the whole file, so times computed from the recording's start stay right."""

    live = False
    continuous = True

    def __init__(
        self, spec: SourceSpec, max_pixels: int = DEFAULT_MAX_PIXELS, start_s: float = 0.0, end_s: float | None = None
    ) -> None:
        self.spec = spec
        self.stats = SourceStats()
        self._cap = _open_capture(spec.location)
        if not self._cap.isOpened():
            raise SourceError(
                f"cannot read video file {spec.location}: not a video, damaged, or an unsupported codec",
                "check the file plays, or convert it to H.264 MP4",
            )
        _check_frame_size(self._cap, spec, max_pixels)
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 1.0 <= fps <= 240.0 else 25.0
        self.frame_count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.first_frame = max(0, round(start_s * self.fps))
        self.end_frame = None if end_s is None else max(self.first_frame, round(end_s * self.fps))
        if self.first_frame:
            # OpenCV's FFmpeg reader seeks to the key frame before and decodes forward to the exact frame.
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, self.first_frame)

    def frames(self, analysis_fps: float, stop: threading.Event) -> Iterator[Frame]:
        sampler = _Sampler(analysis_fps)
        index = self.first_frame - 1
        sampler.next_due = self.first_frame / self.fps
        due = failed = consecutive = 0
        try:
            while not stop.is_set():
                if self.end_frame is not None and index + 1 >= self.end_frame:
                    self.stats.decode_errors = failed
                    self.stats.finished = not (failed and failed * 2 >= due)
                    return
                if not self._cap.grab():
                    break
                index += 1
                self.stats.frames_read += 1
                position = index / self.fps
                if not sampler.due(position):
                    continue
                due += 1
                ok, bgr = self._cap.retrieve()
                if not ok or bgr is None or bgr.size == 0:
                    # A damaged frame: counted and skipped; a long run of them means the rest is unreadable.
                    failed += 1
                    consecutive += 1
                    if consecutive >= MAX_CONSECUTIVE_DECODE_ERRORS:
                        break
                    continue
                consecutive = 0
                yield Frame(_bgr_to_rgb(bgr), index, position, datetime.now(UTC))
            else:
                return
            self.stats.decode_errors = failed
            last = (
                self.frame_count if self.end_frame is None else min(self.end_frame, self.frame_count or self.end_frame)
            )
            expected = last - self.first_frame
            if self.stats.frames_read == 0:
                self.stats.error = f"{self.spec.location} holds no decodable video frame"
            elif failed and failed * 2 >= due:
                self.stats.error = (
                    f"{failed} of the {due} frames due for analysis in {self.spec.location} could not be decoded "
                    "(file damaged)"
                )
            elif self.frame_count and self.stats.frames_read < 0.98 * expected - 1:
                self.stats.error = (
                    f"{self.spec.location} ended early at frame {index + 1} of {self.frame_count} "
                    "(file truncated or damaged)"
                )
            else:
                self.stats.finished = True
        finally:
            self._cap.release()


class FolderSource:
    """Each image is one frame; images are unrelated, so no track spans two of them."""

    live = False
    continuous = False

    def __init__(self, spec: SourceSpec, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        self.spec = spec
        self.stats = SourceStats()
        self.max_pixels = max_pixels
        self.paths = sorted(p for p in Path(spec.location).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.paths:
            raise SourceError(f"folder {spec.location} holds no image files", "expected .jpg, .png, ... files")

    def frames(self, analysis_fps: float, stop: threading.Event) -> Iterator[Frame]:
        failed = 0
        for index, path in enumerate(self.paths):
            if stop.is_set():
                return
            self.stats.frames_read += 1
            try:
                image = decode_image(path.read_bytes(), path.name, self.max_pixels)
            except (ImageError, OSError) as e:
                failed += 1
                log.warning("skipping %s: %s", path.name, e)
                continue
            yield Frame(image, index, float(index), datetime.now(UTC))
        if failed:
            self.stats.error = f"{failed} of {len(self.paths)} images in {self.spec.location} could not be read"
        else:
            self.stats.finished = True


class LiveSource:
    """A stream or webcam read by a background thread into a small bounded queue. Streams are read with PyAV,
    which decodes an intra-only stream's (MJPEG's) frames only when they are due for analysis."""

    live = True
    continuous = True

    def __init__(
        self,
        spec: SourceSpec,
        retries: int = 5,
        backoff_s: float = 1.0,
        # One waiting frame: when analysis is behind, the newest frame replaces it, so a frame waits at most for
        # the analysis of the one before it (an alert comes out at most about two analysis times late).
        queue_size: int = 1,
        timeout_ms: int = 10_000,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> None:
        self.spec = spec
        self.stats = SourceStats()
        self.retries = retries
        self.backoff_s = backoff_s
        self.timeout_ms = timeout_ms
        self._queue: queue.Queue[Frame | None] = queue.Queue(maxsize=queue_size)
        self._location: str | int = int(spec.location) if spec.kind is SourceKind.WEBCAM else spec.location
        self._cap = self._connect(first=True)
        _check_frame_size(self._cap, spec, max_pixels)

    def _connect(self, first: bool = False) -> Any:
        delay = self.backoff_s
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            cap = _open_live(self._location, self.timeout_ms)
            if cap.isOpened():
                return cap
            cap.release()
            if attempt < attempts:
                log.warning(
                    "%s %s unreachable; retrying in %.1f s (attempt %d of %d)",
                    self.spec.kind.value,
                    self.spec.shown,
                    delay,
                    attempt,
                    attempts - 1,
                )
                time.sleep(delay)
                delay *= 2
        what = "cannot open" if first else "lost and could not reconnect to"
        raise SourceError(
            f"{what} {self.spec.kind.value} {self.spec.shown} after {attempts} attempts",
            "check the URL, credentials, network route and that the camera is on",
        )

    def _reader(self, analysis_fps: float, stop: threading.Event) -> None:
        sampler = _Sampler(analysis_fps)
        start = time.monotonic()
        index = -1
        cap = self._cap
        try:
            while not stop.is_set():
                if not cap.grab():
                    cap.release()
                    self.stats.reconnects += 1
                    log.warning("%s %s dropped; reconnecting", self.spec.kind.value, self.spec.shown)
                    try:
                        cap = self._connect()
                    except SourceError as e:
                        self.stats.error = str(e)
                        return
                    continue
                index += 1
                self.stats.frames_read += 1
                position = time.monotonic() - start
                if not sampler.due(position):
                    continue
                ok, bgr = cap.retrieve()
                if not ok or bgr is None:
                    continue
                frame = Frame(_bgr_to_rgb(bgr), index, position, datetime.now(UTC))
                try:
                    self._queue.put_nowait(frame)
                except queue.Full:
                    # Analysis is behind: drop the oldest frame, keep the newest.
                    try:
                        self._queue.get_nowait()
                        self.stats.frames_dropped += 1
                    except queue.Empty:
                        pass
                    self._queue.put_nowait(frame)
        finally:
            cap.release()
            self._end_of_stream()

    def _end_of_stream(self) -> None:
        """Queue the end marker without ever blocking: a consumer that stopped reading leaves the queue full,
        and a blocking put would keep this thread (and the camera connection's owner) alive forever. The reader
        is the only producer, so dropping the oldest frame always makes room."""
        while True:
            try:
                self._queue.put_nowait(None)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.stats.frames_dropped += 1
                except queue.Empty:
                    pass

    def frames(self, analysis_fps: float, stop: threading.Event) -> Iterator[Frame]:
        thread = threading.Thread(target=self._reader, args=(analysis_fps, stop), name="izde-reader", daemon=True)
        thread.start()
        try:
            while True:
                try:
                    frame = self._queue.get(timeout=0.5)
                except queue.Empty:
                    if stop.is_set() and not thread.is_alive():
                        return
                    continue
                if frame is None:
                    return
                yield frame
        finally:
            stop.set()
            thread.join(timeout=self.timeout_ms / 1000 + 2)
            # A live source has no end: being stopped is the normal way it finishes.
            if self.stats.error is None:
                self.stats.finished = True


Source = FileSource | FolderSource | LiveSource


def open_source(
    spec: SourceSpec,
    retries: int = 5,
    backoff_s: float = 1.0,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    segment: tuple[float, float | None] | None = None,
) -> Source:
    """``segment``: (start_s, end_s) of a file, positions in the whole file; only files have segments."""
    if segment is not None and spec.kind is not SourceKind.FILE:
        raise SourceError(f"only a video file can be read in part, not {spec.location}")
    if spec.kind is SourceKind.FILE:
        start_s, end_s = segment or (0.0, None)
        return FileSource(spec, max_pixels, start_s=start_s, end_s=end_s)
    if spec.kind is SourceKind.FOLDER:
        return FolderSource(spec, max_pixels)
    return LiveSource(spec, retries=retries, backoff_s=backoff_s, max_pixels=max_pixels)
