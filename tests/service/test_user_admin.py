"""User administration in the service, on SQLite and PostgreSQL: listing, disabling (sessions end at once),
enabling, roles, password resets, the guard rails that keep the deployment administrable, and the audit trail
(which never holds password material)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from izde.api import Izde
from izde.config import Settings
from izde.errors import Conflict, InvalidInput, NotFound
from izde.governance.admins import LastAdministrator
from izde.governance.roles import PermissionDenied, Role
from izde.governance.users import AuthenticationFailed
from izde.store.models import AuditEntry, Token, User
from tests.cli.helpers import PASSWORD
from tests.store.conftest import BACKENDS, fresh_pg_database, pg_copy

NEW_PASSWORD = "a new passphrase for op"


@dataclass
class Deployment:
    settings: Settings
    tokens: dict[str, str]

    def service(self, user: str | None = "admin") -> Izde:
        return Izde(self.settings, token=self.tokens[user] if user else None)

    def audit(self, action: str) -> list[dict[str, object]]:
        with Izde(self.settings) as s, s.db.session(readonly=True) as session:
            q = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
            return [{"actor": e.actor, "subject": e.subject_id, **json.loads(e.details)} for e in session.scalars(q)]


def _prepare(home: Path, url: str | None) -> dict[str, str]:
    """An administrator, an operator and an auditor, each logged in; returns their tokens."""
    settings = Settings(home=home, database_url=url)
    tokens: dict[str, str] = {}
    with Izde(settings) as service:
        service.initialise("admin", PASSWORD, "Police", True)
        tokens["admin"] = service.login("admin", PASSWORD)
        service.add_user("op", PASSWORD, frozenset({Role.OPERATOR}), "Police", None)
        service.add_user("aud", PASSWORD, frozenset({Role.AUDITOR}), "Police", None)
        service.actor = None
        for name in ("op", "aud"):
            tokens[name] = service.login(name, PASSWORD)
    return tokens


@pytest.fixture(scope="module", params=BACKENDS)
def _prepared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, str | None, dict[str, str]]]:
    """The deployment made once per backend (argon2 hashing is deliberately slow); each test gets a copy."""
    home = tmp_path_factory.mktemp("users-template")
    if request.param == "sqlite":
        yield home, None, _prepare(home, None)
        return
    with fresh_pg_database() as url:
        yield home, url, _prepare(home, url)


@pytest.fixture
def dep(_prepared: tuple[Path, str | None, dict[str, str]], tmp_path: Path) -> Iterator[Deployment]:
    template, url, tokens = _prepared
    home = tmp_path / "home"
    shutil.copytree(template, home)  # the audit key and head anchor, and on SQLite the database
    if url is None:
        yield Deployment(Settings(home=home), dict(tokens))
        return
    with pg_copy(url) as copy:
        yield Deployment(Settings(home=home, database_url=copy), dict(tokens))


def test_list_shows_roles_status_and_last_login_and_never_a_hash(dep: Deployment) -> None:
    with dep.service() as admin:
        admin.add_user("new", PASSWORD, frozenset({Role.CURATOR, Role.APPROVER}), "Council", False)
        rows = {u.username: u for u in admin.users()}
    assert list(rows) == sorted(rows) == ["admin", "aud", "new", "op"]
    new = rows["new"]
    assert new.roles == ("approver", "curator") and new.organisation == "Council" and new.active
    assert new.last_login is None and rows["op"].last_login is not None
    assert rows["op"].last_login >= rows["op"].created_at
    text = json.dumps([asdict(u) for u in rows.values()], default=str)
    assert "argon2" not in text and "password" not in text and "izde_" not in text
    assert dep.audit("user.list")[-1] == {"actor": "admin", "subject": None, "count": 4}


def test_disabling_refuses_login_and_existing_tokens_at_once(dep: Deployment) -> None:
    with dep.service("op") as op:
        assert op.actor is not None and op.actor.username == "op"
    with dep.service() as admin:
        view = admin.disable_user("op")
    assert view.active is False and view.username == "op"
    with pytest.raises(AuthenticationFailed, match=r"not logged in|disabled"):
        dep.service("op")
    with Izde(dep.settings) as s, pytest.raises(AuthenticationFailed, match="wrong user name or password"):
        s.login("op", PASSWORD)
    with Izde(dep.settings) as s, s.db.session(readonly=True) as session:
        user = session.scalar(select(User).where(User.username == "op"))
        assert user is not None and user.active is False
        assert all(t.revoked for t in session.scalars(select(Token).where(Token.user_id == user.id)))
    (entry,) = dep.audit("user.disable")
    assert entry == {"actor": "admin", "subject": view.id, "username": "op", "sessions_ended": 1}

    # Enabled again: a new login works, the old session stays ended.
    with dep.service() as admin:
        assert admin.enable_user("op").active is True
    with pytest.raises(AuthenticationFailed):
        dep.service("op")
    with Izde(dep.settings) as s:
        assert s.login("op", PASSWORD)
    assert [e["username"] for e in dep.audit("user.enable")] == ["op"]


def test_disable_and_enable_say_when_there_is_nothing_to_do(dep: Deployment) -> None:
    with dep.service() as admin:
        with pytest.raises(Conflict, match="op is already active"):
            admin.enable_user("op")
        admin.disable_user("op")
        with pytest.raises(Conflict, match="op is already disabled"):
            admin.disable_user("op")
        with pytest.raises(NotFound, match="no user 'nobody'") as e:
            admin.disable_user("nobody")
    assert e.value.hint == "list them with 'izde users list'"
    assert len(dep.audit("user.disable")) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.disable_user("admin"), "you cannot disable your own account"),
        (lambda s: s.set_roles("admin", frozenset({Role.AUDITOR})), "you cannot remove your own admin role"),
    ],
    ids=["disable", "demote"],
)
def test_an_admin_cannot_disable_or_demote_themselves(
    dep: Deployment, change: Callable[[Izde], object], message: str
) -> None:
    with dep.service() as admin, pytest.raises(PermissionDenied, match=message):
        change(admin)
    with dep.service() as admin:
        me = next(u for u in admin.users() if u.username == "admin")
    assert me.active and me.roles == ("admin",)
    assert dep.audit("user.disable") == dep.audit("user.roles") == []


def test_the_last_active_admin_is_never_disabled_or_demoted(dep: Deployment) -> None:
    with dep.service() as admin:
        admin.set_roles("aud", frozenset({Role.AUDITOR, Role.ADMIN}))
    with Izde(dep.settings) as s:
        dep.tokens["aud"] = s.login("aud", PASSWORD)
    # "admin" acts from a service opened before "aud" demotes it (a request in flight, a long-lived client):
    # its own admin role is gone by the time it tries to demote "aud", the only administrator left.
    stale = dep.service()
    try:
        with dep.service("aud") as aud:
            assert aud.set_roles("admin", frozenset({Role.OPERATOR})).roles == ("operator",)
        with pytest.raises(LastAdministrator, match="aud is the last active administrator"):
            stale.set_roles("aud", frozenset({Role.AUDITOR}))
        with pytest.raises(LastAdministrator):
            stale.disable_user("aud")
    finally:
        stale.close()
    with dep.service("aud") as aud:
        rows = {u.username: u for u in aud.users()}
    assert rows["aud"].active and "admin" in rows["aud"].roles
    # The refused tries left no trace but their refusal: one roles change (admin's demotion), no disable.
    assert [e["username"] for e in dep.audit("user.roles")] == ["aud", "admin"]
    assert dep.audit("user.disable") == []


def test_roles_apply_from_the_next_request(dep: Deployment) -> None:
    with dep.service() as admin:
        view = admin.set_roles("op", frozenset({Role.AUDITOR, Role.OPERATOR}))
    assert view.roles == ("auditor", "operator")
    with dep.service("op") as op:
        assert op.actor is not None and op.actor.roles == {Role.AUDITOR, Role.OPERATOR}
        assert op.audit_log(limit=1)  # an auditor's call, allowed with the new role and the same token
    (entry,) = dep.audit("user.roles")
    assert entry["before"] == ["operator"] and entry["after"] == ["auditor", "operator"]


def test_reset_password_ends_sessions_and_leaves_no_password_in_the_audit(dep: Deployment) -> None:
    with dep.service() as admin:
        with pytest.raises(InvalidInput, match="shorter than 12"):
            admin.reset_password("op", "short")
        admin.reset_password("op", NEW_PASSWORD)
    with pytest.raises(AuthenticationFailed):
        dep.service("op")
    with Izde(dep.settings) as s:
        with pytest.raises(AuthenticationFailed):
            s.login("op", PASSWORD)
        assert s.login("op", NEW_PASSWORD)
    (entry,) = dep.audit("user.password_reset")
    assert entry["username"] == "op" and entry["sessions_ended"] == 1
    with Izde(dep.settings) as s, s.db.session(readonly=True) as session:
        details = " ".join(session.scalars(select(AuditEntry.details)))
        password_hash = session.scalar(select(User.password_hash).where(User.username == "op"))
    assert password_hash is not None and password_hash.startswith("$argon2id$")
    for secret in (NEW_PASSWORD, PASSWORD, "short", "argon2", password_hash):
        assert secret not in details


def test_every_change_is_in_a_verifiable_audit_chain(dep: Deployment) -> None:
    with dep.service() as admin:
        admin.add_user("temp", PASSWORD, frozenset({Role.OPERATOR}), "Police", None)
        admin.set_roles("temp", frozenset({Role.CURATOR}))
        admin.reset_password("temp", NEW_PASSWORD)
        admin.disable_user("temp")
        admin.enable_user("temp")
    with dep.service("aud") as aud:
        actions = [e.action for e in aud.audit_log(limit=7)][::-1]
        assert aud.verify_audit().ok
    # Another user's password reset by an administrator also raises an entry for the auditors.
    assert actions[1:] == [
        "user.add",
        "user.roles",
        "user.password_reset",
        "security.alert",
        "user.disable",
        "user.enable",
    ]
