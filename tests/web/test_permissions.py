"""Every API route × every role: allowed or denied, as the policy says. A new route fails the coverage check
until it is added to the table."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from izde.api import Izde
from izde.governance.roles import Role
from izde.vision.images import encode_jpeg, read_image_file
from izde.web.app import create_app
from tests.cli.helpers import PASSWORD
from tests.conftest import HAMILTON
from tests.store.factories import stored_alert
from tests.web.conftest import make_settings
from tests.web.site import INTRUDER, ROLES, Site, add_other_organisation, init_users

ALL = frozenset(ROLES)
NOBODY: frozenset[str] = frozenset()
OPS = frozenset({"op-a", "op-b"})
CURATE = frozenset({"curator"})
APPROVE = frozenset({"approver"})
AUDIT = frozenset({"auditor"})
ADMIN = frozenset({"admin"})
READ_AUTH = frozenset({"curator", "approver", "op-a", "op-b", "auditor"})
WATCHLIST = frozenset({"curator", "approver", "op-a", "op-b"})


@dataclass(frozen=True)
class World:
    person: str  # active
    proposed: str  # awaiting approval
    removable: str
    photo: str
    authorisation: str  # requested
    alert: str
    change: str  # proposed threshold change
    leaver: str  # a user for the administrators' routes to change


def tiny_jpeg() -> bytes:
    image, _ = read_image_file(HAMILTON / "obama.jpg")
    return encode_jpeg(image)


@pytest.fixture(scope="module")
def world(backend_url: str | None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, World]]:
    settings = make_settings(tmp_path_factory.mktemp("matrix-home"), backend_url)
    init_users(settings)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        site = Site(settings, client)
        site.login_all()
        person = site.enrol("Obama", HAMILTON / "obama.jpg")
        proposed = site.propose("Biden", HAMILTON / "biden.jpg").json()["id"]
        removable = site.enrol("Obama again", HAMILTON / "obama2.jpg")
        photo = site.ok("curator", "GET", f"/api/v1/persons/{person}")["photos"][0]["id"]
        site.camera("stage", HAMILTON / "short_hamilton_clip.mp4")
        authorisation = site.authorise([person], ["stage"], grant=False)
        change = site.ok("op-a", "POST", "/api/v1/threshold/changes", json={"value": 0.5, "reason": "r"})["id"]
        with Izde(settings, token=site.tokens["op-a"]) as service, service.db.transaction() as (session, stage):
            _, alert = stored_alert(session, stage, person, tiny_jpeg(), threshold=0.53)
        with Izde(settings, token=site.tokens["admin"]) as admin:
            admin.add_user("leaver", PASSWORD, frozenset({Role.OPERATOR}), "Police", None)
        add_other_organisation(site)
        yield site, World(person, proposed, removable, photo, authorisation, alert, change, "leaver")


NAMED_IN_BODY = {("POST", "/api/v1/authorisations"), ("POST", "/api/v1/users")}  # a person; the organisation


def upload(w: World) -> dict[str, Any]:
    form = {
        "display_name": "Someone",
        "category": "missing",
        "legal_basis": "Case 2",
        "issuing_authority": "Court",
        "expires_on": "2099-01-01",
        "provenance": "family_provided",
    }
    return {"data": form, "files": [("photos", ("b.jpg", (HAMILTON / "obama2.jpg").read_bytes(), "image/jpeg"))]}


AUTH_BODY = {
    "objective": "missing_person",
    "issuing_authority": "Court",
    "reference": "R-2",
    "starts_at": "2026-01-01T00:00:00+00:00",
    "ends_at": "2099-01-01T00:00:00+00:00",
    "covers_recorded": True,
    "cameras": ["stage"],
}

NEW_USER = {"username": "newcomer", "password": PASSWORD, "roles": ["operator"], "organisation": "Police"}

Case = tuple[str, str, Callable[[World], dict[str, Any]], frozenset[str]]
nothing: Callable[[World], dict[str, Any]] = lambda w: {}  # noqa: E731

# (method, path template, request arguments, roles allowed). Templates use the World's field names.
MATRIX: list[Case] = [
    ("POST", "/api/v1/auth/logout", nothing, ALL),
    ("GET", "/api/v1/auth/me", nothing, ALL),
    ("GET", "/api/v1/persons", nothing, WATCHLIST),
    ("POST", "/api/v1/persons", upload, CURATE),
    ("GET", "/api/v1/persons/{person}", nothing, WATCHLIST),
    (
        "POST",
        "/api/v1/persons/{person}/photos",
        lambda w: {k: v for k, v in upload(w).items() if k == "files"} | {"data": {"provenance": "official_record"}},
        CURATE,
    ),
    ("GET", "/api/v1/persons/{person}/photos/{photo}", nothing, WATCHLIST),
    ("POST", "/api/v1/persons/{proposed}/approve", nothing, APPROVE),
    ("POST", "/api/v1/persons/{proposed}/reject", lambda w: {"json": {"note": "no"}}, APPROVE),
    ("GET", "/api/v1/authorisations", nothing, READ_AUTH),
    ("POST", "/api/v1/authorisations", lambda w: {"json": {**AUTH_BODY, "persons": [w.person]}}, CURATE),
    ("GET", "/api/v1/authorisations/{authorisation}", nothing, READ_AUTH),
    ("POST", "/api/v1/authorisations/{authorisation}/decision", lambda w: {"json": {"grant": True}}, APPROVE),
    ("POST", "/api/v1/authorisations/{authorisation}/fria", lambda w: {"json": {"summary": "s"}}, CURATE | APPROVE),
    ("GET", "/api/v1/cameras", nothing, ALL),
    (
        "POST",
        "/api/v1/cameras",
        lambda w: {"json": {"name": "gate", "source": "rtsp://127.0.0.1:9/x"}},
        frozenset({"admin"}),
    ),
    ("GET", "/api/v1/cameras/stage", nothing, ALL),
    ("GET", "/api/v1/sessions", nothing, ALL),
    ("GET", "/api/v1/fleet", nothing, ALL),
    ("POST", "/api/v1/sessions", lambda w: {"json": {"camera": "stage", "authorisation": "f" * 32}}, OPS),
    ("GET", "/api/v1/sessions/nosuchsession", nothing, ALL),
    ("POST", "/api/v1/sessions/nosuchsession/stop", nothing, OPS),
    ("GET", "/api/v1/runs", nothing, ALL),
    ("GET", "/api/v1/runs/{alert}", nothing, ALL),
    ("GET", "/api/v1/alerts", nothing, OPS | {"auditor"}),
    ("GET", "/api/v1/alerts/stream", nothing, OPS | {"auditor"}),
    ("GET", "/api/v1/alerts/{alert}", nothing, OPS | {"auditor"}),
    ("GET", "/api/v1/alerts/{alert}/evidence", nothing, OPS),
    ("POST", "/api/v1/alerts/{alert}/review", lambda w: {"json": {"decision": "confirm"}}, OPS),
    ("GET", "/api/v1/audit", nothing, frozenset({"auditor"})),
    ("GET", "/api/v1/threshold", nothing, frozenset({"admin", "approver", "op-a", "op-b", "auditor"})),
    ("POST", "/api/v1/threshold/changes", lambda w: {"json": {"value": 0.52, "reason": "why"}}, OPS),
    ("POST", "/api/v1/threshold/changes/{change}/decision", lambda w: {"json": {"approve": False}}, APPROVE),
    ("GET", "/api/v1/reports", nothing, frozenset({"auditor"})),
    ("GET", "/api/v1/audit/verify", nothing, frozenset({"auditor"})),
    ("GET", "/api/v1/reports/use-log", nothing, frozenset({"auditor"})),
    ("GET", "/api/v1/reports/transparency", lambda w: {"params": {"from": "2026-01-01", "to": "2026-12-31"}}, AUDIT),
    (
        "GET",
        "/api/v1/reports/transparency.html",
        lambda w: {"params": {"from": "2026-01-01", "to": "2026-12-31"}},
        AUDIT,
    ),
    ("GET", "/api/v1/reports/fria", lambda w: {"params": {"authorisation": "f" * 32}}, CURATE | APPROVE | AUDIT),
    ("DELETE", "/api/v1/persons/{removable}", nothing, CURATE | APPROVE),
    ("GET", "/api/v1/users", nothing, ADMIN),
    ("POST", "/api/v1/users", lambda w: {"json": NEW_USER}, ADMIN),
    ("POST", "/api/v1/users/{leaver}/disable", nothing, ADMIN),
    ("POST", "/api/v1/users/{leaver}/enable", nothing, ADMIN),
    ("PUT", "/api/v1/users/{leaver}/roles", lambda w: {"json": {"roles": ["auditor"]}}, ADMIN),
    ("POST", "/api/v1/users/{leaver}/password", lambda w: {"json": {"password": "a long enough password"}}, ADMIN),
    ("GET", "/api/v1/searches", nothing, OPS | AUDIT),
    (
        "POST",
        "/api/v1/searches",
        lambda w: {"json": {"archive": "/nonexistent", "authorisation": w.authorisation, "case": "C-1"}},
        OPS,
    ),
    ("GET", "/api/v1/searches/nosuchsession", nothing, OPS | AUDIT),
    ("GET", "/api/v1/searches/nosuchsession/sightings", nothing, OPS | AUDIT),
    ("POST", "/api/v1/searches/nosuchsession/stop", nothing, OPS),
    ("POST", "/api/v1/searches/nosuchsession/resume", nothing, OPS),
]
PUBLIC = {("POST", "/api/v1/auth/login"), ("GET", "/api/v1/health")}


def test_every_api_route_is_in_the_matrix(world: tuple[Site, World]) -> None:
    site, _ = world
    paths = site.ok("admin", "GET", "/openapi.json")["paths"]
    routes = {(m.upper(), _star(p)) for p, ops in paths.items() for m in ops}
    api = {(m, p) for m, p in routes if p.startswith("/api/")} - {(m, _star(p)) for m, p in PUBLIC}
    assert api == {(m, _star(p)) for m, p, _, _ in MATRIX}


def _star(path: str) -> str:
    """Path parameters (and the table's fixed example values) as '*', to compare routes with the table."""
    examples = {"stage", "nosuchsession"}
    return "/".join("*" if part.startswith("{") or part in examples else part for part in path.split("/"))


@pytest.mark.parametrize(("method", "path", "args", "allowed"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_route_across_organisations(
    world: tuple[Site, World], method: str, path: str, args: Callable[[World], dict[str, Any]], allowed: frozenset[str]
) -> None:
    """A user of another organisation with the route's role: a record of the first is "not found" (never a
    refusal that confirms it exists), and lists and reports show none of the first's records. Runs before the
    role cases below, so every record still exists."""
    site, w = world
    if path.endswith("/stream") or path == "/api/v1/auth/logout":
        return  # the feed is read from a live server in tests/security/test_organisations.py; logout names nothing
    intruder = INTRUDER[sorted(allowed)[0]]
    r = site.call(intruder, method, path.format(**w.__dict__), **args(w))
    names_a_record = "{" in path or "/cameras/stage" in path or (method, path) in NAMED_IN_BODY
    if names_a_record:
        assert r.status_code == 404, f"{intruder}: {r.status_code} {r.text}"
        assert set(r.json()) == {"error", "hint"}
    else:
        assert r.status_code not in (401, 403) and r.status_code < 500, f"{intruder}: {r.status_code} {r.text}"
    first_organisations = [*(v for k, v in w.__dict__.items() if k != "leaver"), '"leaver"', '"op-a"', "Obama"]
    # A 404 repeats the reference it was given; any other answer names nothing of the first organisation.
    leaked = [secret for secret in first_organisations if secret in r.text] if r.status_code != 404 else []
    assert leaked == [], f"{method} {path} shows {intruder} the first organisation's {leaked}: {r.text[:500]}"


@pytest.mark.parametrize(("method", "path", "args", "allowed"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_route_by_role(
    world: tuple[Site, World], method: str, path: str, args: Callable[[World], dict[str, Any]], allowed: frozenset[str]
) -> None:
    site, w = world
    url = path.format(**w.__dict__)
    anonymous = site.client.request(method, url, **args(w))
    assert anonymous.status_code == 401, anonymous.text
    assert set(anonymous.json()) == {"error", "hint"}
    results = {}
    # Denied roles first: a refused request changes nothing, so the allowed ones still find the state they need.
    for role in sorted(ROLES, key=lambda r: r in allowed):
        if role in allowed and path.endswith("/stream"):
            continue  # an allowed stream never ends; tests/web/test_live.py reads it from a live server
        if role in allowed and path == "/api/v1/auth/logout":
            continue  # would end the session the other cases use; checked in test_api
        r = site.call(role, method, url, **args(w))
        results[role] = r.status_code
        if role in allowed:
            assert r.status_code not in (401, 403), f"{role} should be allowed: {r.status_code} {r.text}"
        else:
            assert r.status_code == 403, f"{role} should be denied: {r.status_code} {r.text}"
            assert "may not" in r.json()["error"]
