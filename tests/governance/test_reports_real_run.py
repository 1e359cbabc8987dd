"""Reports after a real watch session: the use record names what matched and who verified it; the public
transparency report and the impact-assessment pack hold no personal data."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from izde.config import Settings
from tests.cli.helpers import USERS, Deployment, json_lines
from tests.conftest import HAMILTON, require_data

pytestmark = pytest.mark.slow


def test_use_log_transparency_and_fria_after_a_real_run(deployment: Deployment, tmp_path: Path) -> None:
    dep = deployment
    photo = require_data(HAMILTON / "lin-manuel-miranda.png")
    lin = dep.enrol("Lin-Manuel Miranda", photo)
    auth = dep.authorise([lin], ["stage"])
    w = dep.watch(HAMILTON / "short_hamilton_clip.mp4", "stage", auth, "--fps", "2", "--json")
    assert w.exit_code == 0, w.stderr
    alerts = json_lines(w.stdout)
    assert alerts, "the enrolled person should be found at 2 fps"
    first = alerts[0]["id"]
    for op in ("op-a", "op-b"):
        assert dep.run(op, "alerts", "confirm", first).exit_code == 0

    # The use record of the session.
    with sqlite3.connect(dep.home / "izde.db") as con:
        run_id, wl_hash = con.execute("select id, watchlist_hash from watch_runs").fetchone()
        evidence = con.execute("select evidence_file from alerts where id = ?", (first,)).fetchone()[0]
    r = dep.run("auditor", "report", "use-log", "--run", run_id[:10], "--json")
    assert r.exit_code == 0, r.stderr
    (use,) = json_lines(r.stdout)
    assert use["run_id"] == run_id and use["camera"] == "stage" and use["status"] == "completed"
    assert use["started_at"] < use["ended_at"] and use["authorisation_id"] == auth
    assert (use["watchlist_hash"], use["watchlist_size"]) == (wl_hash, 1) and use[
        "threshold"
    ] == Settings().match.threshold
    assert use["started_by"] == "op-a"
    match = next(m for m in use["matches"] if m["alert_id"] == first)
    assert match["camera"] == "stage" and match["position_s"] >= 0 and match["evidence_file"] == evidence
    assert not Path(match["evidence_file"]).is_absolute() and match["status"] == "confirmed"
    assert [(v["user"], v["decision"]) for v in match["reviews"]] == [("op-a", "confirm"), ("op-b", "confirm")]
    assert "\\xff\\xd8" not in r.stdout and "base64" not in r.stdout  # references, never images
    human = dep.run("auditor", "report", "use-log")
    assert human.exit_code == 0 and "verified by: op-a confirm" in human.stdout
    out = tmp_path / "use.json"
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert dep.run("auditor", "report", "use-log", "--from", since, "--out", out).exit_code == 0
    assert [s["run_id"] for s in json.loads(out.read_text())["sessions"]] == [run_id]
    both = dep.run("auditor", "report", "use-log", "--run", run_id, "--from", since)
    assert both.exit_code == 2

    # The transparency report: figures, and nothing about anyone.
    today = datetime.now(UTC).date()
    pub = tmp_path / "pub"
    t = dep.run(
        "auditor", "report", "transparency", "--from", str(today - timedelta(days=1)), "--to", str(today), "-o", pub
    )
    assert t.exit_code == 0, t.stderr
    data = json.loads((pub / "transparency.json").read_text())
    total = data["total"]
    assert total["sessions"] == 1 and total["hours"] >= 0 and total["faces"] > 0
    assert total["alerts"] == len(alerts) and total["confirmed"] == 1
    assert total["false_alerts"] == 0 and total["false_alert_rate"] == 0.0
    assert data["cameras"] == 1 and list(data["per_camera"]) == ["stage"] and data["audit_chain_ok"] is True
    assert data["authorisations"]["granted"] == 1
    page = (pub / "transparency.html").read_text()
    assert page.count("data:image/png;base64,") == 3 and "<script" not in page and "http" not in page
    with sqlite3.connect(dep.home / "izde.db") as con:
        photo_files = [f for (f,) in con.execute("select file_name from reference_photos")]
        user_ids = [u for (u,) in con.execute("select id from users")]
    personal = ["Lin-Manuel", "Miranda", lin, auth, run_id, evidence, photo.name, *photo_files, *user_ids]
    personal += [a["id"] for a in alerts] + [*USERS, "admin", "AUTH-1", "Prosecutor"]
    for text in ((pub / "transparency.json").read_text(), page):
        leaked = [p for p in personal if p and p in text]
        assert leaked == [], leaked

    # The impact-assessment data pack.
    f = dep.run(
        "curator", "report", "fria", "--authorisation", auth, "-o", tmp_path / "fria", "--complaints", "Write to X"
    )
    assert f.exit_code == 0, f.stderr
    pack = json.loads((tmp_path / "fria.json").read_text())
    assert pack["classification"]["class"] == "high" and pack["classification"]["missing"] == []
    assert pack["people_affected"]["watchlisted_persons_by_category"] == {"wanted": 1}
    assert pack["people_affected"]["passers_by"]["faces_analysed_by_camera"]["stage"] == total["faces"]
    assert pack["period_and_frequency"]["sessions_so_far"] == 1 and pack["complaints"] == "Write to X"
    assert (
        str(Settings().match.threshold) in pack["risks"]["false_matches"]
        and pack["mitigations"]["retention_days"]["rejected_alerts_days"]
    )
    md = (tmp_path / "fria.md").read_text()
    assert md.startswith("# Fundamental-rights impact assessment") and "## Complaints\nWrite to X" in md
    for text in (md, json.dumps(pack)):
        assert "Lin-Manuel" not in text and lin not in text and evidence not in text
    assert dep.run("op-a", "report", "fria", "--authorisation", auth, "-o", tmp_path / "x").exit_code == 5

    # Every report was itself audited, and the chain is intact after all of it.
    v = dep.run("auditor", "audit", "verify", "--head", "--json")
    assert v.exit_code == 0, v.stdout
    with sqlite3.connect(dep.home / "izde.db") as con:
        actions = {a for (a,) in con.execute("select action from audit_log")}
    assert {"report.use_log", "report.transparency", "report.fria", "audit.verify"} <= actions
