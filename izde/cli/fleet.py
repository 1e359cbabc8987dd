"""``izde worker``, ``izde recorder`` and ``izde fleet status``: the fleet of watch-session workers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket

import typer
from rich.table import Table

from izde.cli.common import err_console, print_json, settings, user_errors

app = typer.Typer(help="The fleet: workers that run watch sessions, over NATS JetStream.", no_args_is_help=True)


def _until_signalled(main: object) -> None:
    """Run ``main(stop)`` until SIGINT or SIGTERM; a second signal is not needed, shutdown is bounded."""

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await main(stop)  # type: ignore[operator]

    asyncio.run(runner())


def worker(
    ctx: typer.Context,
    broker: str = typer.Option(..., "--broker", envvar="IZDE_BROKER__URL", help="NATS server, nats://HOST:4222."),
    name: str | None = typer.Option(None, help="Worker name, unique in the fleet (default: HOST-PID)."),
    capacity: int = typer.Option(1, min=1, max=256, help="Most sessions this worker runs at once."),
    metrics_port: int | None = typer.Option(
        None, min=1, max=65535, help="Serve Prometheus metrics on 127.0.0.1:PORT (/metrics)."
    ),
) -> None:
    """Run watch sessions claimed from the broker until interrupted; then hand them back to the fleet.

    A worker holds the vision stack and nothing else: no database, no audit key, no data directory. Size
    --capacity with 'izde bench capacity' on this machine."""
    from izde.fleet import metrics
    from izde.fleet.worker import Worker
    from izde.vision.batching import BatchingEmbedder
    from izde.vision.stack import VisionStack, build_stack

    with user_errors():
        s = settings(ctx, broker={"url": broker})
        worker_name = name or f"{socket.gethostname()}-{os.getpid()}"

        def stack() -> VisionStack:
            built = build_stack(s.vision)
            # Several sessions' threads share one descriptor network, in merged batches.
            return built.with_embedder(BatchingEmbedder(built.embedder))

        if metrics_port is not None:
            metrics.serve(metrics_port)
        w = Worker(s, worker_name, capacity, stack, metrics_port)
        err_console.print(f"izde worker {worker_name}: capacity {capacity}, broker {broker}")
        _until_signalled(w.run)


def recorder(
    ctx: typer.Context,
    broker: str | None = typer.Option(None, "--broker", help="NATS server (default: broker.url)."),
) -> None:
    """Record the fleet's events (alerts, counters, run ends) into the database until interrupted.

    Servers with broker.url set record too (unless broker.recorder is off); a dedicated recorder is for
    deployments whose servers should not."""
    from izde.api import Izde
    from izde.fleet.broker import connect
    from izde.fleet.recorder import EventRecorder

    with user_errors():
        s = settings(ctx, **({"broker": {"url": broker}} if broker else {}))
        root = Izde(s)
        root.db  # noqa: B018  (open and migrate now)
        root.audit_key  # noqa: B018

        async def main(stop: asyncio.Event) -> None:
            b = await connect(s.broker, f"izde recorder {socket.gethostname()}-{os.getpid()}")
            try:
                await EventRecorder(b, root).run(stop)
            finally:
                await b.close()

        err_console.print(f"izde recorder: {s.broker.url} -> {s.home}")
        try:
            _until_signalled(main)
        finally:
            root.close()


@app.command("status")
def status(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Workers (name, host, sessions, capacity, last heartbeat, analysed fps, dropped frames) and sessions
    with the worker running each. Needs the right to read cameras."""
    from izde.cli.common import open_izde
    from izde.fleet.status import fleet_status
    from izde.governance.roles import Action

    with user_errors():
        with open_izde(ctx) as izde:
            izde.require(Action.CAMERA_READ)
            s = izde.settings
        if not s.broker.url:
            from izde.fleet.broker import BrokerError

            raise BrokerError("no broker configured", "set broker.url (IZDE_BROKER__URL), e.g. nats://HOST:4222")
        found = asyncio.run(fleet_status(s.broker))
    if as_json:
        print_json(found.as_json())
        return
    workers = Table("worker", "host", "sessions", "capacity", "last heartbeat", "fps", "dropped", title="workers")
    for w in found.workers:
        workers.add_row(
            w.name,
            w.host,
            str(len(w.sessions)),
            str(w.capacity),
            w.at.isoformat(timespec="seconds"),
            f"{w.frames_analysed_per_s:.1f}",
            str(w.frames_dropped),
        )
    sessions = Table("session", "camera", "status", "health", "worker", "analysed", "alerts", title="sessions")
    for x in found.sessions:
        sessions.add_row(
            x.id[:12], x.camera, x.status, x.health, x.worker or "-", str(x.frames_analysed), str(x.alerts)
        )
    err_console.print(workers)
    err_console.print(sessions)
