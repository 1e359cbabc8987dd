"""A live HTTP MJPEG stream on 127.0.0.1 that drops: the reader reconnects with backoff and reports it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np
import pytest

from izde.errors import SourceError
from izde.pipeline.sources import LiveSource, SourceKind, SourceSpec
from tests.conftest import HAMILTON, require_data

FRAMES_PER_CONNECTION = 20


@pytest.fixture(scope="module")
def jpegs() -> list[bytes]:
    cap = cv2.VideoCapture(str(require_data(HAMILTON / "short_hamilton_clip.mp4")))
    out = []
    for _ in range(FRAMES_PER_CONNECTION):
        ok, frame = cap.read()
        assert ok
        out.append(cv2.imencode(".jpg", frame)[1].tobytes())
    cap.release()
    return out


@pytest.fixture
def camera(jpegs: list[bytes]) -> Iterator[tuple[str, dict[str, int], ThreadingHTTPServer]]:
    """Serves FRAMES_PER_CONNECTION frames per connection, then hangs up (a camera that drops)."""
    state = {"connections": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state["connections"] += 1
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.end_headers()
            for j in jpegs:
                head = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(j)
                self.wfile.write(head + j + b"\r\n")
                time.sleep(0.02)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/stream.mjpg", state, server
    server.shutdown()
    server.server_close()


def test_stream_that_drops_is_reconnected_then_reported_when_gone(
    camera: tuple[str, dict[str, int], ThreadingHTTPServer],
) -> None:
    url, state, server = camera
    src = LiveSource(SourceSpec(SourceKind.STREAM, url), retries=1, backoff_s=0.05, timeout_ms=2000)
    stop = threading.Event()
    got = 0
    for _ in src.frames(50.0, stop):
        got += 1
        if state["connections"] >= 2 and server.socket.fileno() != -1:
            # The camera goes away for good after the second connection.
            server.shutdown()
            server.server_close()
    assert state["connections"] >= 2
    assert src.stats.reconnects >= 2  # once after the first drop (succeeded), once after the second (failed)
    assert not src.stats.finished
    assert "could not reconnect" in str(src.stats.error)
    assert got > FRAMES_PER_CONNECTION // 2


def test_unreachable_stream_fails_after_retries() -> None:
    start = time.monotonic()
    with pytest.raises(SourceError, match="after 3 attempts"):
        LiveSource(SourceSpec(SourceKind.STREAM, "http://127.0.0.1:9/none.mjpg"), retries=2, backoff_s=0.05)
    assert time.monotonic() - start >= 0.15  # backoff 0.05 then 0.1 was actually waited


def test_mjpeg_frames_are_decoded_only_when_retrieved(
    camera: tuple[str, dict[str, int], ThreadingHTTPServer], jpegs: list[bytes]
) -> None:
    from izde.pipeline.avstream import AvCapture

    url, _, _ = camera
    cap = AvCapture(url, timeout_ms=2000)
    assert cap.isOpened() and cap.intra_only  # MJPEG: every frame a picture of its own
    assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (640.0, 360.0)
    assert cap.retrieve() == (False, None)  # nothing grabbed yet
    got = []
    for i in range(FRAMES_PER_CONNECTION):
        assert cap.grab()
        if i % 5 == 0:  # as a 5 fps analysis of a 25 fps camera retrieves them
            ok, bgr = cap.retrieve()
            assert ok and bgr is not None
            got.append((i, bgr))
    # The camera hung up after its frames: the end, as OpenCV reports it.
    assert not cap.grab()
    cap.release()
    assert [i for i, _ in got] == [0, 5, 10, 15]
    for i, bgr in got:
        # The very frame the camera sent (FFmpeg's JPEG decoder against OpenCV's: equal within rounding).
        sent = cv2.imdecode(np.frombuffer(jpegs[i], np.uint8), cv2.IMREAD_COLOR)
        assert bgr.shape == sent.shape
        assert np.abs(bgr.astype(int) - sent.astype(int)).mean() < 2.0


def test_an_inter_coded_stream_is_decoded_frame_by_frame_like_opencv() -> None:
    from izde.pipeline.avstream import AvCapture

    clip = str(require_data(HAMILTON / "short_hamilton_clip.mp4"))
    cap, ref = AvCapture(clip, timeout_ms=2000), cv2.VideoCapture(clip)
    assert cap.isOpened() and not cap.intra_only
    for i in range(24):
        assert cap.grab() and ref.grab()
        if i % 6 == 0:
            ok, bgr = cap.retrieve()
            ok_ref, expected = ref.retrieve()
            assert ok and ok_ref and bgr is not None
            assert np.abs(bgr.astype(int) - expected.astype(int)).mean() < 2.0
    cap.release()
    ref.release()


def test_an_unreachable_stream_does_not_open() -> None:
    from izde.pipeline.avstream import AvCapture

    cap = AvCapture("http://127.0.0.1:9/none.mjpg", timeout_ms=500)
    assert not cap.isOpened() and not cap.grab() and cap.retrieve() == (False, None)
