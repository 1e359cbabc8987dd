"""Live cameras on three workers; one is SIGKILLed mid-run. Its sessions resume on the others within
broker.failover_s, every alert a worker published is in the record once, none twice, and the audit chain
verifies."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from izde.api import Izde
from tests.conftest import HAMILTON, require_data
from tests.fleet.conftest import Fleet
from tests.fleet.harness import BIN, LoopCamera, clip_jpegs, wait_for

pytestmark = pytest.mark.slow

CAMERAS = 4
FPS = 1.5  # analysed frames per second and camera: small, so that four cameras fit on a shared machine
PUBLISHED = re.compile(r"published alert alert\.(\w+)\.(\d+)\.(\w+)")


@pytest.fixture(scope="module")
def hamilton() -> list[bytes]:
    return clip_jpegs(require_data(HAMILTON / "short_hamilton_clip.mp4"), every=2)


def sessions_by_id(fleet: Fleet) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in fleet.fleet()["sessions"]}


def published(fleet: Fleet) -> set[tuple[str, int, str]]:
    found = set()
    for w in fleet.workers.values():
        for run, track, person in PUBLISHED.findall(w.output()):
            found.add((run, int(track), person))
    return found


def fleet_status_cli(fleet: Fleet) -> dict[str, Any]:
    """``izde fleet status --json`` as the operator, from another process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IZDE_")}
    env.update(
        IZDE_HOME=str(fleet.settings.home),
        IZDE_DATABASE_URL=str(fleet.settings.database_url),
        IZDE_BROKER__URL=fleet.nats.url,
        IZDE_TOKEN=fleet.site.tokens["op-a"],
    )
    done = subprocess.run(
        [str(BIN / "izde"), "fleet", "status", "--json"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_a_killed_workers_sessions_resume_elsewhere_and_no_alert_is_lost_or_doubled(
    fleet: Fleet, hamilton: list[bytes], tmp_path: Path
) -> None:
    site = fleet.site
    cameras = [LoopCamera(hamilton, fps=15.0) for _ in range(CAMERAS)]
    try:
        lin = site.enrol("Lin-Manuel Miranda", HAMILTON / "lin-manuel-miranda.png")
        names = [f"cam{i}" for i in range(CAMERAS)]
        for name, cam in zip(names, cameras, strict=True):
            site.camera(name, cam.url)
        auth = fleet.authorise_live([lin], names)
        for name in ("w1", "w2", "w3"):
            fleet.worker(name, capacity=2)
        fleet.wait_workers(3)
        ids = [
            site.ok("op-a", "POST", "/api/v1/sessions", json={"camera": n, "authorisation": auth, "fps": FPS})["id"]
            for n in names
        ]
        wait_for(
            lambda: (
                [s["status"] == "running" and s["frames_analysed"] > 0 for s in sessions_by_id(fleet).values()]
                == [True] * CAMERAS
            ),
            240,
            "every session to run",
        )
        # Let each camera's loop (about 9 s) pass at least once, so alerts flow before the kill.
        wait_for(lambda: len(published(fleet)) >= 2, 120, "the first alerts")
        sessions = sessions_by_id(fleet)
        victim = next(s["worker"] for s in sessions.values() if s["worker"])
        moved = [sid for sid, s in sessions.items() if s["worker"] == victim]
        fleet.workers[victim].kill()
        killed_at = time.monotonic()
        resumed: dict[str, float] = {}

        def all_resumed() -> bool:
            now = sessions_by_id(fleet)
            for sid in moved:
                s = now[sid]
                if sid not in resumed and s["worker"] not in (None, victim) and s["health"] == "ok":
                    resumed[sid] = time.monotonic() - killed_at
            return len(resumed) == len(moved)

        failover_s = fleet.settings.broker.failover_s
        wait_for(all_resumed, failover_s + 30, "the killed worker's sessions to resume", every=0.1)
        # Claimed within the lease (ack-wait) plus one fetch and a status read.
        assert max(resumed.values()) <= failover_s + 3, resumed
        before = {sid: sessions_by_id(fleet)[sid]["frames_analysed"] for sid in moved}
        wait_for(
            lambda: all(sessions_by_id(fleet)[sid]["frames_analysed"] > before[sid] for sid in moved),
            60,
            "the resumed sessions to read their cameras again",
        )
        # One more loop of the clip on every camera, then stop them all from the API.
        time.sleep(cameras[0].loop_s + 2)
        for sid in ids:
            t0 = time.monotonic()
            stopped = site.ok("op-a", "POST", f"/api/v1/sessions/{sid}/stop")
            assert stopped["status"] == "stopped", stopped
            assert time.monotonic() - t0 <= 10
        runs = [sessions_by_id(fleet)[sid]["run_id"] for sid in ids]
        status = fleet_status_cli(fleet)
        assert {w["name"] for w in status["workers"]} == {"w1", "w2", "w3"} - {victim}
        assert {s["id"]: s["status"] for s in status["sessions"]} == dict.fromkeys(ids, "stopped")
        assert all(s["worker"] not in (None, victim) for s in status["sessions"] if s["id"] in moved)
        wait_for(
            lambda: all(site.ok("op-a", "GET", f"/api/v1/runs/{r}")["status"] == "stopped" for r in runs),
            30,
            "the recorder to record every run's end",
        )
    finally:
        for cam in cameras:
            cam.close()

    alerts = [a for a in site.ok("op-a", "GET", "/api/v1/alerts", params={"limit": 1000}) if a["run_id"] in runs]
    stored = {(a["run_id"], a["person_id"]): [] for a in alerts}  # type: dict[tuple[str, str], list[datetime]]
    for a in alerts:
        stored[(a["run_id"], a["person_id"])].append(datetime.fromisoformat(a["frame_time"]))
    cooldown = timedelta(seconds=fleet.settings.pipeline.cooldown_s)
    # None doubled: one alert per passage, as the single-process watcher's cooldown gives.
    for times in stored.values():
        times.sort()
        assert all(b - a >= cooldown for a, b in itertools.pairwise(times)), times
    # None lost: every alert a worker published (the killed one's included) is in the record, or was the
    # same passage as one that is (a replacement seeing again what its predecessor reported).
    sent = published(fleet)
    assert sent
    by_key = {(a["run_id"], a["person_id"]) for a in alerts}
    for run, _track, person in sent:
        assert (run, person) in by_key, (run, person)
    assert len(alerts) <= len(sent)
    # Every camera, the moved ones included, alerted on Lin-Manuel Miranda.
    assert {a["camera"] for a in alerts} == set(names)
    assert {a["person_id"] for a in alerts} == {lin}
    with Izde(fleet.settings) as izde:
        izde.use_token(site.tokens["auditor"])
        assert izde.verify_audit().ok
