"""``izde users`` as an administrator types it: list, disable a leaver (whose next command is refused), enable,
roles, password resets from standard input, and the refusals with their exit statuses."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from izde.cli.main import app
from tests.cli.helpers import PASSWORD, Deployment, izde, json_lines

NEW_PASSWORD = "op-b has a new passphrase"


def as_admin_with_input(dep: Deployment, text: str, *args: str) -> Result:
    """A command whose standard input is ``text`` (a password piped in, as a script would)."""
    env = {"IZDE_TOKEN": dep.tokens["admin"]}
    return CliRunner().invoke(app, ["--home", str(dep.home), *args], input=text, env=env, catch_exceptions=False)


def login(dep: Deployment, user: str, password: str, tmp_path: Path) -> Result:
    secret = tmp_path / f"{user}-password"
    secret.write_text(password + "\n")
    return izde(dep.home, "login", user, "--password-file", secret, "--print-token")


def test_list_as_table_and_json(deployment: Deployment) -> None:
    table = deployment.run("admin", "users", "list")
    assert table.exit_code == 0, table.stderr
    assert "Users (6)" in table.stdout and "op-b" in table.stdout and "operator" in table.stdout
    rows = {u["username"]: u for u in json_lines(deployment.run("admin", "users", "list", "--json").stdout)}
    assert sorted(rows) == ["admin", "approver", "auditor", "curator", "op-a", "op-b"]
    assert rows["op-b"]["roles"] == ["operator"] and rows["op-b"]["active"] is True
    assert rows["op-b"]["organisation"] == "Police" and rows["op-b"]["last_login"] is not None
    assert set(rows["op-b"]) == {"id", "username", "roles", "organisation", "active", "created_at", "last_login"}


def test_only_administrators_manage_users(deployment: Deployment) -> None:
    for args in (["list"], ["disable", "op-b"], ["roles", "op-b", "--role", "admin"]):
        r = deployment.run("op-a", "users", *args)
        assert r.exit_code == 5 and "may not user.admin" in r.stderr and r.stdout == ""


def test_a_disabled_user_is_refused_at_once_and_can_be_enabled(deployment: Deployment, tmp_path: Path) -> None:
    assert deployment.run("op-b", "whoami").exit_code == 0
    r = deployment.run("admin", "users", "disable", "op-b", "--json")
    assert r.exit_code == 0, r.stderr
    assert json_lines(r.stdout)[0]["active"] is False and "disabled op-b" in r.stderr
    refused = deployment.run("op-b", "alerts", "list")
    assert refused.exit_code == 5 and "not logged in" in refused.stderr
    assert login(deployment, "op-b", PASSWORD, tmp_path).exit_code == 5
    again = deployment.run("admin", "users", "disable", "op-b")
    assert again.exit_code == 2 and "already disabled" in again.stderr

    assert deployment.run("admin", "users", "enable", "op-b").exit_code == 0
    assert login(deployment, "op-b", PASSWORD, tmp_path).exit_code == 0
    assert deployment.run("op-b", "whoami").exit_code == 5  # the session from before stays ended


def test_admins_cannot_lock_themselves_out(deployment: Deployment) -> None:
    own = deployment.run("admin", "users", "disable", "admin")
    assert own.exit_code == 5 and "you cannot disable your own account" in own.stderr
    assert "another administrator must do it" in own.stderr
    demote = deployment.run("admin", "users", "roles", "admin", "--role", "auditor")
    assert demote.exit_code == 5 and "you cannot remove your own admin role" in demote.stderr
    missing = deployment.run("admin", "users", "disable", "nobody")
    assert missing.exit_code == 4 and "no user 'nobody'" in missing.stderr and "izde users list" in missing.stderr
    bad = deployment.run("admin", "users", "roles", "op-b", "--role", "superuser")
    assert bad.exit_code == 2 and "unknown role 'superuser'" in bad.stderr


def test_roles_replace_the_old_ones(deployment: Deployment) -> None:
    r = deployment.run("admin", "users", "roles", "op-b", "--role", "auditor", "--role", "operator", "--json")
    assert r.exit_code == 0, r.stderr
    assert json_lines(r.stdout)[0]["roles"] == ["auditor", "operator"]
    me = json_lines(deployment.run("op-b", "whoami", "--json").stdout)[0]
    assert me["roles"] == ["auditor", "operator"]  # the same session, with the new roles


def test_reset_password_from_standard_input(deployment: Deployment, tmp_path: Path) -> None:
    short = as_admin_with_input(deployment, "short\n", "users", "reset-password", "op-b")
    assert short.exit_code == 2 and "shorter than 12 characters" in short.stderr
    r = as_admin_with_input(deployment, NEW_PASSWORD + "\n", "users", "reset-password", "op-b")
    assert r.exit_code == 0 and "password reset for op-b" in r.stderr
    assert NEW_PASSWORD not in r.stdout + r.stderr
    assert deployment.run("op-b", "whoami").exit_code == 5
    assert login(deployment, "op-b", PASSWORD, tmp_path).exit_code == 5
    assert login(deployment, "op-b", NEW_PASSWORD, tmp_path).exit_code == 0


def test_reset_password_asks_nothing_of_someone_who_may_not(deployment: Deployment) -> None:
    env = {"IZDE_TOKEN": deployment.tokens["op-a"]}
    args = ["--home", str(deployment.home), "users", "reset-password", "op-b"]
    r = CliRunner().invoke(app, args, input=NEW_PASSWORD + "\n", env=env, catch_exceptions=False)
    assert r.exit_code == 5 and "may not user.admin" in r.stderr and "password" not in r.stdout.lower()
