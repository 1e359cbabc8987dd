"""Two operators review each alert independently; only a confirmed alert gets an outcome."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import izde.service.alerts as alerts_service
from izde.governance.review import next_state
from tests.cli.helpers import Deployment, json_lines
from tests.conftest import HAMILTON, require_data
from tests.governance.support import folder, rows, watch_alerts


def alert_status(dep: Deployment, alert: str) -> object:
    return rows(dep.home, "select status from alerts where id = ?", alert)[0][0]


def test_two_person_review(deployment: Deployment, tmp_path: Path) -> None:
    dep = deployment
    pid = dep.enrol("Obama", require_data(HAMILTON / "obama.jpg"))
    auth = dep.authorise([pid], ["door"])
    probe = folder(tmp_path, "probe", "obama2.jpg")
    # Two sessions, two alerts (within one session the cooldown would silence the second).
    first = str(watch_alerts(dep, probe, "door", auth)[0]["id"])
    second = str(watch_alerts(dep, probe, "door", auth)[0]["id"])

    for user in ("curator", "auditor", "approver", "admin"):
        r = dep.run(user, "alerts", "confirm", first)
        assert r.exit_code == 5 and "alert.review" in r.stderr, (user, r.stderr)
    assert dep.run("op-a", "alerts", "outcome", first, "--true").exit_code == 2  # not confirmed yet

    r = dep.run("op-a", "alerts", "confirm", first, "--json")
    assert r.exit_code == 0 and json_lines(r.stdout)[0]["status"] == "pending"
    again = dep.run("op-a", "alerts", "confirm", first)
    assert again.exit_code == 5 and "different operator" in again.stderr
    flip = dep.run("op-a", "alerts", "reject", first)  # changing one's mind is not a second review either
    assert flip.exit_code == 5
    assert alert_status(dep, first) == "pending"
    r = dep.run("op-b", "alerts", "confirm", first, "--json")
    assert r.exit_code == 0 and json_lines(r.stdout)[0]["status"] == "confirmed"
    r = dep.run("op-a", "alerts", "outcome", first, "--true", "--json")
    assert r.exit_code == 0 and json_lines(r.stdout)[0]["status"] == "confirmed_true"

    r = dep.run("op-b", "alerts", "reject", second, "--note", "not him", "--json")
    assert r.exit_code == 0 and json_lines(r.stdout)[0]["status"] == "rejected"
    late = dep.run("op-a", "alerts", "confirm", second)
    assert late.exit_code == 2 and "already rejected" in late.stderr
    assert dep.run("op-a", "alerts", "outcome", second, "--false").exit_code == 2
    assert alert_status(dep, second) == "rejected"

    # Auditors read alerts but never see evidence; operators do, and that view is audited.
    shown = dep.run("auditor", "alerts", "show", first, "--json")
    assert shown.exit_code == 0 and json_lines(shown.stdout)[0]["evidence_path"] is None
    assert dep.run("auditor", "alerts", "export", first, "--out", str(tmp_path / "x.jpg")).exit_code == 5
    assert json_lines(dep.run("op-b", "alerts", "show", first, "--json").stdout)[0]["evidence_path"]
    views = rows(dep.home, "select actor, action from audit_log where action in ('alert.view', 'evidence.view')")
    assert views == [("auditor", "alert.view"), ("op-b", "evidence.view")]

    reviews = rows(dep.home, "select alert_id, decision from alert_reviews order by at")
    assert reviews == [(first, "confirm"), (first, "confirm"), (first, "outcome_true"), (second, "reject")]
    # Each review is in the audit chain: who decided what, and the state before and after.
    audited = rows(
        dep.home,
        "select actor, subject_id, details from audit_log where action = 'alert.review' order by seq",
    )
    assert [(a, s) for a, s, _ in audited] == [("op-a", first), ("op-b", first), ("op-a", first), ("op-b", second)]
    assert [json.loads(str(d))["after"] for _, _, d in audited] == [
        "pending",
        "confirmed",
        "confirmed_true",
        "rejected",
    ]


def test_a_second_review_racing_past_the_lock_is_refused_by_the_database(
    deployment: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dep = deployment
    auth = dep.authorise([dep.enrol("Obama", require_data(HAMILTON / "obama.jpg"))], ["door"])
    alert = str(watch_alerts(dep, folder(tmp_path, "probe", "obama2.jpg"), "door", auth)[0]["id"])
    assert dep.run("op-a", "alerts", "confirm", alert).exit_code == 0
    # As if op-a's second request had read the reviews before the first committed: the rule sees none of them,
    # and the unique key of a review (alert, person, stage) is what refuses it.
    monkeypatch.setattr(alerts_service, "next_state", lambda state, _, user, d: next_state(state, [], user, d))
    again = dep.run("op-a", "alerts", "confirm", alert)
    assert again.exit_code == 2 and "you already reviewed this alert" in again.stderr, again.stderr
    assert alert_status(dep, alert) == "pending"
    assert rows(dep.home, "select decision from alert_reviews where alert_id = ?", alert) == [("confirm",)]
