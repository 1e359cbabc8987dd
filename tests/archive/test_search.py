"""A case's archive searched end to end with the real models: sightings by camera and time, two-person review,
resume without doubled alerts, refusals outside the authorisation, the 48-hour rule, and no trace of the crowd."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from izde.api import Izde
from izde.archive.manifest import scan_folder
from izde.archive.service import SearchService
from izde.governance.roles import PermissionDenied
from tests.cli.helpers import Deployment, json_lines
from tests.conftest import CROWD, HAMILTON, require_data
from tests.governance.support import execute, rows

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
def case(deployment: Deployment, tmp_path: Path) -> tuple[Deployment, Path, str, str]:
    lin = deployment.enrol("Lin-Manuel Miranda", HAMILTON / "lin-manuel-miranda.png")
    deployment.enrol("Barack Obama", HAMILTON / "obama.jpg")  # enrolled, authorised, and not in the footage
    auth = deployment.authorise(
        ["Lin-Manuel Miranda", "Barack Obama"],
        ["stage-1", "stage-2", "foyer"],
        start="2026-11-24T00:00:00+00:00",
        end="2026-11-25T00:00:00+00:00",
    )
    return deployment, build_archive(tmp_path / "archive"), auth, lin


def _service(dep: Deployment, user: str = "op-a") -> Izde:
    return Izde(home=dep.home, token=dep.tokens[user])


def test_two_workers_find_him_on_both_stage_cameras_and_nobody_in_the_crowd(
    case: tuple[Deployment, Path, str, str],
) -> None:
    dep, archive, auth, lin = case
    with _service(dep) as izde:
        search = izde.searches.plan(scan_folder(archive), auth, "CASE-2026-117", chunk_s=5.0)
        assert search.chunks == 2 + 2 + 1 and search.status == "running"
        done = izde.searches.run(search.id, workers=2)
        assert done.status == "completed" and done.chunks_done == 5 and done.fraction == 1.0
        found = izde.searches.sightings(search.id)
    assert [(s.person, s.camera) for s in found] == [
        ("Lin-Manuel Miranda", "stage-1"),
        ("Lin-Manuel Miranda", "stage-2"),
    ]
    for s, start in zip(found, (STAGE_1, STAGE_2), strict=True):
        assert start <= s.start <= s.end <= start + timedelta(seconds=10)
        assert s.best_distance < s.threshold
    # Each sighting is an alert awaiting two different operators.
    alert = found[0].best_alert_id
    assert dep.run("op-a", "alerts", "confirm", alert).exit_code == 0
    shown = json_lines(dep.run("op-a", "alerts", "show", alert, "--json").stdout)[0]
    assert shown["status"] == "pending"
    assert dep.run("op-b", "alerts", "confirm", alert).exit_code == 0
    assert json_lines(dep.run("op-b", "alerts", "show", alert, "--json").stdout)[0]["status"] == "confirmed"
    # The crowd's camera left only counts: no alert, and no run row holds more than aggregates.
    assert rows(
        dep.home, "SELECT COUNT(*) FROM alerts a JOIN watch_runs r ON r.id = a.run_id WHERE r.camera = 'foyer'"
    ) == [(0,)]
    actions = [a for (a,) in rows(dep.home, "SELECT action FROM audit_log WHERE subject_type = 'search'")]
    assert actions == ["search.start", "search.stop"]


def test_resume_after_a_crash_redoes_only_unfinished_chunks_and_doubles_nothing(
    case: tuple[Deployment, Path, str, str],
) -> None:
    dep, archive, auth, _ = case
    with _service(dep) as izde:
        search = izde.searches.plan(scan_folder(archive), auth, "CASE-1", chunk_s=5.0)
        # One worker gets through the first chunks, then "crashes": its current chunk stays claimed.
        service = SearchService(izde)
        claimed = service._claim(search.id, "w-dead")
        assert claimed is not None
        first, run_id = claimed
        assert service._run_chunk(search.id, first, run_id, __import__("threading").Event())
        crashed = service._claim(search.id, "w-dead")
        assert crashed is not None
        chunk, _ = crashed
        service._run_chunk(search.id, chunk, None, __import__("threading").Event())
        execute(dep.home, "UPDATE archive_chunks SET status = 'running' WHERE id = ?", chunk.id)
        before = rows(dep.home, "SELECT id FROM alerts ORDER BY id")
        runs_before = rows(dep.home, "SELECT COUNT(*) FROM watch_runs")[0][0]
        done = izde.searches.run(search.id, workers=1)
        assert done.status == "completed" and done.chunks_done == 5
        after = rows(dep.home, "SELECT id FROM alerts ORDER BY id")
        # The crashed chunk ran again in its own run; every alert of the first pass is there once.
        assert set(before) <= set(after)
        assert rows(dep.home, "SELECT COUNT(*) FROM watch_runs")[0][0] == runs_before + 3
        found = izde.searches.sightings(search.id)
    keys = rows(
        dep.home, "SELECT run_id, person_id, COUNT(*) FROM alerts GROUP BY run_id, person_id HAVING COUNT(*) > 1"
    )
    assert keys == []
    assert [(s.person, s.camera) for s in found] == [
        ("Lin-Manuel Miranda", "stage-1"),
        ("Lin-Manuel Miranda", "stage-2"),
    ]


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
        assert izde.searches.purge_ungranted(datetime.now(UTC) + timedelta(hours=48, minutes=1)) == 1
        purged = izde.searches.get(search.id)
    assert purged.status == "purged" and "within 48 hours" in (purged.stop_reason or "")
    assert purged.alerts == 0
    assert rows(deployment.home, "SELECT COUNT(*) FROM alerts") == [(0,)]
    assert [p for p in (deployment.home / "evidence").rglob("*") if p.is_file()] == []
    assert rows(deployment.home, "SELECT COUNT(*) FROM audit_log WHERE action = 'search.purged'") == [(1,)]
