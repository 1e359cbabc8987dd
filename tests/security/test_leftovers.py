"""What a killed process leaves behind is cleaned at the next start: a run still marked ``running`` becomes
``failed`` with its ``watch.stop`` entry, and staged uploads are swept. A run whose process was SIGKILLed once
stayed running forever, and staged uploads (HOME/.upload-*) were never removed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient

from izde.api import Izde
from izde.config import Settings
from izde.service.retention import STALE_RUN_ERROR
from izde.store import runs
from izde.store.models import AuditEntry
from izde.web.app import create_app
from tests.security.conftest import PASSWORD

KILLED_RUNNER = """
import os, signal, sys
from izde.api import Izde
from izde.config import Settings
from izde.store import runs
from sqlalchemy import select
from izde.store.models import Organisation
settings = Settings(home=sys.argv[1], database_url=sys.argv[2] or None)
with Izde(settings) as izde:
    with izde.db.session(readonly=True) as s:
        org = s.scalars(select(Organisation.id)).first()  # runs belong to an organisation
with Izde(settings) as izde, izde.db.scoped(org).session() as s:
    run = runs.start_run(s, camera="door", source="x.mp4", source_kind="file", threshold=0.5,
                         watchlist_hash="h", watchlist_size=1)
    print(run.id, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # no finally, no atexit: as the kernel's OOM killer would
"""


def killed_run(settings: Settings) -> str:
    r = subprocess.run(
        [sys.executable, "-c", KILLED_RUNNER, str(settings.home), settings.database_url or ""],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == -9, r.stderr[-2000:]
    return r.stdout.strip()


def status(izde: Izde, run_id: str) -> tuple[str, str | None]:
    with izde.db.session(readonly=True) as s:
        run = runs.get_run(s, run_id)
        return run.status, run.error


def stop_entries(izde: Izde, run_id: str) -> list[dict[str, object]]:
    with izde.db.session(readonly=True) as s:
        q = s.query(AuditEntry.details).filter(AuditEntry.action == "watch.stop", AuditEntry.subject_id == run_id)
        return [json.loads(d) for (d,) in q]


def test_a_killed_run_is_marked_failed_by_the_next_purge(deployment: Izde) -> None:
    run_id = killed_run(deployment.settings)
    assert status(deployment, run_id) == ("running", None)
    deployment.purge()
    assert status(deployment, run_id) == ("failed", STALE_RUN_ERROR)
    (entry,) = stop_entries(deployment, run_id)
    assert entry["status"] == "failed" and entry["error"] == STALE_RUN_ERROR
    deployment.purge()
    assert len(stop_entries(deployment, run_id)) == 1  # once


def test_a_killed_run_is_marked_failed_when_the_server_starts(deployment: Izde) -> None:
    run_id = killed_run(deployment.settings)
    with TestClient(create_app(deployment.settings)):
        pass
    assert status(deployment, run_id)[0] == "failed"


def test_a_run_of_a_live_process_is_left_alone(deployment: Izde) -> None:
    with deployment.db.session() as s:
        run = runs.start_run(
            s, camera="c", source="x", source_kind="file", threshold=0.5, watchlist_hash="h", watchlist_size=0
        )
        run_id = run.id
        # Another live process on this host (the test's parent), and a process on another host.
        run.runner = f"{runs.this_process().rpartition(':')[0]}:{os.getppid()}"
        other = runs.start_run(
            s, camera="c", source="x", source_kind="file", threshold=0.5, watchlist_hash="h", watchlist_size=0
        )
        other.runner = "some-other-host:1"
        other_id = other.id
        # A fleet worker's run, started by a server (or a search) process that is gone since.
        fleet = runs.start_run(
            s,
            camera="c",
            source="x",
            source_kind="file",
            threshold=0.5,
            watchlist_hash="h",
            watchlist_size=0,
            runner=runs.FLEET_RUNNER,
        )
        fleet_id = fleet.id
    deployment.purge()
    assert status(deployment, run_id)[0] == "running" and status(deployment, other_id)[0] == "running"
    assert status(deployment, fleet_id)[0] == "running"


def test_staged_uploads_left_behind_are_swept(deployment: Izde) -> None:
    home = deployment.settings.home
    old, fresh = home / ".upload-old", home / ".upload-fresh"
    for folder in (old, fresh):
        folder.mkdir()
        (folder / "photo-1.jpg").write_bytes(b"\xff\xd8\xff" + b"x" * 100)
    an_hour_ago = time.time() - 2 * 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    deployment.purge()
    assert not old.exists() and fresh.exists()  # a fresh one may be another server's request in progress
    os.utime(fresh, (an_hour_ago, an_hour_ago))
    with TestClient(create_app(deployment.settings)):
        assert not fresh.exists()


def test_login_still_works_after_the_sweep(settings: Settings, tmp_path: Path) -> None:
    with Izde(settings) as izde:
        izde.initialise("admin", PASSWORD, "P", law_enforcement=True)
        assert izde.sweep_leftovers() == (0, 0)
        assert izde.login("admin", PASSWORD)
