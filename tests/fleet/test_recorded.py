"""A recorded clip watched by a fleet worker gives the alerts an in-process run of the same clip gives."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import create_engine, text

from izde.api import Izde
from tests.cli.helpers import RECORDED_AT
from tests.conftest import HAMILTON, require_data
from tests.fleet.conftest import Fleet
from tests.fleet.harness import wait_for

pytestmark = pytest.mark.slow


def test_a_recorded_session_on_a_worker_matches_an_in_process_run(fleet: Fleet) -> None:
    site = fleet.site
    lin = site.enrol("Lin-Manuel Miranda", HAMILTON / "lin-manuel-miranda.png")
    clip = require_data(HAMILTON / "short_hamilton_clip.mp4")
    site.camera("stage", clip)
    auth = site.authorise([lin], ["stage"])
    body = {"camera": "stage", "authorisation": auth, "recorded_at": RECORDED_AT, "fps": 3.0}
    session = site.ok("op-a", "POST", "/api/v1/sessions", json=body)
    assert session["status"] == "queued" and session["worker"] is None  # no worker yet: it waits, visibly
    fleet.worker("w1")
    done = wait_for(
        lambda: (s := site.ok("op-a", "GET", f"/api/v1/sessions/{session['id']}"))["status"] == "completed" and s,
        240,
        "the session to complete on the worker",
    )
    assert done["worker"] == "w1"
    run = wait_for(
        lambda: (r := site.ok("op-a", "GET", f"/api/v1/runs/{session['run_id']}"))["status"] == "completed" and r,
        30,
        "the recorder to record the run's end",
    )
    fleet_alerts = [a for a in site.ok("op-a", "GET", "/api/v1/alerts") if a["run_id"] == session["run_id"]]

    # The same clip, same settings, in this process: the single-process reference.
    pipeline = fleet.settings.pipeline.model_copy(update={"analysis_fps": 3.0})
    with Izde(fleet.settings.model_copy(update={"pipeline": pipeline})) as izde:
        izde.use_token(site.tokens["op-a"])
        report = izde.watch(str(clip), "stage", auth, recorded_at=datetime.fromisoformat(RECORDED_AT))
    expected = sorted((a.person_id, round(a.position_s, 2)) for a in report.alerts)
    got = sorted((a["person_id"], round(a["position_s"], 2)) for a in fleet_alerts)
    assert expected and got == expected
    assert run["frames_analysed"] == report.frames_analysed
    # The run is the fleet's, not the server process's: a restart of the server does not make it stale.
    engine = create_engine(str(fleet.settings.database_url))
    with engine.connect() as conn:
        runner = conn.execute(text("SELECT runner FROM watch_runs WHERE id = :id"), {"id": session["run_id"]})
        assert runner.scalar() == "fleet"
    engine.dispose()
