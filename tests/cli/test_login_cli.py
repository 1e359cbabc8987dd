"""``izde login`` counts against the same limit as the API: refused after too many failures, with a message that
says when to try again and the exit status of refused access."""

from __future__ import annotations

from pathlib import Path

import pytest

from izde.api import Izde
from izde.config import load_settings
from izde.governance.login_limit import LOCAL_ADDRESS, TooManyFailedLogins
from tests.cli.helpers import PASSWORD, Deployment, izde


def test_login_is_refused_after_too_many_failures(deployment: Deployment, tmp_path: Path) -> None:
    right, wrong = tmp_path / "right", tmp_path / "wrong"
    right.write_text(PASSWORD + "\n")
    wrong.write_text("not the password at all\n")
    ok = izde(deployment.home, "login", "op-a", "--password-file", right)
    assert ok.exit_code == 0, ok.stderr
    for _ in range(load_settings(home=deployment.home).security.login_attempts):
        failed = izde(deployment.home, "login", "op-a", "--password-file", wrong)
        assert failed.exit_code == 5 and "wrong user name or password" in failed.stderr
    refused = izde(deployment.home, "login", "op-a", "--password-file", right)
    assert refused.exit_code == 5
    assert "too many failed logins for op-a" in refused.stderr and "try again in" in refused.stderr
    # The Python API on the same data directory logs in from the same place, so it is refused too ...
    with Izde(home=deployment.home) as service:
        with pytest.raises(TooManyFailedLogins):
            service.login("op-a", PASSWORD, address=LOCAL_ADDRESS)
        # ... while a web client elsewhere is not.
        assert service.login("op-a", PASSWORD, address="192.0.2.7")
