"""A running izde web app over a real database, with one logged-in user per role, driven through the API."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from izde.api import Izde
from izde.config import Settings
from izde.governance.roles import Role
from izde.web.deps import COOKIE
from tests.cli.helpers import PASSWORD, USERS
from tests.conftest import HAMILTON, require_data

ROLES = ("admin", *USERS)
RECORDED_AT = "2026-11-20T10:00:00+00:00"


def init_users(settings: Settings) -> None:
    with Izde(settings) as service:
        service.initialise("admin", PASSWORD, "Police", True)
        service.login("admin", PASSWORD)
        for name, roles in USERS.items():
            service.add_user(name, PASSWORD, frozenset(roles), "Police", None)


# One user per role in a second organisation on the same database: every route must hide the first's records.
INTRUDER = {
    "admin": "x-admin",
    "curator": "x-curator",
    "approver": "x-approver",
    "op-a": "x-operator",
    "op-b": "x-operator",
    "auditor": "x-auditor",
}


def add_other_organisation(site: Site) -> None:
    """'Other Police', started by the first organisation's administrator; its own administrator adds the rest."""
    with Izde(site.settings, token=site.tokens["admin"]) as admin:
        admin.add_user("x-admin", PASSWORD, frozenset({Role.ADMIN}), "Other Police", True)
    with Izde(site.settings) as other:
        other.login("x-admin", PASSWORD)
        for user, role in (("curator", Role.CURATOR), ("approver", Role.APPROVER), ("operator", Role.OPERATOR)):
            other.add_user(f"x-{user}", PASSWORD, frozenset({role}), "Other Police", None)
        other.add_user("x-auditor", PASSWORD, frozenset({Role.AUDITOR}), "Other Police", None)
    for user in sorted(set(INTRUDER.values())):
        r = site.client.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD})
        assert r.status_code == 200, r.text
        site.tokens[user] = r.json()["token"]


@dataclass
class Site:
    settings: Settings
    client: TestClient | httpx.Client
    tokens: dict[str, str] = field(default_factory=dict)

    def login_all(self) -> None:
        for user in ROLES:
            r = self.client.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD})
            assert r.status_code == 200, r.text
            self.tokens[user] = r.json()["token"]

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def call(self, user: str | None, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {**kw.pop("headers", {}), **(self.auth(user) if user else {})}
        return self.client.request(method, path, headers=headers, **kw)

    def ok(self, user: str, method: str, path: str, **kw: Any) -> Any:
        r = self.call(user, method, path, **kw)
        assert r.status_code < 300, f"{method} {path} as {user}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def console_session(self, user: str) -> tuple[dict[str, str], str]:
        """The console's session cookie for ``user`` (logged in through the login form) and its pages' CSRF
        token. Passed per request, so the client's own cookies stay as they were."""
        r = self.client.post("/login", data={"username": user, "password": PASSWORD}, follow_redirects=False)
        assert r.status_code == 303, r.text
        jar = {COOKIE: r.cookies[COOKIE]}
        self.client.cookies.clear()
        page = self.client.get("/cameras", cookies=jar, headers={"Accept": "text/html"})
        return jar, page.text.split('name="csrf-token" content="')[1].split('"')[0]

    def propose(self, name: str, photo: Path, user: str = "curator") -> httpx.Response:
        form = {
            "display_name": name,
            "category": "wanted",
            "legal_basis": "Warrant 1/2026",
            "issuing_authority": "Test Court",
            "expires_on": "2099-12-31",
            "provenance": "official_record",
            "capture_date": "2020-05-01",
        }
        files = [("photos", (photo.name, photo.read_bytes(), "image/jpeg"))]
        return self.call(user, "POST", "/api/v1/persons", data=form, files=files)

    def enrol(self, name: str, photo: Path) -> str:
        r = self.propose(name, require_data(photo))
        assert r.status_code == 201, r.text
        pid = str(r.json()["id"])
        self.ok("approver", "POST", f"/api/v1/persons/{pid}/approve")
        return pid

    def authorise(self, persons: list[str], cameras: list[str], *, grant: bool = True, fria: bool = True) -> str:
        body = {
            "objective": "serious_offence",
            "offence_code": "CC-105",
            "issuing_authority": "Prosecutor",
            "reference": "AUTH-1",
            "starts_at": "2026-11-01T00:00:00+00:00",
            "ends_at": "2026-12-31T00:00:00+00:00",
            "covers_live": False,
            "covers_recorded": True,
            "persons": persons,
            "cameras": cameras,
        }
        auth_id = str(self.ok("curator", "POST", "/api/v1/authorisations", json=body)["id"])
        if fria:
            self.ok("curator", "POST", f"/api/v1/authorisations/{auth_id}/fria", json={"summary": "FRIA F-1"})
        if grant:
            self.ok("approver", "POST", f"/api/v1/authorisations/{auth_id}/decision", json={"grant": True})
        return auth_id

    def camera(self, name: str, source: Path | str) -> None:
        r = self.call("admin", "POST", "/api/v1/cameras", json={"name": name, "source": str(source)})
        assert r.status_code in (201, 409), r.text

    def watch_hamilton(self, camera: str = "stage", fps: float = 2.0, timeout: float = 300.0) -> dict[str, Any]:
        """Lin-Manuel Miranda enrolled and authorised; a real session over the Hamilton clip, run to its end."""
        lin = self.enrol("Lin-Manuel Miranda", HAMILTON / "lin-manuel-miranda.png")
        self.camera(camera, require_data(HAMILTON / "short_hamilton_clip.mp4"))
        auth_id = self.authorise([lin], [camera])
        body = {"camera": camera, "authorisation": auth_id, "recorded_at": RECORDED_AT, "fps": fps}
        session = self.ok("op-a", "POST", "/api/v1/sessions", json=body)
        deadline = time.monotonic() + timeout
        while session["status"] in ("starting", "running"):
            assert time.monotonic() < deadline, session
            time.sleep(0.5)
            session = self.ok("op-a", "GET", f"/api/v1/sessions/{session['id']}")
        return {"session": session, "person": lin, "authorisation": auth_id}
