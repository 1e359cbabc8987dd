"""The broker's roles: the shipped nats-server configuration lets a worker do its work and nothing more,
and a worker with wrong credentials is refused with a clear error."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from izde.config import BrokerSettings
from izde.fleet.broker import BrokerError, connect
from tests.fleet.harness import BIN, NatsServer, require_nats

pytestmark = pytest.mark.slow  # real nats-server and worker processes; the refusal waits out the connect deadline

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "fleet" / "nats-server.conf"
SERVER_PASSWORD, WORKER_PASSWORD = "server-secret-1234", "worker-secret-5678"


@pytest.fixture
def secured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[NatsServer]:
    require_nats()
    monkeypatch.setenv("IZDE_NATS_SERVER_PASSWORD", SERVER_PASSWORD)
    monkeypatch.setenv("IZDE_NATS_WORKER_PASSWORD", WORKER_PASSWORD)
    server = NatsServer(tmp_path, EXAMPLE.read_text())  # -p and -sd on the command line override the file's
    server.start()
    yield server
    server.stop()


def role(tmp_path: Path, url: str, user: str, password: str) -> BrokerSettings:
    path = tmp_path / f"{user}.password"
    path.write_text(password + "\n")
    return BrokerSettings(url=url, user=user, password_file=path, failover_s=6.0)


def test_the_example_config_gives_each_role_what_it_needs(secured: NatsServer, tmp_path: Path) -> None:
    async def scenario() -> None:
        server = await connect(role(tmp_path, secured.url, "server", SERVER_PASSWORD), "server", declare=True)
        worker = await connect(role(tmp_path, secured.url, "worker", WORKER_PASSWORD), "worker")
        try:
            _, lease = await worker.pull_jobs("session")
            assert lease == 6.0
            await worker.workers.put("w1", b"{}")
            await worker.sessions.put("s.x.state", b"{}")
            assert (await worker.sessions.get("s.x.state")).value == b"{}"
            await worker.js.publish("izde.events.counters.r1", b"{}")
            # A worker may not read the events (alerts with evidence) nor touch the streams.
            with pytest.raises(Exception):  # noqa: B017 (the client reports it as a timeout or an error)
                events = await worker.js.pull_subscribe("izde.events.>", durable="nosy")
                await events.fetch(1, timeout=2)
            with pytest.raises(Exception):  # noqa: B017
                await worker.js.delete_stream("IZDE_EVENTS")
            assert (await server.js.stream_info("IZDE_EVENTS")).state.messages == 1
        finally:
            await worker.close()
            await server.close()

    asyncio.run(scenario())


def test_a_worker_with_wrong_credentials_is_refused_clearly(secured: NatsServer, tmp_path: Path) -> None:
    async def declare() -> None:
        b = await connect(role(tmp_path, secured.url, "server", SERVER_PASSWORD), "server", declare=True)
        await b.close()

    asyncio.run(declare())
    with pytest.raises(BrokerError, match="refused"):
        asyncio.run(connect(role(tmp_path, secured.url, "worker", "wrong"), "worker"))
    password = tmp_path / "wrong.password"
    password.write_text("wrong\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IZDE_")}
    env.update(IZDE_BROKER__USER="worker", IZDE_BROKER__PASSWORD_FILE=str(password), IZDE_HOME=str(tmp_path / "x"))
    done = subprocess.run(
        [str(BIN / "izde"), "worker", "--broker", secured.url, "--name", "bad"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode != 0
    assert "refused" in done.stderr and "credentials" in done.stderr, done.stderr
