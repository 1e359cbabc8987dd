"""The API on a real database (SQLite and PostgreSQL): authentication, uploads, errors, the review flow on
alerts raised by a real pipeline run, and what is audited."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from izde.web.app import create_app
from izde.web.deps import COOKIE, CSRF_HEADER
from tests.cli.helpers import PASSWORD
from tests.conftest import HAMILTON, require_data
from tests.web.site import Site

HTML = {"Accept": "text/html"}


def audit_actions(site: Site, **params: Any) -> list[str]:
    return [e["action"] for e in site.ok("auditor", "GET", "/api/v1/audit", params={"limit": 200, **params})]


def test_login_me_and_bad_credentials(site: Site) -> None:
    me = site.ok("op-a", "GET", "/api/v1/auth/me")
    assert me == {"username": "op-a", "roles": ["operator"], "organisation": "Police", "law_enforcement": True}
    bad = site.client.post("/api/v1/auth/login", json={"username": "op-a", "password": "wrong password!"})
    assert bad.status_code == 401 and bad.json()["error"] == "wrong user name or password"
    assert site.call(None, "GET", "/api/v1/persons", headers={"Authorization": "Basic eDp5"}).status_code == 401
    assert site.call(None, "GET", "/api/v1/persons", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_login_is_rate_limited_per_user_and_address(site: Site) -> None:
    limit = site.settings.security.login_attempts
    for _ in range(limit):
        r = site.client.post("/api/v1/auth/login", json={"username": "auditor", "password": "not the password"})
        assert r.status_code == 401
    blocked = site.client.post("/api/v1/auth/login", json={"username": "auditor", "password": PASSWORD})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert blocked.json() == {
        "error": "too many failed logins for auditor from this address",
        "hint": f"try again in {blocked.headers['Retry-After']} s",
    }
    # Another user from the same address is not affected.
    other = site.client.post("/api/v1/auth/login", json={"username": "op-b", "password": PASSWORD})
    assert other.status_code == 200
    # The count is kept in the database: another server on it (or this one restarted) refuses as well.
    with TestClient(create_app(site.settings), base_url="http://127.0.0.1") as second_server:
        again = second_server.post("/api/v1/auth/login", json={"username": "auditor", "password": PASSWORD})
        assert again.status_code == 429 and int(again.headers["Retry-After"]) > 0
    # The console's login form says when to try again.
    form = site.client.post("/login", data={"username": "auditor", "password": PASSWORD}, follow_redirects=False)
    assert form.status_code == 429 and "too many failed logins" in form.text and "try again in" in form.text


def test_logout_revokes_the_token(site: Site) -> None:
    token = site.ok("op-b", "POST", "/api/v1/auth/login", json={"username": "op-b", "password": PASSWORD})["token"]
    h = {"Authorization": f"Bearer {token}"}
    assert site.client.post("/api/v1/auth/logout", headers=h).status_code == 204
    assert site.client.get("/api/v1/auth/me", headers=h).status_code == 401


def test_cookie_session_needs_the_csrf_token_for_changes(site: Site) -> None:
    r = site.client.post(
        "/login", data={"username": "curator", "password": PASSWORD, "next": "/watchlist"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/watchlist"
    cookie = r.cookies[COOKIE]
    set_cookie = r.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=strict" in set_cookie
    jar = {COOKIE: cookie}
    assert site.client.get("/api/v1/auth/me", cookies=jar).json()["username"] == "curator"
    body = {"summary": "x"}
    refused = site.client.post("/api/v1/authorisations/nope/fria", json=body, cookies=jar)
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]
    page = site.client.get("/watchlist", cookies=jar, headers={"Accept": "text/html"})
    csrf = page.text.split('name="csrf-token" content="')[1].split('"')[0]
    allowed = site.client.post("/api/v1/authorisations/nope/fria", json=body, cookies=jar, headers={CSRF_HEADER: csrf})
    assert allowed.status_code == 404  # past the CSRF and permission checks, to the lookup
    site.client.cookies.clear()


def test_login_page_refuses_open_redirects(site: Site) -> None:
    r = site.client.post(
        "/login", data={"username": "op-a", "password": PASSWORD, "next": "//evil.example/x"}, follow_redirects=False
    )
    assert r.headers["location"] == "/"  # the home page, which sends each role to its first page
    site.client.cookies.clear()


def test_pages_send_anonymous_visitors_to_login(site: Site) -> None:
    r = site.client.get("/alerts", headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/alerts"


def test_uploads_refused_when_not_images_or_too_large(site: Site) -> None:
    form = {
        "display_name": "X",
        "category": "wanted",
        "legal_basis": "W",
        "issuing_authority": "C",
        "expires_on": "2099-01-01",
        "provenance": "official_record",
    }
    text = site.call(
        "curator",
        "POST",
        "/api/v1/persons",
        data=form,
        files=[("photos", ("a.jpg", b"just text, not a photo", "image/jpeg"))],
    )
    assert text.status_code == 415 and "not an image" in text.json()["error"]
    big = b"\xff\xd8\xff" + b"\0" * (site.settings.web.max_upload_bytes + 10)
    large = site.call("curator", "POST", "/api/v1/persons", data=form, files=[("photos", ("b.jpg", big, "image/jpeg"))])
    assert large.status_code == 413
    scraped = site.call(
        "curator",
        "POST",
        "/api/v1/persons",
        data={**form, "provenance": "social_media"},
        files=[("photos", ("c.jpg", (HAMILTON / "obama.jpg").read_bytes(), "image/jpeg"))],
    )
    assert scraped.status_code == 422
    two = site.call(
        "curator",
        "POST",
        "/api/v1/persons",
        data=form,
        files=[("photos", ("t.jpg", require_data(HAMILTON / "two_people.jpg").read_bytes(), "image/jpeg"))],
    )
    assert two.status_code == 422 and two.json()["error"]


def test_errors_are_json_with_the_right_status(site: Site) -> None:
    bad_json = site.call(
        "approver",
        "POST",
        "/api/v1/threshold/changes/x/decision",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert bad_json.status_code == 400 and bad_json.json()["error"]
    missing = site.call("approver", "POST", "/api/v1/threshold/changes/x/decision", json={})
    assert missing.status_code == 422 and "approve" in missing.json()["error"]
    assert site.call("approver", "GET", "/api/v1/persons/doesnotexist").status_code == 404
    assert site.call("approver", "GET", "/api/v1/nowhere").json() == {"error": "Not Found", "hint": None}


def test_watchlist_and_four_eyes(site: Site) -> None:
    r = site.propose("Alex Lacamoire", require_data(HAMILTON / "alex-lacamoire.png"))
    assert r.status_code == 201
    person = r.json()
    assert person["status"] == "proposed" and "template" not in r.text and "path" not in r.text
    photo = person["photos"][0]
    assert photo["capture_date"] == "2020-05-01" and photo["provenance"] == "official_record"
    image = site.call("approver", "GET", photo["url"])
    assert image.status_code == 200 and image.headers["content-type"].startswith("image/")
    assert image.headers["cache-control"] == "no-store"
    assert "photo.view" in audit_actions(site, action="photo.view")
    approved = site.ok("approver", "POST", f"/api/v1/persons/{person['id']}/approve")
    assert approved["status"] == "active"
    again = site.call("approver", "POST", f"/api/v1/persons/{person['id']}/approve")
    assert again.status_code == 409


def test_threshold_change_needs_a_second_person(site: Site) -> None:
    before = site.ok("auditor", "GET", "/api/v1/threshold")["value"]
    change = site.ok("op-a", "POST", "/api/v1/threshold/changes", json={"value": 0.5, "reason": "calibration"})
    assert site.ok("auditor", "GET", "/api/v1/threshold")["value"] == before
    site.ok("approver", "POST", f"/api/v1/threshold/changes/{change['id']}/decision", json={"approve": True})
    assert site.ok("auditor", "GET", "/api/v1/threshold")["value"] == 0.5
    reset = site.ok("op-b", "POST", "/api/v1/threshold/changes", json={"value": before, "reason": "back"})
    site.ok("approver", "POST", f"/api/v1/threshold/changes/{reset['id']}/decision", json={"approve": True})


def test_authorisation_requested_then_decided_by_someone_else(site: Site) -> None:
    pid = site.ok("curator", "GET", "/api/v1/persons")[0]["id"]
    auth = site.authorise([pid], ["lobby"], grant=False)
    shown = site.ok("op-a", "GET", f"/api/v1/authorisations/{auth}")
    assert shown["status"] == "requested" and shown["fria_recorded"] is True
    granted = site.ok("approver", "POST", f"/api/v1/authorisations/{auth}/decision", json={"grant": True})
    assert granted["status"] == "granted"
    assert (
        site.call("approver", "POST", f"/api/v1/authorisations/{auth}/decision", json={"grant": False}).status_code
        == 409
    )
    assert [a["id"] for a in site.ok("auditor", "GET", "/api/v1/authorisations", params={"status": "granted"})]


@pytest.mark.slow
def test_real_run_alert_reviewed_by_two_operators(site: Site) -> None:
    run = site.watch_hamilton(camera="stage-api")
    session = run["session"]
    assert session["status"] == "completed", session
    assert session["frames_read"] == 275 and session["frames_analysed"] > 0 and session["alerts"] >= 1
    assert session["frames_dropped"] == 0 and session["health"] == "finished"
    cameras = {c["name"]: c for c in site.ok("auditor", "GET", "/api/v1/cameras")}
    assert cameras["stage-api"]["last_run_status"] == "completed" and "source" not in cameras["stage-api"]

    alerts = site.ok("op-b", "GET", "/api/v1/alerts", params={"camera": "stage-api", "status": "pending"})
    assert alerts and {a["person_name"] for a in alerts} == {"Lin-Manuel Miranda"}
    assert all(a["evidence_url"] is None for a in alerts)  # lists carry no evidence
    assert (
        site.ok("op-b", "GET", "/api/v1/alerts", params={"person": run["person"], "since": "2099-01-01T00:00:00"}) == []
    )
    alert = alerts[0]
    detail = site.ok("op-a", "GET", f"/api/v1/alerts/{alert['id']}")
    assert detail["candidate_only"] is True and detail["distance"] <= detail["threshold"]
    evidence = site.call("op-a", "GET", detail["evidence_url"])
    assert evidence.status_code == 200 and evidence.content[:3] == b"\xff\xd8\xff"
    auditor_view = site.ok("auditor", "GET", f"/api/v1/alerts/{alert['id']}")
    assert auditor_view["evidence_url"] is None

    first = site.ok("op-a", "POST", f"/api/v1/alerts/{alert['id']}/review", json={"decision": "confirm"})
    assert first["status"] == "pending"
    twice = site.call("op-a", "POST", f"/api/v1/alerts/{alert['id']}/review", json={"decision": "confirm"})
    assert twice.status_code == 403 and "different operator" in twice.json()["error"]
    second = site.ok("op-b", "POST", f"/api/v1/alerts/{alert['id']}/review", json={"decision": "confirm"})
    assert second["status"] == "confirmed"
    outcome = site.ok("op-a", "POST", f"/api/v1/alerts/{alert['id']}/review", json={"decision": "outcome_true"})
    assert outcome["status"] == "confirmed_true"
    reviews = site.ok("op-b", "GET", f"/api/v1/alerts/{alert['id']}")["reviews"]
    assert [r["decision"] for r in reviews] == ["confirm", "confirm", "outcome_true"]
    actions = audit_actions(site)
    assert {"evidence.view", "alert.review", "watch.start", "watch.stop", "alert.raised"} <= set(actions)
    runs = site.ok("auditor", "GET", "/api/v1/runs", params={"camera": "stage-api"})
    assert runs[0]["status"] == "completed" and runs[0]["alerts_raised"] == session["alerts"]
    report = site.ok("auditor", "GET", "/api/v1/reports")
    assert report["summary"]["faces_seen"] > 0


def test_session_refusals_come_back_from_the_start_call(site: Site) -> None:
    site.camera("hall", require_data(HAMILTON / "short_hamilton_clip.mp4"))
    pid = site.ok("curator", "GET", "/api/v1/persons")[0]["id"]
    no_fria = site.authorise([pid], ["hall"], fria=False)
    r = site.call(
        "op-a",
        "POST",
        "/api/v1/sessions",
        json={"camera": "hall", "authorisation": no_fria, "recorded_at": "2026-11-20T10:00:00+00:00"},
    )
    assert r.status_code == 403 and "impact assessment" in r.json()["error"]
    unknown = site.call("op-a", "POST", "/api/v1/sessions", json={"camera": "nowhere", "authorisation": no_fria})
    assert unknown.status_code == 404


def test_oversight_endpoints_for_auditors(site: Site) -> None:
    verified = site.ok("auditor", "GET", "/api/v1/audit/verify")
    assert verified["ok"] is True and verified["count"] > 0 and verified["problems"] == []
    period = {"from": "2026-01-01", "to": "2026-12-31"}
    figures = site.ok("auditor", "GET", "/api/v1/reports/transparency", params=period)
    assert figures["period"] == {"from": "2026-01-01", "to": "2026-12-31"}
    assert {"total", "per_camera", "per_month", "authorisations"} <= set(figures)
    page = site.call("auditor", "GET", "/api/v1/reports/transparency.html", params=period)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<html" in page.text.lower()
    assert isinstance(site.ok("auditor", "GET", "/api/v1/reports/use-log"), list)
    missing = site.call("auditor", "GET", "/api/v1/reports/fria", params={"authorisation": "f" * 32})
    assert missing.status_code == 404 and "authorisation" in missing.json()["error"]
    bad = site.call("auditor", "GET", "/api/v1/reports/transparency", params={"from": "yesterday", "to": "x"})
    assert bad.status_code == 422
    huge = site.call("auditor", "GET", "/api/v1/audit", params={"before": 2**63})  # past any database's integers
    assert huge.status_code == 422 and "before" in huge.json()["error"]


def test_authorisation_page_shows_the_recorded_impact_assessment(site: Site) -> None:
    person = site.enrol("Obama", HAMILTON / "obama.jpg")
    auth = site.authorise([person], ["gate"], grant=False, fria=False)
    jar, csrf = site.console_session("approver")
    before = site.client.get(f"/authorisations/{auth}", cookies=jar, headers=HTML).text
    assert 'id="fria-missing"' in before and 'id="fria-form"' in before
    summary = "FRIA 2026-31, filed with the DPO; residual risk low"
    recorded = site.client.post(
        f"/api/v1/authorisations/{auth}/fria", json={"summary": summary}, cookies=jar, headers={CSRF_HEADER: csrf}
    )
    assert recorded.status_code == 200 and recorded.json()["fria"]["recorded_by"] == "approver"
    after = site.client.get(f"/authorisations/{auth}", cookies=jar, headers=HTML).text
    assert summary in after and 'id="fria-by">approver<' in after
    # Roles that may not record one see it, without the form.
    op_jar, _ = site.console_session("op-a")
    shown = site.client.get(f"/authorisations/{auth}", cookies=op_jar, headers=HTML).text
    assert summary in shown and 'id="fria-form"' not in shown
