"""A fleet for tests: nats-server, PostgreSQL, one izde server in this process, worker processes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from izde.config import Settings
from tests.fleet.harness import NatsServer, WorkerProcess, require_nats, wait_for
from tests.store.conftest import fresh_pg_database
from tests.web.live import live_server
from tests.web.site import Site, init_users


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[NatsServer]:
    require_nats()
    server = NatsServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_pg_database() as url:
        yield url


def fleet_settings(home: Path, db_url: str, broker_url: str, **broker: Any) -> Settings:
    return Settings(
        home=home,
        database_url=db_url,
        web={"secure_cookies": False},
        broker={"url": broker_url, "failover_s": 6.0, "recheck_s": 1.0, **broker},
        pipeline={"cooldown_s": 5.0},
    )


@dataclass
class Fleet:
    settings: Settings
    nats: NatsServer
    site: Site
    base: str
    folder: Path
    workers: dict[str, WorkerProcess] = field(default_factory=dict)

    def worker(self, name: str, capacity: int = 2) -> WorkerProcess:
        w = self.workers[name] = WorkerProcess(self.nats.url, name, self.folder, capacity)
        return w

    def fleet(self) -> dict[str, Any]:
        return dict(self.site.ok("op-a", "GET", "/api/v1/fleet"))

    def wait_workers(self, n: int, timeout: float = 120) -> None:
        wait_for(lambda: len(self.fleet()["workers"]) >= n, timeout, f"{n} workers to report")

    def authorise_live(self, persons: list[str], cameras: list[str], *, urgent: bool = False) -> str:
        """Live and recorded footage; ``urgent``: started before the decision, which is left to the test."""
        now = datetime.now(UTC)
        body: dict[str, Any] = {
            "objective": "serious_offence",
            "offence_code": "CC-105",
            "issuing_authority": "Prosecutor",
            "reference": "AUTH-LIVE",
            "starts_at": (now - timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(hours=12)).isoformat(),
            "covers_live": True,
            "covers_recorded": True,
            "persons": persons,
            "cameras": cameras,
        }
        if urgent:
            body["urgent_reason"] = "imminent danger to a missing child"
        auth_id = str(self.site.ok("curator", "POST", "/api/v1/authorisations", json=body)["id"])
        self.site.ok("curator", "POST", f"/api/v1/authorisations/{auth_id}/fria", json={"summary": "FRIA F-2"})
        if not urgent:
            self.site.ok("approver", "POST", f"/api/v1/authorisations/{auth_id}/decision", json={"grant": True})
        return auth_id


@contextmanager
def running_fleet(tmp_path: Path, nats: NatsServer, pg_url: str, **broker: Any) -> Iterator[Fleet]:
    settings = fleet_settings(tmp_path / "home", pg_url, nats.url, **broker)
    init_users(settings)
    with ExitStack() as stack:
        base = stack.enter_context(live_server(settings))
        client = stack.enter_context(httpx.Client(base_url=base, timeout=60))
        site = Site(settings, client)
        site.login_all()
        fleet = Fleet(settings, nats, site, base, tmp_path)
        try:
            yield fleet
        finally:
            for w in fleet.workers.values():
                w.stop()
                # A worker holds no data directory: it never made one.
                assert not w.home.exists(), f"worker {w.name} created {w.home}"


@pytest.fixture
def fleet(tmp_path: Path, nats: NatsServer, pg_url: str) -> Iterator[Fleet]:
    with running_fleet(tmp_path, nats, pg_url) as f:
        yield f
