"""One administrator cannot become anyone: admin never joins the data roles, nobody raises their own roles, and
the changes by which an administrator could still act as someone else raise an entry the auditors review.

Once, an administrator gave themselves curator + approver + operator, created users with every role and reset
other users' passwords to log in as them, defeating four-eyes approval and two-person review."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from izde.api import Izde
from izde.cli.main import app
from izde.governance.admins import PRIVILEGED_ALERT, SeparationOfDuties, check_roles
from izde.governance.roles import Role
from tests.security.conftest import PASSWORD, add_user

NEW_PASSWORD = "another long passphrase 42"


@pytest.mark.parametrize("extra", [Role.CURATOR, Role.APPROVER, Role.OPERATOR])
def test_admin_never_holds_a_data_role(extra: Role) -> None:
    with pytest.raises(SeparationOfDuties):
        check_roles(frozenset({Role.ADMIN, extra}))
    check_roles(frozenset({Role.ADMIN, Role.AUDITOR}))
    check_roles(frozenset({Role.CURATOR, Role.OPERATOR}))


def test_admin_cannot_give_themselves_data_roles(deployment: Izde) -> None:
    for roles in ({Role.ADMIN, Role.CURATOR, Role.APPROVER, Role.OPERATOR}, {Role.ADMIN, Role.AUDITOR}):
        with pytest.raises(SeparationOfDuties):
            deployment.set_roles("admin", frozenset(roles))
    (me,) = [u for u in deployment.users() if u.username == "admin"]
    assert me.roles == ("admin",)


def test_admin_cannot_create_an_all_powerful_user(deployment: Izde) -> None:
    with pytest.raises(SeparationOfDuties):
        add_user(deployment, "mallory", Role.ADMIN, Role.CURATOR, Role.APPROVER, Role.OPERATOR)
    assert "mallory" not in {u.username for u in deployment.users()}


def test_a_second_admin_cannot_be_given_data_roles_either(deployment: Izde) -> None:
    add_user(deployment, "admin2", Role.ADMIN)
    with pytest.raises(SeparationOfDuties):
        deployment.set_roles("admin2", frozenset({Role.ADMIN, Role.OPERATOR}))


def test_privileged_changes_raise_an_alert_for_the_auditors(deployment: Izde) -> None:
    add_user(deployment, "auditor", Role.AUDITOR)
    add_user(deployment, "carol", Role.OPERATOR)
    add_user(deployment, "admin2", Role.ADMIN)  # a new administrator
    deployment.reset_password("carol", NEW_PASSWORD)  # the admin could now log in as carol...
    deployment.set_roles("carol", frozenset({Role.OPERATOR, Role.AUDITOR}))  # an ordinary change: no alert
    token = deployment.login("auditor", PASSWORD)
    alerts = deployment.audit_log(action=PRIVILEGED_ALERT)
    reasons = sorted((e.details["username"], e.details["reason"]) for e in alerts)
    assert reasons == [
        ("admin2", "administrator role granted"),
        ("carol", "password of another user reset by an administrator"),
    ]
    assert all(e.actor == "admin" for e in alerts)
    assert deployment.verify_audit().ok
    # ...and the auditors see them on the command line.
    home = str(deployment.settings.home)
    env = {"IZDE_TOKEN": token}
    if deployment.settings.database_url:
        env["IZDE_DATABASE_URL"] = deployment.settings.database_url
    r = CliRunner().invoke(app, ["--home", home, "audit", "alerts"], env=env)
    assert r.exit_code == 0 and "password of another user reset" in r.stderr, r.output


def test_nobody_else_reads_the_alerts(deployment: Izde) -> None:
    from izde.governance.roles import PermissionDenied

    with pytest.raises(PermissionDenied):
        deployment.audit_log(action=PRIVILEGED_ALERT)  # the administrator whose changes they are
