"""User administration over the API and the console (SQLite and PostgreSQL): list, add, disable (the user's
bearer token is refused on its next request), enable, roles, password resets; the guard rails as 403/409; and the
console's /users page for administrators only, with its changes behind the CSRF token."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from izde.web.deps import CSRF_HEADER
from tests.cli.helpers import PASSWORD
from tests.web.site import Site

NEW_PASSWORD = "a brand new passphrase"
HTML = {"Accept": "text/html"}


def relogin(site: Site, user: str, password: str = PASSWORD) -> None:
    r = site.client.post("/api/v1/auth/login", json={"username": user, "password": password})
    assert r.status_code == 200, r.text
    site.tokens[user] = r.json()["token"]


@pytest.fixture
def op_b_restored(site: Site) -> Iterator[None]:
    """op-b as the other tests expect them: an active operator with the usual password and a valid token."""
    yield
    users = {u["username"]: u for u in site.ok("admin", "GET", "/api/v1/users")}
    if not users["op-b"]["active"]:
        site.ok("admin", "POST", "/api/v1/users/op-b/enable")
    site.ok("admin", "PUT", "/api/v1/users/op-b/roles", json={"roles": ["operator"]})
    site.ok("admin", "POST", "/api/v1/users/op-b/password", json={"password": PASSWORD})
    relogin(site, "op-b")


def test_list_users_without_secrets(site: Site) -> None:
    rows = site.ok("admin", "GET", "/api/v1/users")
    assert [u["username"] for u in rows] == ["admin", "approver", "auditor", "curator", "op-a", "op-b"]
    op = next(u for u in rows if u["username"] == "op-a")
    assert set(op) == {"id", "username", "roles", "organisation", "active", "created_at", "last_login"}
    assert op["roles"] == ["operator"] and op["active"] is True and op["last_login"] is not None
    text = site.call("admin", "GET", "/api/v1/users").text
    assert "argon2" not in text and "izde_" not in text and "password" not in text
    denied = site.call("op-a", "GET", "/api/v1/users")
    assert denied.status_code == 403 and "may not user.admin" in denied.json()["error"]


def test_add_user_and_its_refusals(site: Site) -> None:
    body: dict[str, Any] = {"username": "newbie", "password": PASSWORD, "roles": ["operator"], "organisation": "Police"}
    created = site.call("admin", "POST", "/api/v1/users", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["username"] == "newbie" and created.json()["last_login"] is None
    assert site.call("admin", "POST", "/api/v1/users", json=body).status_code == 409
    short = site.call("admin", "POST", "/api/v1/users", json={**body, "username": "other", "password": "short"})
    assert short.status_code == 422 and "shorter than 12" in short.json()["error"]
    role = site.call("admin", "POST", "/api/v1/users", json={**body, "username": "other", "roles": ["root"]})
    assert role.status_code == 422
    org = site.call("admin", "POST", "/api/v1/users", json={**body, "username": "other", "organisation": "Nowhere"})
    assert org.status_code == 422 and "does not exist" in org.json()["error"]
    council = {**body, "username": "clerk", "organisation": "Council", "law_enforcement": False}
    assert site.ok("admin", "POST", "/api/v1/users", json=council)["organisation"] == "Council"


@pytest.mark.usefixtures("op_b_restored")
def test_disabled_users_token_is_refused_on_its_next_request(site: Site) -> None:
    assert site.call("op-b", "GET", "/api/v1/alerts").status_code == 200
    view = site.ok("admin", "POST", "/api/v1/users/op-b/disable")
    assert view["active"] is False
    refused = site.call("op-b", "GET", "/api/v1/alerts")
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
    login = site.client.post("/api/v1/auth/login", json={"username": "op-b", "password": PASSWORD})
    assert login.status_code == 401
    assert site.call("admin", "POST", "/api/v1/users/op-b/disable").status_code == 409
    assert site.ok("admin", "POST", "/api/v1/users/op-b/enable")["active"] is True
    assert site.call("op-b", "GET", "/api/v1/alerts").status_code == 401  # old sessions stay ended
    relogin(site, "op-b")
    assert site.call("op-b", "GET", "/api/v1/alerts").status_code == 200


def test_admins_cannot_disable_or_demote_themselves(site: Site) -> None:
    own = site.call("admin", "POST", "/api/v1/users/admin/disable")
    assert own.json() == {"error": "you cannot disable your own account", "hint": "another administrator must do it"}
    assert own.status_code == 403
    demote = site.call("admin", "PUT", "/api/v1/users/admin/roles", json={"roles": ["auditor"]})
    assert demote.status_code == 403 and "own admin role" in demote.json()["error"]
    assert site.call("admin", "POST", "/api/v1/users/nobody/enable").status_code == 404
    empty = site.call("admin", "PUT", "/api/v1/users/op-a/roles", json={"roles": []})
    assert empty.status_code == 422


@pytest.mark.usefixtures("op_b_restored")
def test_roles_and_password_reset(site: Site) -> None:
    roles = site.ok("admin", "PUT", "/api/v1/users/op-b/roles", json={"roles": ["operator", "auditor"]})
    assert roles["roles"] == ["auditor", "operator"]
    assert site.call("op-b", "GET", "/api/v1/audit").status_code == 200  # the same token, the new role
    site.ok("admin", "POST", "/api/v1/users/op-b/password", json={"password": NEW_PASSWORD})
    assert site.call("op-b", "GET", "/api/v1/auth/me").status_code == 401
    relogin(site, "op-b", NEW_PASSWORD)
    actions = [e["action"] for e in site.ok("auditor", "GET", "/api/v1/audit", params={"limit": 20})]
    assert {"user.roles", "user.password_reset"} <= set(actions)
    details = site.call("auditor", "GET", "/api/v1/audit", params={"limit": 50}).text
    assert NEW_PASSWORD not in details and "argon2" not in details


def test_users_page_for_admins_only_and_changes_need_the_csrf_token(site: Site) -> None:
    jar, csrf = site.console_session("admin")
    page = site.client.get("/users", cookies=jar, headers=HTML)
    assert page.status_code == 200 and 'href="/users"' in page.text
    assert 'data-action="/api/v1/users/op-a/disable"' in page.text
    assert 'data-action="/api/v1/users/admin/disable"' not in page.text  # no button to disable oneself
    forged = site.client.post("/api/v1/users/op-a/disable", cookies=jar)
    assert forged.status_code == 403 and "CSRF" in forged.json()["error"]
    assert {u["username"]: u["active"] for u in site.ok("admin", "GET", "/api/v1/users")}["op-a"] is True
    missing = site.client.post("/api/v1/users/nobody/disable", cookies=jar, headers={CSRF_HEADER: csrf})
    assert missing.status_code == 404  # past the CSRF and permission checks, to the lookup

    op_jar, _ = site.console_session("op-a")
    refused = site.client.get("/users", cookies=op_jar, headers=HTML)
    assert refused.status_code == 403 and "may not user.admin" in refused.text and "<html" in refused.text
    assert 'href="/users"' not in site.client.get("/cameras", cookies=op_jar, headers=HTML).text
