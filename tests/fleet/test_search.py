"""A retrospective search on the fleet: its chunks are jobs that worker processes claim; a worker killed mid-way
hands its chunk on by the lease; the sightings match the footage and no alert is stored twice. A stop reaches
chunks still queued, and a resume from another process runs only what was left."""

from __future__ import annotations

import shutil
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from izde.api import Izde
from tests.conftest import HAMILTON, require_data
from tests.fleet.conftest import Fleet
from tests.fleet.harness import wait_for

pytestmark = pytest.mark.slow

STAGE_1 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
STAGE_2 = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)


def _archive(root: Path) -> Path:
    clip = require_data(HAMILTON / "short_hamilton_clip.mp4")
    for cam, start in (("stage-1", STAGE_1), ("stage-2", STAGE_2)):
        (root / cam).mkdir(parents=True)
        shutil.copy(clip, root / cam / f"{start:%Y%m%dT%H%M%SZ}.mp4")
    return root


def _sql(fleet: Fleet, query: str) -> list[tuple[Any, ...]]:
    engine = create_engine(str(fleet.settings.database_url))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(query))]
    finally:
        engine.dispose()


def _start(fleet: Fleet, tmp_path: Path) -> dict[str, Any]:
    site = fleet.site
    lin = site.enrol("Lin-Manuel Miranda", HAMILTON / "lin-manuel-miranda.png")
    auth = site.authorise([lin], ["stage-1", "stage-2"])
    body = {"archive": str(_archive(tmp_path / "archive")), "authorisation": auth, "case": "CASE-F-1", "chunk_s": 5}
    started = site.call("op-a", "POST", "/api/v1/searches", json=body)
    assert started.status_code == 202, started.text
    search = started.json()
    assert search["chunks"] == 4 and search["recordings"] == 2
    return dict(search)


def _count(fleet: Fleet, search_id: str, status: str) -> int:
    query = f"SELECT COUNT(*) FROM archive_chunks WHERE search_id = '{search_id}' AND status = '{status}'"
    return int(_sql(fleet, query)[0][0])


def _search(fleet: Fleet, search_id: str) -> dict[str, Any]:
    return dict(fleet.site.ok("auditor", "GET", f"/api/v1/searches/{search_id}"))


def test_search_chunks_run_as_fleet_jobs_and_survive_a_killed_worker(fleet: Fleet, tmp_path: Path) -> None:
    w1 = fleet.worker("w1", capacity=1)
    fleet.worker("w2", capacity=1)
    fleet.wait_workers(2)
    search = _start(fleet, tmp_path)
    sid = search["id"]
    # Every chunk is given to a fleet session (queued as a job), none to a local process.
    wait_for(lambda: _count(fleet, sid, "done") >= 1, 300, "a first chunk to be done")
    w1.kill()  # mid-way: its chunk, if it held one, goes to w2 when the lease runs out
    done = wait_for(
        lambda: (s := _search(fleet, sid))["status"] not in ("running", "stopping") and s,
        600,
        "the search to finish on the remaining worker",
    )
    assert done["status"] == "completed" and done["progress"] == 1.0 and done["chunks_done"] == 4, done
    workers = [w for (w,) in _sql(fleet, f"SELECT worker FROM archive_chunks WHERE search_id = '{sid}'")]
    assert all(w.startswith("fleet:") for w in workers), workers
    # Their runs are the fleet's: no restart of the server that dispatched them makes them stale.
    assert _sql(fleet, "SELECT DISTINCT runner FROM watch_runs") == [("fleet",)]

    sightings = fleet.site.ok("op-b", "GET", f"/api/v1/searches/{sid}/sightings")
    assert [(s["person"], s["camera"]) for s in sightings] == [
        ("Lin-Manuel Miranda", "stage-1"),
        ("Lin-Manuel Miranda", "stage-2"),
    ]
    for s, start in zip(sightings, (STAGE_1, STAGE_2), strict=True):
        assert start <= datetime.fromisoformat(s["start"]) <= start + timedelta(seconds=10)
    # The recorder stored each alert once, whichever worker raised it and however often a chunk was run.
    alerts = _sql(fleet, "SELECT run_id, person_id, frame_time FROM alerts")
    assert len(alerts) == sum(s["alerts"] for s in sightings) == done["alerts"] >= 2
    doubled = [a for a in alerts if sum(b[:2] == a[:2] and abs((b[2] - a[2]).total_seconds()) < 5 for b in alerts) > 1]
    assert doubled == []
    # Templates went to workers only for the persons searched, and each handover is in the audit log.
    assert _sql(fleet, "SELECT COUNT(*) > 0 FROM audit_log WHERE action = 'fleet.gallery'") == [(True,)]
    # The sighting's alert waits for two operators like any other.
    review = fleet.site.ok(
        "op-a", "POST", f"/api/v1/alerts/{sightings[0]['best_alert']}/review", json={"decision": "confirm"}
    )
    assert review["status"] == "pending"


def test_a_stop_reaches_queued_chunks_and_a_resume_runs_what_was_left(fleet: Fleet, tmp_path: Path) -> None:
    search = _start(fleet, tmp_path)  # no worker yet: every chunk waits in the queue
    sid = search["id"]
    wait_for(lambda: _count(fleet, sid, "running") == 4, 60, "the chunks to be queued")
    fleet.site.ok("op-a", "POST", f"/api/v1/searches/{sid}/stop")
    stopped = wait_for(
        lambda: (s := _search(fleet, sid))["status"] == "stopped" and s, 60, "the search to stop without workers"
    )
    assert stopped["chunks_done"] == 0
    assert _sql(fleet, f"SELECT DISTINCT status FROM archive_chunks WHERE search_id = '{sid}'") == [("pending",)]
    assert {s for (s,) in _sql(fleet, "SELECT status FROM watch_runs")} == {"stopped"}

    # A worker that comes up now finds the stopped jobs and runs none of them.
    w = fleet.worker("w1", capacity=2)
    fleet.wait_workers(1)
    time.sleep(3)
    assert _sql(fleet, "SELECT COUNT(*) FROM alerts") == [(0,)]
    assert "claimed" not in w.output()

    # Resumed from the command line's code: a process of its own that only publishes the jobs and follows the
    # record, while the server answers the workers and records what they find. It leaves once every chunk is a
    # job (as a server shutting down does), and the search still ends, with its last chunk.
    detach, ended = threading.Event(), []
    with Izde(fleet.settings) as izde:
        izde.use_token(fleet.site.tokens["op-a"])
        driver = threading.Thread(target=lambda: ended.append(izde.searches.run(sid, detach=detach)))
        driver.start()
        wait_for(lambda: _count(fleet, sid, "pending") == 0, 60, "every chunk to be dispatched")
        detach.set()
        driver.join(30)
    assert not driver.is_alive() and ended[0].status == "running"
    done = wait_for(
        lambda: (s := _search(fleet, sid))["status"] not in ("running", "stopping") and s, 600, "the search to end"
    )
    assert done["status"] == "completed" and done["chunks_done"] == 4, done
    sightings = fleet.site.ok("op-b", "GET", f"/api/v1/searches/{sid}/sightings")
    assert [s["camera"] for s in sightings] == ["stage-1", "stage-2"]
    actions = [a for (a,) in _sql(fleet, "SELECT action FROM audit_log WHERE subject_type = 'search' ORDER BY seq")]
    assert actions == ["search.start", "search.stop.requested", "search.stop", "search.resume", "search.stop"]
