"""A watch session runs only inside its authorisation: cameras, live or recorded, time window, FRIA, grant,
persons named; it stops by itself when the window ends; an urgent start is undone by a rejection."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from izde.api import AlertView, Izde, WatchReport
from tests.cli.helpers import RECORDED_AT, Deployment, make_deployment
from tests.conftest import HAMILTON, require_data
from tests.governance.support import execute, files_under, folder, rows, watch_alerts

CLIP = HAMILTON / "short_hamilton_clip.mp4"
STREAM = "rtsp://127.0.0.1:9/stream"  # refused before any connection is tried

# (what the authorisation says, source, camera, words of the refusal)
REFUSALS: list[tuple[str, dict[str, Any], str, str, str]] = [
    ("camera not covered", {}, "file", "hall", "camera 'hall' is not covered"),
    ("live, only recorded covered", {}, "stream", "door", "does not cover live footage"),
    ("recorded, only live covered", {"live": True}, "file", "door", "does not cover recorded footage"),
    (
        "footage before the window",
        {"start": "2026-11-21T00:00:00+00:00"},
        "file",
        "door",
        "outside the authorised window",
    ),
    (
        "footage after the window",
        {"end": "2026-11-20T09:00:00+00:00"},
        "file",
        "door",
        "outside the authorised window",
    ),
    ("no FRIA", {"fria": False}, "file", "door", "fundamental-rights impact assessment"),
    ("requested, not granted", {"grant": False}, "file", "door", "requested but not granted"),
]


@pytest.mark.parametrize(
    ("scope", "source", "camera", "reason"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_watch_outside_the_authorisation_is_refused(
    deployment: Deployment, scope: dict[str, Any], source: str, camera: str, reason: str
) -> None:
    pid = deployment.enrol("Obama", require_data(HAMILTON / "obama.jpg"))
    auth = deployment.authorise([pid], ["door"], **scope)
    r = deployment.watch(require_data(CLIP) if source == "file" else STREAM, camera, auth)
    assert r.exit_code == 5, r.stderr
    assert "is not authorised" in r.stderr and reason in r.stderr
    assert rows(deployment.home, "select count(*) from watch_runs") == [(0,)]
    (refusal,) = rows(deployment.home, "select details from audit_log where action = 'watch.refused'")
    assert reason in str(refusal[0])


def test_live_identification_is_reserved_to_law_enforcement(home: Path) -> None:
    civil = make_deployment(home, law_enforcement=False)
    pid = civil.enrol("Obama", require_data(HAMILTON / "obama.jpg"))
    auth = civil.authorise([pid], ["door"], live=True)
    r = civil.watch(STREAM, "door", auth)
    assert r.exit_code == 5 and "reserved to law-enforcement authorities" in r.stderr
    assert rows(home, "select count(*) from watch_runs") == [(0,)]


@pytest.mark.slow
def test_only_the_persons_named_are_matched(deployment: Deployment) -> None:
    lin = deployment.enrol("Lin-Manuel Miranda", require_data(HAMILTON / "lin-manuel-miranda.png"))
    obama = deployment.enrol("Obama", require_data(HAMILTON / "obama.jpg"))
    auth = deployment.authorise([obama], ["stage"])
    r = deployment.watch(require_data(CLIP), "stage", auth, "--json", "--fps", "2")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.strip() == ""  # Lin-Manuel Miranda sings in the clip, but this authorisation names only Obama
    assert rows(deployment.home, "select watchlist_size, alerts_raised, status from watch_runs") == [
        (1, 0, "completed")
    ]
    assert lin != obama


@pytest.mark.slow
def test_the_session_stops_when_the_window_ends(deployment: Deployment) -> None:
    pid = deployment.enrol("Obama", require_data(HAMILTON / "obama.jpg"))
    auth = deployment.authorise([pid], ["stage"], end="2026-11-20T10:00:03+00:00")  # 3 s after RECORDED_AT
    assert RECORDED_AT == "2026-11-20T10:00:00+00:00"
    r = deployment.watch(require_data(CLIP), "stage", auth, "--fps", "2")
    assert r.exit_code == 3 and "window has ended" in r.stderr
    ((status, reason, frames),) = rows(deployment.home, "select status, stop_reason, frames_read from watch_runs")
    assert status == "stopped" and "window" in str(reason)
    assert 0 < int(str(frames)) < 275  # the 9 s clip has 275 frames; about 3 s of it were read


def urgent_authorisation(dep: Deployment, pid: str, camera: str = "door") -> str:
    return dep.authorise([pid], [camera], grant=False, urgent="child missing since this morning")


def test_an_urgent_request_allows_watching_for_24_hours(deployment: Deployment, tmp_path: Path) -> None:
    pid = deployment.enrol("Obama", require_data(HAMILTON / "obama.jpg"))
    auth = urgent_authorisation(deployment, pid)
    probe = folder(tmp_path, "probe", "obama2.jpg")
    assert len(watch_alerts(deployment, probe, "door", auth)) == 1
    (start,) = rows(deployment.home, "select details from audit_log where action = 'watch.start'")
    assert '"urgent":true' in str(start[0])

    execute(deployment.home, "update authorisations set requested_at = datetime('now', '-25 hours')")
    r = deployment.watch(probe, "door", auth)
    assert r.exit_code == 5 and "not granted within 24 hours" in r.stderr
    assert rows(deployment.home, "select count(*) from watch_runs") == [(1,)]


def test_rejecting_an_urgent_start_deletes_what_it_produced(deployment: Deployment, tmp_path: Path) -> None:
    home = deployment.home
    pid = deployment.enrol("Obama", require_data(HAMILTON / "obama.jpg"))
    auth = urgent_authorisation(deployment, pid)
    probe = folder(tmp_path, "probe", "obama2.jpg")
    first = watch_alerts(deployment, probe, "door", auth)
    second = watch_alerts(deployment, probe, "door", auth)
    alerts = [str(a["id"]) for a in first + second]
    assert len(alerts) == 2
    evidence = [Path(str(a["evidence_path"])) for a in first + second]
    assert all(p.is_file() for p in evidence)
    assert deployment.run("op-a", "alerts", "confirm", alerts[0]).exit_code == 0

    # An alert of another, granted authorisation must survive the rejection.
    other = deployment.authorise([pid], ["gate"])
    kept = watch_alerts(deployment, probe, "gate", other)
    assert len(kept) == 1

    r = deployment.run("approver", "auth", "reject", auth, "--note", "not urgent")
    assert r.exit_code == 0, r.stderr
    assert rows(home, "select id from alerts") == [(kept[0]["id"],)]
    assert rows(home, "select count(*) from alert_reviews") == [(0,)]
    assert not any(p.exists() for p in evidence)
    assert files_under(home, "evidence") == [Path(str(kept[0]["evidence_path"]))]
    (rejection,) = rows(home, "select subject_id, details from audit_log where action = 'authorisation.reject'")
    assert rejection[0] == auth and '"alerts_deleted":2' in str(rejection[1])

    again = deployment.watch(probe, "door", auth)
    assert again.exit_code == 5 and "rejected" in again.stderr


def watch_clip_rechecking(
    dep: Deployment, monkeypatch: pytest.MonkeyPatch, auth: str, on_alert: Callable[[AlertView], None]
) -> WatchReport:
    """op-a watches the clip on camera "stage", the session re-reading its authorisation before every frame."""
    import izde.service.watching as watching

    monkeypatch.setattr(watching, "RECHECK_S", 0.0)
    with Izde(home=dep.home, token=dep.tokens["op-a"], pipeline={"analysis_fps": 2.0}) as operator:
        return operator.watch(
            str(require_data(CLIP)), "stage", auth, recorded_at=datetime.fromisoformat(RECORDED_AT), on_alert=on_alert
        )


@pytest.mark.slow
def test_a_rejection_stops_a_running_urgent_session(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    lin = deployment.enrol("Lin-Manuel Miranda", require_data(HAMILTON / "lin-manuel-miranda.png"))
    auth = urgent_authorisation(deployment, lin, "stage")
    seen: list[AlertView] = []

    def reject_on_first_alert(alert: AlertView) -> None:
        seen.append(alert)
        with Izde(home=deployment.home, token=deployment.tokens["approver"]) as approver:
            approver.decide_authorisation(auth, grant=False, note="the prosecutor refused")

    report = watch_clip_rechecking(deployment, monkeypatch, auth, reject_on_first_alert)
    assert len(seen) == 1 and seen[0].evidence_path is not None
    assert report.status == "stopped" and report.stop_reason == "the authorisation was rejected"
    assert report.frames_read < 275 and report.alerts == []
    assert rows(deployment.home, "select count(*) from alerts") == [(0,)]
    assert not seen[0].evidence_path.exists()


@pytest.mark.slow
def test_an_urgent_session_stops_when_24_hours_pass_without_a_grant(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    lin = deployment.enrol("Lin-Manuel Miranda", require_data(HAMILTON / "lin-manuel-miranda.png"))
    auth = urgent_authorisation(deployment, lin, "stage")
    seen: list[AlertView] = []

    def a_day_passes(alert: AlertView) -> None:
        seen.append(alert)  # the session started within the 24 hours; now they run out without a grant
        execute(deployment.home, "update authorisations set requested_at = datetime('now', '-24 hours', '-1 minute')")

    report = watch_clip_rechecking(deployment, monkeypatch, auth, a_day_passes)
    assert len(seen) == 1
    assert report.status == "stopped" and report.stop_reason == "the urgent start was not granted within 24 hours"
    assert report.frames_read < 275
    # Not a rejection: what was found stays for review (and goes if the authority later rejects the request).
    assert rows(deployment.home, "select count(*) from alerts") == [(1,)]
    (stop,) = rows(deployment.home, "select details from audit_log where action = 'watch.stop'")
    assert "not granted within 24 hours" in str(stop[0])


@pytest.mark.slow
def test_disabling_the_operator_stops_their_running_session(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    lin = deployment.enrol("Lin-Manuel Miranda", require_data(HAMILTON / "lin-manuel-miranda.png"))
    auth = deployment.authorise([lin], ["stage"])
    seen: list[AlertView] = []

    def op_a_leaves(alert: AlertView) -> None:
        seen.append(alert)
        with Izde(home=deployment.home, token=deployment.tokens["admin"]) as admin:
            admin.disable_user("op-a")

    report = watch_clip_rechecking(deployment, monkeypatch, auth, op_a_leaves)
    assert len(seen) == 1
    assert report.status == "stopped" and report.stop_reason == "the account of op-a was disabled"
    assert report.frames_read < 275
    # What was found before stays for review by the other operators.
    assert rows(deployment.home, "select count(*) from alerts") == [(1,)]
