"""Watching real video end to end: alerts for enrolled people, no trace of anyone else."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.cli.helpers import RECORDED_AT, Deployment, json_lines, read_stored
from tests.conftest import CROWD, HAMILTON, require_data
from tests.support.no_trace import FaceRecorder, NoTrace, needles
from tests.support.video import truncated_copy

pytestmark = pytest.mark.slow


def rows(home: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(home / "izde.db") as con:
        return list(con.execute(sql).fetchall())


def files_under(home: Path) -> list[str]:
    return sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file())


def test_hamilton_alerts_on_lin_manuel_miranda_once(deployment: Deployment) -> None:
    home = deployment.home
    lin = deployment.enrol("Lin-Manuel Miranda", require_data(HAMILTON / "lin-manuel-miranda.png"))
    auth = deployment.authorise([lin], ["stage"])
    r = deployment.watch(HAMILTON / "short_hamilton_clip.mp4", "stage", auth, "--json")
    assert r.exit_code == 0, r.stderr
    alerts = json_lines(r.stdout)
    assert len(alerts) == 1, alerts  # one passage, one alert (cooldown); never one per frame
    assert {a["person_name"] for a in alerts} == {"Lin-Manuel Miranda"}
    first = alerts[0]
    assert first["distance"] <= first["threshold"] and first["candidate_only"] is True
    # Recorded footage is dated by the recording, not by when it was analysed.
    happened = datetime.fromisoformat(RECORDED_AT) + timedelta(seconds=first["position_s"])
    assert abs(datetime.fromisoformat(first["frame_time"]) - happened) < timedelta(milliseconds=1)
    evidence = Path(first["evidence_path"])
    assert evidence.is_file() and not evidence.read_bytes().startswith(b"\xff\xd8\xff")  # sealed at rest
    image = read_stored(home, evidence)
    assert image[:3] == b"\xff\xd8\xff" and cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_COLOR) is not None

    listed = json_lines(deployment.run("op-b", "alerts", "list", "--json").stdout)
    assert sorted(a["id"] for a in listed) == sorted(a["id"] for a in alerts)
    assert all(a["status"] == "pending" and a["camera"] == "stage" for a in listed)
    shown = deployment.run("op-b", "alerts", "show", first["id"][:10])
    assert shown.exit_code == 0 and "candidate" in shown.stdout
    (run,) = rows(home, "select status, frames_read, faces_seen, alerts_raised from watch_runs")
    assert run[0] == "completed" and run[1] == 275 and int(run[2]) > 0 and run[3] == len(alerts)


def test_crowd_leaves_no_face_data(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    home = deployment.home
    ids = [
        deployment.enrol(name.split(".")[0], require_data(HAMILTON / name))
        for name in ("lin-manuel-miranda.png", "alex-lacamoire.png", "obama.jpg", "biden.jpg")
    ]
    auth = deployment.authorise(ids, ["street"])
    faces = FaceRecorder.install(monkeypatch)
    # The database changes, of course: its content is compared row by row instead. So does the audit head
    # anchor (seq, hash and MAC of the newest entry). Both are still searched for descriptors and boxes.
    url = f"sqlite:///{home / 'izde.db'}"
    with NoTrace(monkeypatch, roots=[home], database_url=url, ignore_files=["izde.db", "audit.head"]) as t:
        r = deployment.watch(require_data(CROWD / "crowd.mp4"), "street", auth, "--json")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.strip() == ""  # no alert

    # The run did see faces and compute descriptors, so there was something to leave behind.
    assert len(faces.boxes) >= 20 and len(faces.descriptors) >= 5
    # Both networks' descriptors (the fused default) are among what is looked for.
    assert {len(d) for d in faces.descriptors} == {128, 1024}
    assert all(needles([d], []) for d in faces.descriptors)  # each of them is searched for
    found = t.findings(faces.needles(), texts={"stdout": r.stdout, "stderr": r.stderr})
    assert found.hits == [], found.hits
    assert found.new_files == []  # nothing new under the data directory, TMPDIR or the caches
    # Only the run's own row, its counters and the audit entries of the session changed.
    # (audit_head: the signed head of the chain, one row that moves with every entry.)
    assert set(found.changed_tables) == {"watch_runs", "face_counts", "audit_log", "audit_head"}, found.changed_tables
    assert found.changed_tables["watch_runs"] == (1, 0) and found.changed_tables["face_counts"] == (1, 0)
    assert found.changed_tables["audit_log"][1] == 0  # appended, never rewritten

    # Only counters show that faces were seen.
    (run,) = rows(home, "select faces_seen, tracks_seen, alerts_raised, status from watch_runs")
    assert int(run[0]) >= 20 and int(run[1]) >= 5 and run[2] == 0 and run[3] == "completed"
    assert rows(home, "select camera, faces, tracks from face_counts") == [("street", run[0], run[1])]
    assert rows(home, "select count(*) from alerts") == [(0,)]
    # The enrolled ones (a dlib and a FaceRes template of each photo), nothing more.
    assert rows(home, "select model, count(*) from templates group by model order by model") == [
        ("dlib_resnet_v1+flip", 4),
        ("hse_faceres_v1", 4),
    ]


def test_watch_bad_sources(deployment: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = deployment.home
    pid = deployment.enrol("Obama", require_data(HAMILTON / "obama.jpg"))
    auth = deployment.authorise([pid], ["c"])
    live = deployment.authorise(
        [pid], ["c"], live=True, start="2026-01-01T00:00:00+00:00", end="2099-01-01T00:00:00+00:00"
    )
    missing = deployment.watch(tmp_path / "nope.mp4", "c", auth)
    assert missing.exit_code == 3 and "does not exist" in missing.stderr

    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    corrupt = deployment.watch(junk, "c", auth)
    assert corrupt.exit_code == 3 and "cannot read video file" in corrupt.stderr

    monkeypatch.setenv("IZDE_PIPELINE__STREAM_RETRIES", "1")
    monkeypatch.setenv("IZDE_PIPELINE__STREAM_BACKOFF_S", "0.05")
    unreachable = deployment.watch("rtsp://127.0.0.1:9/stream", "c", live)
    assert unreachable.exit_code == 3 and "cannot open stream" in unreachable.stderr
    # A source that cannot be opened is refused before any run is recorded.
    assert rows(home, "select count(*) from watch_runs") == [(0,)]


def test_truncated_video_is_reported_as_not_finished(deployment: Deployment, tmp_path: Path) -> None:
    home = deployment.home
    pid = deployment.enrol("Obama", require_data(HAMILTON / "obama.jpg"))
    auth = deployment.authorise([pid], ["c"])
    # Cut where the reader gets past the header: the file opens, promises 275 frames and holds about half.
    cut = truncated_copy(require_data(HAMILTON / "short_hamilton_clip.mp4"), tmp_path / "cut.mp4")
    r = deployment.watch(cut, "c", auth, "--fps", "1")
    assert r.exit_code == 3, (r.exit_code, r.stderr)
    assert "ended early" in r.stderr and "of 275" in r.stderr
    (run,) = rows(home, "select status, error, frames_read from watch_runs")
    assert run[0] == "failed" and "ended early" in str(run[1])
    assert 0 < int(str(run[2])) < 275
