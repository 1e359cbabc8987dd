"""The fleet under disturbance: the recorder killed and restarted while alerts flow, nats-server restarted,
a session stopped from the console, an authorisation rejected mid-run. Nothing lost, nothing doubled."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from izde.api import Izde
from tests.conftest import HAMILTON, require_data
from tests.fleet.conftest import Fleet, running_fleet
from tests.fleet.harness import LoopCamera, NatsServer, RecorderProcess, clip_jpegs, wait_for
from tests.fleet.test_failover import published

pytestmark = pytest.mark.slow

FPS = 1.5


@pytest.fixture
def fleet(tmp_path: Path, nats: NatsServer, pg_url: str) -> Iterator[Fleet]:
    # The servers do not record: a dedicated recorder process does, so that it can be killed.
    with running_fleet(tmp_path, nats, pg_url, recorder=False) as f:
        yield f


def session(fleet: Fleet, sid: str) -> dict[str, Any]:
    return dict(fleet.site.ok("op-a", "GET", f"/api/v1/sessions/{sid}"))


def alerts_of(fleet: Fleet, run_id: str) -> list[dict[str, Any]]:
    return [a for a in fleet.site.ok("op-a", "GET", "/api/v1/alerts", params={"limit": 1000}) if a["run_id"] == run_id]


def test_recorder_and_broker_restarts_console_stop_and_rejection(fleet: Fleet, tmp_path: Path, pg_url: str) -> None:
    site = fleet.site
    jpegs = clip_jpegs(require_data(HAMILTON / "short_hamilton_clip.mp4"), every=2)
    cameras = [LoopCamera(jpegs, fps=15.0) for _ in range(2)]
    settings = fleet.settings
    recorder = RecorderProcess(fleet.nats.url, settings.home, pg_url, tmp_path, settings.pipeline.cooldown_s)
    try:
        lin = site.enrol("Lin-Manuel Miranda", HAMILTON / "lin-manuel-miranda.png")
        for name, cam in zip(("keep", "reject"), cameras, strict=True):
            site.camera(name, cam.url)
        keep_auth = fleet.authorise_live([lin], ["keep"])
        reject_auth = fleet.authorise_live([lin], ["reject"], urgent=True)
        fleet.worker("w1", capacity=2)
        keep = site.ok(
            "op-a", "POST", "/api/v1/sessions", json={"camera": "keep", "authorisation": keep_auth, "fps": FPS}
        )
        body = {"camera": "reject", "authorisation": reject_auth, "fps": FPS}
        doomed = site.ok("op-a", "POST", "/api/v1/sessions", json=body)
        wait_for(lambda: len(alerts_of(fleet, keep["run_id"])) >= 1, 240, "a recorded alert")

        # The recorder dies while alerts flow; they wait in the broker and are recorded once it is back.
        recorder.kill()
        sent_while_down = len(published(fleet))
        wait_for(lambda: len(published(fleet)) > sent_while_down, 60, "alerts published while the recorder is down")
        recorder = RecorderProcess(fleet.nats.url, settings.home, pg_url, tmp_path, settings.pipeline.cooldown_s)
        wait_for(lambda: recorded_all(fleet, [keep["run_id"], doomed["run_id"]]), 60, "the backlog to be recorded")

        # nats-server restarts: workers, servers and the recorder reconnect by themselves; sessions go on.
        before = session(fleet, keep["id"])["frames_analysed"]
        fleet.nats.stop()
        time.sleep(2)
        fleet.nats.start()
        wait_for(lambda: session(fleet, keep["id"])["frames_analysed"] > before + 3, 90, "the session to go on")
        sent = len(published(fleet))
        wait_for(lambda: len(published(fleet)) > sent, 60, "alerts after the broker restart")
        wait_for(lambda: recorded_all(fleet, [keep["run_id"]]), 60, "alerts after the restart to be recorded")
        assert session(fleet, keep["id"])["status"] == "running"

        # The urgent authorisation of one session is rejected: it stops within 10 s, its alerts are purged.
        assert alerts_of(fleet, doomed["run_id"])
        t0 = time.monotonic()
        site.ok("approver", "POST", f"/api/v1/authorisations/{reject_auth}/decision", json={"grant": False})
        wait_for(lambda: session(fleet, doomed["id"])["status"] == "stopped", 10, "the rejected session to stop")
        assert time.monotonic() - t0 <= 10
        wait_for(lambda: not alerts_of(fleet, doomed["run_id"]), 30, "the rejected session's alerts to be purged")

        # The other is stopped from the console: the page's Stop button posts to the session's stop route.
        jar, csrf = site.console_session("op-a")
        page = site.client.get("/cameras", cookies=jar, headers={"Accept": "text/html"})
        assert f"/api/v1/sessions/{keep['id']}/stop" in page.text and "w1" in page.text
        t0 = time.monotonic()
        r = site.client.post(f"/api/v1/sessions/{keep['id']}/stop", cookies=jar, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "stopped" and time.monotonic() - t0 <= 10, r.json()
        run = wait_for(
            lambda: (x := site.ok("op-a", "GET", f"/api/v1/runs/{keep['run_id']}"))["status"] == "stopped" and x,
            30,
            "the run's end to be recorded",
        )
        assert "stopped by op-a" in str(run.get("stop_reason")), run
    finally:
        recorder.stop()
        for cam in cameras:
            cam.close()

    stored = alerts_of(fleet, keep["run_id"])
    times = sorted(datetime.fromisoformat(a["frame_time"]) for a in stored)
    cooldown = timedelta(seconds=settings.pipeline.cooldown_s)
    assert all(b - a >= cooldown for a, b in itertools.pairwise(times)), times  # none doubled
    assert recorded_all(fleet, [keep["run_id"]])  # none lost
    with Izde(settings) as izde:
        izde.use_token(site.tokens["auditor"])
        assert izde.verify_audit().ok


def recorded_all(fleet: Fleet, runs: list[str]) -> bool:
    """Every alert the workers published for ``runs`` is in the record (or the same passage is)."""
    stored = {(a["run_id"], a["person_id"]) for r in runs for a in alerts_of(fleet, r)}
    return all((run, person) in stored for run, _t, person in published(fleet) if run in runs)
