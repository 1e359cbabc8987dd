"""Nobody acts alone: approvals need a second person, and only approved entries can match."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from izde.api import Izde
from izde.errors import Conflict, NotFound
from izde.governance.roles import PermissionDenied, Role
from tests.cli.helpers import Deployment, json_lines
from tests.conftest import HAMILTON, require_data
from tests.governance.support import add_user, folder, rows, watch_alerts


def status(dep: Deployment, pid: str) -> object:
    return rows(dep.home, "select status from persons where id = ?", pid)[0][0]


def test_a_curator_cannot_approve(deployment: Deployment) -> None:
    r = deployment.propose("Obama", require_data(HAMILTON / "obama.jpg"))
    pid = str(json_lines(r.stdout)[0]["id"])
    refused = deployment.run("curator", "watchlist", "approve", pid)
    assert refused.exit_code == 5 and "watchlist.approve" in refused.stderr
    assert status(deployment, pid) == "proposed"
    # Turning a proposal down is the approver's decision too (the service's reject, which the console uses).
    with (
        Izde(home=deployment.home, token=deployment.tokens["curator"]) as curator,
        pytest.raises(PermissionDenied, match=r"watchlist\.approve"),
    ):
        curator.reject(pid, "not needed")
    assert status(deployment, pid) == "proposed"
    with Izde(home=deployment.home, token=deployment.tokens["approver"]) as approver:
        assert approver.reject(pid, "no legal basis").status == "rejected"
    assert status(deployment, pid) == "rejected"
    actions = rows(deployment.home, "select action, details from audit_log where subject_id = ? order by seq", pid)
    assert actions[-1][0] == "watchlist.reject" and "no legal basis" in str(actions[-1][1])


def test_nobody_approves_their_own_proposal(deployment: Deployment) -> None:
    add_user(deployment, "both", Role.CURATOR, Role.APPROVER)
    args = ["watchlist", "add", "Obama", "--category", "wanted", "--legal-basis", "W-1", "--authority", "Court"]
    args += ["--expires", "2099-01-01", "--provenance", "official_record", "--json"]
    r = deployment.run("both", *args, "--photo", str(require_data(HAMILTON / "obama.jpg")))
    assert r.exit_code == 0, r.stderr
    pid = str(json_lines(r.stdout)[0]["id"])

    own = deployment.run("both", "watchlist", "approve", pid)
    assert own.exit_code == 5 and "someone other than the person who proposed it" in own.stderr
    assert status(deployment, pid) == "proposed"
    assert deployment.run("approver", "watchlist", "approve", pid).exit_code == 0
    assert status(deployment, pid) == "active"


def test_nobody_grants_their_own_authorisation_request(deployment: Deployment) -> None:
    pid = deployment.enrol("Obama", require_data(HAMILTON / "obama.jpg"))
    add_user(deployment, "both", Role.CURATOR, Role.APPROVER)
    args = ["auth", "request", "--objective", "missing_person", "--authority", "Court", "--reference", "R-1"]
    args += ["--start", "2026-11-01T00:00:00+00:00", "--end", "2026-12-01T00:00:00+00:00", "--recorded"]
    r = deployment.run("both", *args, "--person", pid, "--camera", "door", "--json")
    assert r.exit_code == 0, r.stderr
    auth = str(json_lines(r.stdout)[0]["id"])

    own = deployment.run("both", "auth", "grant", auth)
    assert own.exit_code == 5 and "someone other than" in own.stderr
    assert rows(deployment.home, "select status from authorisations") == [("requested",)]
    assert deployment.run("approver", "auth", "grant", auth).exit_code == 0
    assert rows(deployment.home, "select status from authorisations") == [("granted",)]
    # A decision is recorded once, with who made it; a granted authorisation is not decided again (a late
    # rejection would delete what its sessions found).
    decided = rows(deployment.home, "select decided_by, decided_at is not null from authorisations")
    assert decided == [(user_id(deployment, "approver"), 1)]
    for verb in ("grant", "reject"):
        again = deployment.run("approver", "auth", verb, auth)
        assert again.exit_code == 2 and "already granted" in again.stderr, (verb, again.stderr)
    assert rows(deployment.home, "select status from authorisations") == [("granted",)]


def test_nobody_approves_their_own_threshold_change(deployment: Deployment) -> None:
    add_user(deployment, "both", Role.OPERATOR, Role.APPROVER)
    with Izde(home=deployment.home, token=deployment.tokens["both"]) as both:
        before = both.threshold()
        change = both.propose_threshold(0.45, "fewer false alerts on a long list")
        with pytest.raises(PermissionDenied, match="someone other than"):
            both.decide_threshold(change.id, approve=True)
        assert both.threshold() == before
    with Izde(home=deployment.home, token=deployment.tokens["approver"]) as approver:
        decided = approver.decide_threshold(change.id, approve=True)
        assert decided.status == "approved" and decided.decided_at is not None
        assert approver.threshold() == 0.45
        # Decided once, by whom it says; a decided change or an unknown one cannot be decided.
        with pytest.raises(Conflict, match="already approved"):
            approver.decide_threshold(change.id, approve=False)
        with pytest.raises(NotFound, match="no threshold change"):
            approver.decide_threshold("0" * 32, approve=True)
        assert approver.threshold() == 0.45
    assert rows(deployment.home, "select status, decided_by from setting_changes") == [
        ("approved", user_id(deployment, "approver"))
    ]
    decisions = "select actor, action from audit_log where action like 'threshold.%' and subject_id = ?"
    audited = rows(deployment.home, decisions, change.id)
    assert audited == [("both", "threshold.propose"), ("approver", "threshold.approve")]


def test_a_proposed_entry_never_matches(deployment: Deployment, tmp_path: Path) -> None:
    r = deployment.propose("Lin-Manuel Miranda", require_data(HAMILTON / "lin-manuel-miranda.png"))
    pid = str(json_lines(r.stdout)[0]["id"])
    auth = deployment.authorise([pid], ["stage"])
    # The very photo that was enrolled: it would match at distance ~0 if the entry could match at all.
    same = folder(tmp_path, "same", "lin-manuel-miranda.png")
    assert watch_alerts(deployment, same, "stage", auth) == []
    assert rows(deployment.home, "select watchlist_size, status from watch_runs") == [(0, "completed")]

    assert deployment.run("approver", "watchlist", "approve", pid).exit_code == 0
    assert len(watch_alerts(deployment, same, "stage", auth)) == 1


def test_new_photos_send_an_entry_back_for_approval(deployment: Deployment, tmp_path: Path) -> None:
    pid = deployment.enrol("Obama", require_data(HAMILTON / "obama.jpg"))
    auth = deployment.authorise([pid], ["door"])
    # Someone who may both propose and approve adds the photos: from now on the entry is their proposal.
    add_user(deployment, "both", Role.CURATOR, Role.APPROVER)
    photo = str(require_data(HAMILTON / "obama2.jpg"))
    r = deployment.run("both", "watchlist", "add-photo", pid, "--photo", photo, "--provenance", "official_record")
    assert r.exit_code == 0, r.stderr
    assert status(deployment, pid) == "proposed"
    assert rows(deployment.home, "select proposed_by, approved_by from persons") == [
        (user_id(deployment, "both"), None)
    ]
    with Izde(home=deployment.home, token=deployment.tokens["op-a"]) as operator:
        assert len(operator.gallery()[0]) == 0

    probe = folder(tmp_path, "probe", "obama.jpg")
    assert watch_alerts(deployment, probe, "door", auth) == []
    own = deployment.run("both", "watchlist", "approve", pid)
    assert own.exit_code == 5 and "someone other than the person who proposed it" in own.stderr
    assert status(deployment, pid) == "proposed"
    assert watch_alerts(deployment, probe, "door", auth) == []
    # Another person approves again, and only then does the entry match.
    assert deployment.run("approver", "watchlist", "approve", pid).exit_code == 0
    assert len(watch_alerts(deployment, probe, "door", auth)) == 1


def user_id(dep: Deployment, username: str) -> object:
    return rows(dep.home, "select id from users where username = ?", username)[0][0]


def test_rejecting_a_request_that_ran_nothing_deletes_nothing(deployment: Deployment) -> None:
    pid = deployment.enrol("Obama", require_data(HAMILTON / "obama.jpg"))
    auth = deployment.authorise([pid], ["door"], grant=False)
    r = deployment.run("approver", "auth", "reject", auth, "--note", "no legal basis")
    assert r.exit_code == 0, r.stderr
    (details,) = rows(deployment.home, "select details from audit_log where action = 'authorisation.reject'")
    assert json.loads(str(details[0])) == {"alerts_deleted": 0, "note": "no legal basis"}
