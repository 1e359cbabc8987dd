"""A case's archive searched end to end with the real models: sightings by camera and time, two-person review,
resume after the search was killed without doubled alerts, refusals outside the authorisation, the 48-hour rule,
and no trace of the crowd."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from izde.api import Izde
from izde.archive.manifest import scan_folder
from izde.governance.roles import PermissionDenied
from tests.cli.helpers import Deployment, json_lines
from tests.conftest import CROWD, HAMILTON, require_data
from tests.governance.support import rows

pytestmark = pytest.mark.slow

STAGE_1 = datetime(2026, 11, 24, 8, 15, tzinfo=UTC)
STAGE_2 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def build_archive(root: Path) -> Path:
    """Three cameras: Lin-Manuel Miranda's stage clip on two of them at different times, the crowd on the third."""
    for cam in ("stage-1", "stage-2", "foyer"):
        (root / cam).mkdir(parents=True)
    clip = require_data(HAMILTON / "short_hamilton_clip.mp4")
    shutil.copy(clip, root / "stage-1" / "20261124T081500Z.mp4")
    shutil.copy(clip, root / "stage-2" / "stage2_2026-11-24_09-00-00.mp4")
    shutil.copy(require_data(CROWD / "crowd.mp4"), root / "foyer" / "20261124T081700Z.mp4")
    return root


@pytest.fixture
def case(deployment: Deployment, tmp_path: Path) -> tuple[Deployment, Path, str]:
    deployment.enrol("Lin-Manuel Miranda", HAMILTON / "lin-manuel-miranda.png")
    deployment.enrol("Barack Obama", HAMILTON / "obama.jpg")  # enrolled, authorised, and not in the footage
    auth = deployment.authorise(
        ["Lin-Manuel Miranda", "Barack Obama"],
        ["stage-1", "stage-2", "foyer"],
        start="2026-11-24T00:00:00+00:00",
        end="2026-11-25T00:00:00+00:00",
    )
    return deployment, build_archive(tmp_path / "archive"), auth


def _service(dep: Deployment, user: str = "op-a") -> Izde:
    return Izde(home=dep.home, token=dep.tokens[user])


def _wait_for(predicate: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.2)


def test_search_killed_mid_way_resumes_without_doubling_and_reports(
    case: tuple[Deployment, Path, str], tmp_path: Path
) -> None:
    dep, archive, auth = case
    # The real command in its own process group, with two worker processes, killed once some work is done.
    env = {**os.environ, "IZDE_HOME": str(dep.home), "IZDE_TOKEN": dep.tokens["op-a"]}
    cmd = [sys.executable, "-c", "from izde.cli.main import main; main()", "search", str(archive)]
    cmd += ["--authorisation", auth, "--case", "CASE-2026-117", "--workers", "2", "--chunk-s", "5", "--json"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    done_sql = "SELECT COUNT(*) FROM archive_chunks WHERE status = 'done'"
    try:
        _wait_for(lambda: proc.poll() is not None or rows(dep.home, done_sql)[0][0] >= 1, 600)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    (search_id,) = rows(dep.home, "SELECT id FROM archive_searches")[0]
    states = dict(rows(dep.home, "SELECT id, status FROM archive_chunks"))
    assert "done" in states.values() and set(states.values()) - {"done"}, states  # killed mid-way
    alerts_before = set(rows(dep.home, "SELECT id FROM alerts"))
    runs_of_done = set(rows(dep.home, "SELECT id, run_id FROM archive_chunks WHERE status = 'done'"))

    r = dep.run("op-a", "searches", "resume", str(search_id)[:12], "--workers", "2", "--json")
    assert r.exit_code == 0, r.stderr
    sightings = json_lines(r.stdout)
    assert [(s["person"], s["camera"]) for s in sightings] == [
        ("Lin-Manuel Miranda", "stage-1"),
        ("Lin-Manuel Miranda", "stage-2"),
    ]
    for s, start in zip(sightings, (STAGE_1, STAGE_2), strict=True):
        assert start <= datetime.fromisoformat(s["start"]) <= datetime.fromisoformat(s["end"])
        assert datetime.fromisoformat(s["end"]) <= start + timedelta(seconds=10)
        # From the matched track's first frame to the frame it matched in: an interval, not one moment.
        assert datetime.fromisoformat(s["end"]) > datetime.fromisoformat(s["start"])
        assert s["best_distance"] < s["threshold"] and s["alerts"] >= 1
    # Finished chunks were not redone, nothing the first pass stored is lost, and nothing is stored twice.
    assert runs_of_done <= set(rows(dep.home, "SELECT id, run_id FROM archive_chunks"))
    assert alerts_before <= set(rows(dep.home, "SELECT id FROM alerts"))
    assert rows(dep.home, "SELECT COUNT(*) FROM archive_chunks WHERE status != 'done'") == [(0,)]
    doubled = "SELECT run_id, person_id FROM alerts GROUP BY run_id, person_id HAVING COUNT(*) > 1"
    assert rows(dep.home, doubled) == []
    assert rows(dep.home, "SELECT COUNT(*) FROM alerts") == [(sum(s["alerts"] for s in sightings),)]
    # The crowd's camera raised nothing and kept only aggregate counts.
    foyer = "SELECT COUNT(*) FROM alerts a JOIN watch_runs r ON r.id = a.run_id WHERE r.camera = 'foyer'"
    assert rows(dep.home, foyer) == [(0,)]
    assert rows(dep.home, "SELECT SUM(faces_seen) > 0 FROM watch_runs WHERE camera = 'foyer'") == [(1,)]
    actions = [a for (a,) in rows(dep.home, "SELECT action FROM audit_log WHERE subject_type = 'search' ORDER BY seq")]
    assert actions == ["search.start", "search.resume", "search.stop"]

    # Every sighting is an alert awaiting two different operators.
    alert = sightings[0]["best_alert"]
    assert dep.run("op-a", "alerts", "confirm", alert).exit_code == 0
    assert json_lines(dep.run("op-a", "alerts", "show", alert, "--json").stdout)[0]["status"] == "pending"
    assert dep.run("op-b", "alerts", "confirm", alert).exit_code == 0
    assert json_lines(dep.run("op-b", "alerts", "show", alert, "--json").stdout)[0]["status"] == "confirmed"

    out = tmp_path / "report"
    rep = dep.run("op-a", "report", "search", str(search_id), "--out", str(out))
    assert rep.exit_code == 0, rep.stderr
    page = (out / "search.html").read_text()
    assert "CASE-2026-117" in page and "op-a, op-b" in page and "AUTH-1" in page
    assert (out / "timeline.png").stat().st_size > 5000
    assert sorted(p.name for p in (out / "evidence").iterdir()) == sorted(f"{s['best_alert']}.jpg" for s in sightings)
    doc = json.loads((out / "search.json").read_text())
    assert doc["use_record"]["started_by"] == "op-a" and len(doc["sightings"]) == 2
    assert rows(dep.home, "SELECT COUNT(*) FROM audit_log WHERE action = 'evidence.export'") == [(2,)]


@pytest.mark.parametrize(
    ("cameras", "start", "end", "message"),
    [
        (["stage-1", "stage-2"], "2026-11-24T00:00:00+00:00", "2026-11-25T00:00:00+00:00", "foyer not covered"),
        (["stage-1", "stage-2", "foyer"], "2026-11-24T08:30:00+00:00", "2026-11-25T00:00:00+00:00", "outside"),
    ],
)
def test_footage_outside_the_authorisation_is_refused_whole(
    deployment: Deployment, tmp_path: Path, cameras: list[str], start: str, end: str, message: str
) -> None:
    deployment.enrol("Lin-Manuel Miranda", HAMILTON / "lin-manuel-miranda.png")
    auth = deployment.authorise(["Lin-Manuel Miranda"], cameras, start=start, end=end)
    with _service(deployment) as izde, pytest.raises(PermissionDenied, match=message):
        izde.searches.plan(scan_folder(build_archive(tmp_path / "a")), auth, "CASE-9")
    assert rows(deployment.home, "SELECT COUNT(*) FROM archive_searches") == [(0,)]
    refused = rows(deployment.home, "SELECT details FROM audit_log WHERE action = 'search.refused'")
    assert len(refused) == 1 and message in json.loads(str(refused[0][0]))["reason"]


def test_urgent_search_not_granted_within_48_hours_is_purged(deployment: Deployment, tmp_path: Path) -> None:
    deployment.enrol("Lin-Manuel Miranda", HAMILTON / "lin-manuel-miranda.png")
    auth = deployment.authorise(
        ["Lin-Manuel Miranda"],
        ["stage-1"],
        start="2026-11-24T00:00:00+00:00",
        end="2026-11-25T00:00:00+00:00",
        grant=False,
        urgent="child missing since 08:00",
    )
    root = tmp_path / "a"
    (root / "stage-1").mkdir(parents=True)
    shutil.copy(require_data(HAMILTON / "short_hamilton_clip.mp4"), root / "stage-1" / "20261124T081500Z.mp4")
    with _service(deployment) as izde:
        search = izde.searches.plan(scan_folder(root), auth, "CASE-URGENT")
        done = izde.searches.run(search.id, workers=1)
        assert done.status == "completed" and done.alerts == 1
        assert len(list(deployment.home.rglob("*.jpg"))) >= 1
        # 30 hours on, a search may still wait for its grant (live sessions would have stopped at 24).
        later = datetime.now(UTC) + timedelta(hours=30)
        assert izde.searches.purge_ungranted(later) == 0
    # Past 48 hours the retention sweep purges it, though nobody has looked at searches meanwhile.
    with _service(deployment, "admin") as admin:
        assert admin.purge(now=datetime.now(UTC) + timedelta(hours=48, minutes=1)).ungranted_searches == 1
    with _service(deployment) as izde:
        assert izde.searches.purge_ungranted(datetime.now(UTC) + timedelta(hours=49)) == 0  # once
        purged = izde.searches.get(search.id)
    assert purged.status == "purged" and "within 48 hours" in (purged.stop_reason or "")
    assert purged.alerts == 0
    assert rows(deployment.home, "SELECT COUNT(*) FROM alerts") == [(0,)]
    assert [p for p in (deployment.home / "evidence").rglob("*") if p.is_file()] == []
    assert rows(deployment.home, "SELECT COUNT(*) FROM audit_log WHERE action = 'search.purged'") == [(1,)]


def test_footage_inside_the_data_directory_or_outside_media_folders_is_refused(
    deployment: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from izde.governance.sources import SourceRefused

    deployment.enrol("Lin-Manuel Miranda", HAMILTON / "lin-manuel-miranda.png")
    auth = deployment.authorise(["Lin-Manuel Miranda"], ["stage-1"])
    inside = deployment.home / "archive"
    (inside / "stage-1").mkdir(parents=True)
    shutil.copy(require_data(HAMILTON / "short_hamilton_clip.mp4"), inside / "stage-1" / "20261120T100000Z.mp4")
    with _service(deployment) as izde, pytest.raises(SourceRefused, match="data directory"):
        izde.searches.plan(scan_folder(inside), auth, "CASE-3")
    outside = tmp_path / "elsewhere"
    shutil.copytree(inside, outside)
    monkeypatch.setenv("IZDE_CAMERAS__MEDIA_FOLDERS", json.dumps([str(tmp_path / "media")]))
    with _service(deployment) as izde, pytest.raises(SourceRefused, match="outside the media folders"):
        izde.searches.plan(scan_folder(outside), auth, "CASE-3")
    assert rows(deployment.home, "SELECT COUNT(*) FROM archive_searches") == [(0,)]
