"""The governance commands as people type them: audit, risk, purge, threshold changes, reports (no video)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.cli.helpers import Deployment, json_lines
from tests.conftest import HAMILTON, require_data


def sql(home: Path, statement: str) -> None:
    with sqlite3.connect(home / "izde.db") as con:
        con.execute(statement)


def test_audit_verify_and_tamper(deployment: Deployment) -> None:
    ok = deployment.run("auditor", "audit", "verify", "--head", "--json")
    assert ok.exit_code == 0, ok.stderr
    result = json.loads(ok.stdout)
    assert result["ok"] is True and result["count"] > 5
    human = deployment.run("auditor", "audit", "verify")
    assert human.exit_code == 0 and "intact" in human.stderr

    sql(deployment.home, "UPDATE audit_log SET actor = 'nobody' WHERE seq = 3")
    broken = deployment.run("auditor", "audit", "verify")
    assert broken.exit_code == 6 and "seq 3: edited" in broken.stderr

    denied = deployment.run("op-a", "audit", "verify")
    assert denied.exit_code == 5 and "audit.read" in denied.stderr


def test_audit_verify_head_finds_truncation(deployment: Deployment) -> None:
    assert deployment.run("auditor", "audit", "verify").exit_code == 0
    sql(deployment.home, "DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)")
    assert deployment.run("auditor", "audit", "verify").exit_code == 0  # consistent without the anchor
    r = deployment.run("auditor", "audit", "verify", "--head", "--json")
    assert r.exit_code == 6
    (problem,) = json.loads(r.stdout)["problems"]
    # The verification in between continued after the recorded head, so the deleted entry is a gap in the chain.
    assert problem["kind"] == "deleted" and "missing" in problem["message"]


def test_audit_export(deployment: Deployment, tmp_path: Path) -> None:
    out = tmp_path / "audit.jsonl"
    r = deployment.run("auditor", "audit", "export", "--out", out, "--json")
    assert r.exit_code == 0, r.stderr
    manifest = json.loads(r.stdout)
    lines = json_lines(out.read_text())
    assert manifest["count"] == len(lines) and manifest["last_seq"] == lines[-1]["seq"]
    assert json.loads((tmp_path / "audit.manifest.json").read_text())["sha256"] == manifest["sha256"]
    bad = deployment.run("auditor", "audit", "export", "--out", out, "--from", "2026-01-01")
    assert bad.exit_code == 2 and "time zone" in bad.stderr


def test_audit_verify_with_an_export_as_witness(deployment: Deployment, tmp_path: Path) -> None:
    out = tmp_path / "audit.jsonl"
    assert deployment.run("auditor", "audit", "export", "--out", out).exit_code == 0
    witness = tmp_path / "audit.manifest.json"
    ok = deployment.run("auditor", "audit", "verify", "--witness", witness)
    assert ok.exit_code == 0 and "1 witness(es) match" in ok.stderr

    seq = json.loads(witness.read_text())["last_seq"]
    sql(deployment.home, f"UPDATE audit_log SET hash = '{'0' * 64}' WHERE seq = {seq}")
    broken = deployment.run("auditor", "audit", "verify", "--witness", witness, "--json")
    assert broken.exit_code == 6
    assert ("rewritten", seq) in {(p["kind"], p["seq"]) for p in json.loads(broken.stdout)["problems"]}

    missing = deployment.run("auditor", "audit", "verify", "--witness", tmp_path / "nope.json")
    assert missing.exit_code == 2 and "cannot read the witness" in missing.stderr
    (tmp_path / "bad.json").write_text("{}")
    bad = deployment.run("auditor", "audit", "verify", "--witness", tmp_path / "bad.json")
    assert bad.exit_code == 2 and "izde audit export" in " ".join(bad.stderr.split())


def test_risk_show(deployment: Deployment) -> None:
    pid = deployment.enrol("Obama", require_data(HAMILTON / "obama.jpg"))
    auth = deployment.authorise([pid], ["c"], fria=False, grant=False)
    r = deployment.run("auditor", "risk", "show", auth, "--json")
    assert r.exit_code == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["class"] == "high" and got["allowed_now"] is False
    assert any("Art. 27" in m for m in got["missing"]) and any("competent authority" in m for m in got["missing"])
    emotion = deployment.run("op-a", "risk", "show", auth[:10], "--feature", "emotion")
    assert emotion.exit_code == 0 and "refused" in emotion.stdout and "5(1)(f)" in emotion.stdout
    assert deployment.run("admin", "risk", "show", auth).exit_code == 5


def test_auth_show_gives_the_recorded_impact_assessment(deployment: Deployment) -> None:
    pid = deployment.enrol("Obama", require_data(HAMILTON / "obama.jpg"))
    auth = deployment.authorise([pid], ["c"], grant=False)  # the curator records "FRIA on file, ref F-1"
    human = deployment.run("auditor", "auth", "show", auth)
    assert human.exit_code == 0 and "FRIA by curator at " in human.stdout and "ref F-1" in human.stdout
    (view,) = json_lines(deployment.run("op-a", "auth", "show", auth, "--json").stdout)
    assert view["fria_recorded"] is True and view["fria"]["summary"] == "FRIA on file, ref F-1"
    assert view["fria"]["recorded_by"] == "curator" and view["fria"]["document_sha256"] is None


def test_purge_needs_admin(deployment: Deployment) -> None:
    r = deployment.run("admin", "purge", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout) == {
        "rejected_alerts": 0,
        "unconfirmed_alerts": 0,
        "confirmed_alerts": 0,
        "expired_persons": 0,
        "runs": 0,
        "audit_entries": 0,
        "ungranted_searches": 0,
    }
    assert deployment.run("op-a", "purge").exit_code == 5


def test_threshold_change_needs_two_people(deployment: Deployment) -> None:
    p = deployment.run("op-a", "threshold", "propose", "0.5", "--reason", "benchmark B-7", "--json")
    assert p.exit_code == 0, p.stderr
    change = json.loads(p.stdout)
    assert change["status"] == "proposed" and change["value"] == 0.5
    assert deployment.run("op-b", "threshold", "approve", change["id"]).exit_code == 5  # operators cannot approve
    a = deployment.run("approver", "threshold", "approve", change["id"][:8], "--json")
    assert a.exit_code == 0 and json.loads(a.stdout)["status"] == "approved"
    again = deployment.run("approver", "threshold", "reject", change["id"])
    assert again.exit_code == 2 and "already approved" in again.stderr
    q = deployment.run("op-b", "threshold", "propose", "0.45", "--reason", "fewer false alerts", "--json")
    assert deployment.run("approver", "threshold", "reject", json.loads(q.stdout)["id"]).exit_code == 0
    history = json_lines(deployment.run("auditor", "threshold", "history", "--json").stdout)
    assert [h["status"] for h in history] == ["rejected", "approved"]
    assert deployment.run("op-a", "threshold", "propose", "0.5").exit_code == 2  # --reason is required


def test_empty_transparency_report(deployment: Deployment, tmp_path: Path) -> None:
    year = ("--from", "2026-01-01", "--to", "2026-12-31")
    r = deployment.run("auditor", "report", "transparency", *year, "-o", tmp_path)
    assert r.exit_code == 0, r.stderr
    data = json.loads((tmp_path / "transparency.json").read_text())
    assert data["total"]["alerts"] == 0 and data["total"]["false_alert_rate"] is None and data["cameras"] == 0
    assert (tmp_path / "transparency.html").read_text().startswith("<!DOCTYPE html>")
    backwards = deployment.run(
        "auditor", "report", "transparency", "--from", "2026-02-01", "--to", "2026-01-01", "-o", tmp_path
    )
    assert backwards.exit_code == 2 and "before" in backwards.stderr
    assert deployment.run("op-a", "report", "use-log").exit_code == 5
