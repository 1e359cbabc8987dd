"""Live cameras on 127.0.0.1: looping MJPEG streams of a real clip, watched together in one process.

Each camera is an HTTP server sending the clip's frames as ``multipart/x-mixed-replace`` JPEGs at the clip's
frame rate, looping, as many IP cameras do. The watchers read them through :class:`LiveSource` and share one
vision stack with merged descriptor batches, as ``izde serve`` runs sessions. Reported per path: frames due for
analysis that were dropped because analysis was behind, and the latency from a frame being read to its analysis
being done (an alert raised on that frame comes out that long after the camera sent it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from izde.config import Settings
from izde.pipeline.run import run_source
from izde.pipeline.sources import LiveSource, SourceKind, SourceSpec
from izde.pipeline.watcher import AlertEvent, WatchCounters, Watcher
from izde.vision.batching import BatchingEmbedder
from izde.vision.stack import VisionStack
from izde.vision.types import Frame
from izde.watchlist.index import Index


def clip_jpegs(path: Path, size: tuple[int, int] | None = None, quality: int = 85) -> tuple[list[bytes], float]:
    """Every frame of the clip as JPEG bytes (resized to ``size``), and its frame rate."""
    cap = cv2.VideoCapture(str(path))
    fps = float(cap.get(cv2.CAP_PROP_FPS)) or 25.0
    out = []
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            if size is not None:
                bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
            out.append(cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes())
    finally:
        cap.release()
    return out, fps


@contextmanager
def mjpeg_camera(jpegs: list[bytes], fps: float) -> Iterator[str]:
    """An MJPEG camera on 127.0.0.1 looping ``jpegs`` at ``fps``; yields its URL and stops on exit."""
    closing = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.end_headers()
            start = time.monotonic()
            i = 0
            try:
                while not closing.is_set():
                    j = jpegs[i % len(jpegs)]
                    head = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(j)
                    self.wfile.write(head + j + b"\r\n")
                    i += 1
                    # Paced by the clock, not by the reader: a camera does not wait for a slow client.
                    time.sleep(max(0.0, start + i / fps - time.monotonic()))
            except (BrokenPipeError, ConnectionResetError):
                return

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="izde-bench-camera", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/stream.mjpg"
    finally:
        closing.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def run_live(urls: list[str], gallery: Index, settings: Settings, stack: VisionStack, seconds: float) -> dict[str, Any]:
    """One watcher per URL, in threads, for ``seconds``; drops and frame-to-result latency over all cameras."""
    shared = stack.with_embedder(BatchingEmbedder(stack.embedder))
    latencies: list[float] = []
    alerts: list[AlertEvent] = []
    lock = threading.Lock()
    stop = threading.Event()
    results: list[Any] = []

    def progress(frame: Frame, _: WatchCounters) -> None:
        lag = time.time() - frame.wall_time.timestamp()
        with lock:
            latencies.append(lag)

    def one(url: str) -> None:
        try:
            source = LiveSource(SourceSpec(SourceKind.STREAM, url), retries=0, timeout_ms=5000)
            watcher = Watcher(url, shared, gallery, settings.pipeline, settings.match, alerts.append, True)
            results.append(run_source(source, watcher, settings.pipeline.analysis_fps, stop, progress))
        except BaseException as e:  # reported below
            results.append(e)

    threads = [threading.Thread(target=one, args=(u,), name=f"camera-{i}") for i, u in enumerate(urls)]
    cpu = time.process_time()
    for t in threads:
        t.start()
    stop.wait(seconds)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    cpu = time.process_time() - cpu
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        raise failures[0]
    analysed = sum(r.counters.frames_analysed for r in results)
    dropped = sum(r.source.frames_dropped for r in results)
    due = analysed + dropped
    lat = np.array(latencies) if latencies else np.zeros(1)
    return {
        "cameras": len(urls),
        "seconds": seconds,
        "cpu_s": cpu,
        "frames_read": sum(r.source.frames_read for r in results),
        "frames_due": due,
        "frames_analysed": analysed,
        "frames_dropped": dropped,
        "dropped_fraction": dropped / due if due else 0.0,
        "latency_s": {"p50": float(np.percentile(lat, 50)), "p99": float(np.percentile(lat, 99))},
        "faces": sum(r.counters.faces_seen for r in results),
        "tracks": sum(r.counters.tracks_seen for r in results),
        "alerts": len(alerts),
        "pixels_detected_per_frame": (
            sum(r.counters.pixels_detected for r in results) / max(1, sum(r.counters.pixels_analysed for r in results))
        ),
    }


def compare_live(
    video: Path,
    size: tuple[int, int] | None,
    cameras: int,
    seconds: float,
    gallery: Index,
    paths: dict[str, Settings],
    stack: VisionStack,
    log: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """``cameras`` looping MJPEG cameras of ``video``, watched through each path in turn."""
    jpegs, fps = clip_jpegs(video, size)
    out: dict[str, Any] = {"video": str(video), "size": list(size) if size else None, "fps": fps, "paths": {}}
    for name, settings in paths.items():
        log(f"{cameras} live MJPEG cameras on 127.0.0.1, {name} path, {seconds:g} s...")
        with ExitStack() as cams:
            urls = [cams.enter_context(mjpeg_camera(jpegs, fps)) for _ in range(cameras)]
            out["paths"][name] = run_live(urls, gallery, settings, stack, seconds)
    return out
