"""The administrability rules as pure functions: nobody disables or demotes themselves, and the last active
administrator stays one, whoever asks."""

from __future__ import annotations

import pytest

from izde.errors import Conflict
from izde.governance.admins import Account, LastAdministrator, SeparationOfDuties, check_change, privileged
from izde.governance.roles import PermissionDenied, Role

ADMIN = frozenset({Role.ADMIN})
ALICE = Account("u-alice", "alice", ADMIN, True)
BOB = Account("u-bob", "bob", ADMIN | {Role.AUDITOR}, True)
CAROL = Account("u-carol", "carol", frozenset({Role.OPERATOR}), True)


def test_an_admin_disables_or_demotes_another_while_one_admin_remains() -> None:
    check_change(ALICE.user_id, BOB, BOB.disabled(), active_admins=2)
    check_change(ALICE.user_id, BOB, BOB.with_roles(frozenset({Role.AUDITOR})), active_admins=2)
    check_change(ALICE.user_id, CAROL, CAROL.disabled(), active_admins=1)  # not an admin: the count is irrelevant


@pytest.mark.parametrize(
    ("after", "message"),
    [
        (ALICE.disabled(), "you cannot disable your own account"),
        (ALICE.with_roles(frozenset({Role.AUDITOR})), "you cannot remove your own admin role"),
    ],
)
def test_nobody_disables_or_demotes_themselves(after: Account, message: str) -> None:
    with pytest.raises(PermissionDenied) as e:
        check_change(ALICE.user_id, ALICE, after, active_admins=5)
    assert e.value.message == message and e.value.hint == "another administrator must do it"


def test_dropping_ones_own_other_roles_is_allowed_raising_them_is_not() -> None:
    check_change(BOB.user_id, BOB, BOB.with_roles(ADMIN), active_admins=2)
    with pytest.raises(PermissionDenied, match="you cannot give yourself roles"):
        check_change(ALICE.user_id, ALICE, ALICE.with_roles(ADMIN | {Role.AUDITOR}), active_admins=1)


@pytest.mark.parametrize("after", [BOB.disabled(), BOB.with_roles(frozenset({Role.AUDITOR}))])
def test_the_last_active_admin_is_never_disabled_or_demoted(after: Account) -> None:
    # Reached when the acting admin lost the role in the meantime (another admin demoted them first).
    with pytest.raises(LastAdministrator) as e:
        check_change(ALICE.user_id, BOB, after, active_admins=1)
    assert e.value.message == "bob is the last active administrator" and "another administrator" in str(e.value.hint)
    assert isinstance(e.value, Conflict)


def test_enabling_or_promoting_is_never_refused() -> None:
    check_change(ALICE.user_id, BOB.disabled(), BOB, active_admins=0)
    check_change(ALICE.user_id, CAROL, CAROL.with_roles(ADMIN), active_admins=0)


def test_an_inactive_admin_counts_for_nothing() -> None:
    # Demoting a disabled administrator does not change who can administer the deployment.
    check_change(ALICE.user_id, BOB.disabled(), BOB.disabled().with_roles(frozenset({Role.AUDITOR})), active_admins=1)


@pytest.mark.parametrize("extra", [Role.CURATOR, Role.APPROVER, Role.OPERATOR])
def test_no_change_joins_administration_with_a_data_role(extra: Role) -> None:
    # Made by another administrator, to an account that is already an admin or one that becomes one.
    for before in (BOB, CAROL):
        with pytest.raises(SeparationOfDuties, match="an administrator cannot also be"):
            check_change(ALICE.user_id, before, before.with_roles(ADMIN | {extra}), active_admins=2)


RESET = "password of another user reset by an administrator"


@pytest.mark.parametrize(
    ("before", "after", "password_reset", "reason"),
    [
        (None, ALICE, False, "administrator role granted"),  # a new administrator
        (CAROL, CAROL.with_roles(ADMIN), False, "administrator role granted"),  # made one
        (BOB.with_roles(frozenset({Role.AUDITOR})), BOB, False, "administrator role granted"),  # made one again
        (None, CAROL, False, None),  # a new user without the role
        (BOB, BOB.with_roles(ADMIN), False, None),  # an administrator already: other roles change
        (BOB, BOB.disabled(), False, None),
        (CAROL, CAROL.with_roles(frozenset({Role.OPERATOR, Role.AUDITOR})), False, None),
        (CAROL, CAROL, True, RESET),  # another user's password: the admin could now log in as them
        (ALICE, ALICE, True, None),  # one's own password
        (None, CAROL.with_roles(ADMIN), True, "administrator role granted"),
    ],
)
def test_privileged_changes_are_named_for_the_auditors(
    before: Account | None, after: Account, password_reset: bool, reason: str | None
) -> None:
    if password_reset:
        assert privileged(ALICE.user_id, before, after, password_reset=True) == reason
    else:  # as a new user is added: no password reset unless said
        assert privileged(ALICE.user_id, before, after) == reason
