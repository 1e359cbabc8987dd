"""A Python API object that lives long (a script, a notebook) follows account changes made meanwhile."""

from __future__ import annotations

import pytest

from izde.api import Izde
from izde.governance.roles import PermissionDenied, Role
from izde.governance.users import AuthenticationFailed
from tests.cli.helpers import Deployment


@pytest.fixture
def recheck_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import izde.service.core as core

    monkeypatch.setattr(core, "TOKEN_RECHECK_S", 0.0)


@pytest.mark.usefixtures("recheck_at_once")
def test_new_roles_and_a_disabled_account_apply_to_an_open_service(deployment: Deployment) -> None:
    with (
        Izde(home=deployment.home, token=deployment.tokens["op-b"]) as op_b,
        Izde(home=deployment.home, token=deployment.tokens["admin"]) as admin,
    ):
        assert op_b.alerts() == []
        admin.set_roles("op-b", frozenset({Role.CURATOR}))
        with pytest.raises(PermissionDenied):
            op_b.alerts()  # a curator keeps the watchlist and does not see alerts
        admin.disable_user("op-b")
        with pytest.raises(AuthenticationFailed):
            op_b.alerts()
        assert op_b.actor is None  # nobody acts through the object any more


def test_roles_are_trusted_for_a_few_seconds_between_checks(deployment: Deployment) -> None:
    import izde.service.core as core

    assert 0 < core.TOKEN_RECHECK_S <= 10
    with Izde(home=deployment.home, token=deployment.tokens["op-b"]) as op_b:
        assert op_b.alerts() == []
        op_b._token_checked -= core.TOKEN_RECHECK_S  # as if the interval had passed
        with Izde(home=deployment.home, token=deployment.tokens["admin"]) as admin:
            admin.disable_user("op-b")
        with pytest.raises(AuthenticationFailed):
            op_b.alerts()
