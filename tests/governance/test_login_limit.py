"""The login limit as a policy: which failures count, when a key locks and for how long it waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from izde.governance.login_limit import LoginKey, LoginLimit, TooManyFailedLogins, seconds_to_wait
from izde.governance.users import AuthenticationFailed

NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
LIMIT = LoginLimit(attempts=3, window=timedelta(seconds=300))


def ago(*seconds: float) -> list[datetime]:
    return [NOW - timedelta(seconds=s) for s in seconds]


@pytest.mark.parametrize(
    ("failures", "limit", "wait"),
    [
        pytest.param([], LIMIT, 0, id="no failures"),
        pytest.param(ago(10, 20), LIMIT, 0, id="fewer than the limit"),
        pytest.param(ago(10, 20, 30), LIMIT, 270, id="at the limit: until the oldest leaves the window"),
        pytest.param(ago(30, 10, 20), LIMIT, 270, id="order does not matter"),
        pytest.param(ago(10, 20, 30, 40), LIMIT, 270, id="over the limit: until one fewer than the limit"),
        pytest.param(ago(10, 20, 300), LIMIT, 0, id="a failure exactly one window old no longer counts"),
        pytest.param(ago(10, 20, 299.5), LIMIT, 1, id="half a second left is one second"),
        pytest.param(ago(10, 20, 30, 400, 500), LIMIT, 270, id="old failures do not count"),
        pytest.param(ago(0, 0, 0), LIMIT, 300, id="failures now wait the whole window"),
        pytest.param(ago(-60, 10, 20), LIMIT, 280, id="a failure from a clock ahead counts"),
        pytest.param(ago(-60, -60, -60), LIMIT, 300, id="but never waits longer than the window"),
        pytest.param(ago(5), LoginLimit(1, timedelta(seconds=60)), 55, id="a limit of one"),
        pytest.param(ago(1), LoginLimit(1, timedelta(seconds=0.5)), 0, id="a window under a second"),
        pytest.param(ago(0.2), LoginLimit(1, timedelta(seconds=0.5)), 1, id="waits at least a second"),
    ],
)
def test_seconds_to_wait(failures: list[datetime], limit: LoginLimit, wait: int) -> None:
    assert seconds_to_wait(failures, limit, NOW) == wait


def test_keys_are_normalised_like_user_names() -> None:
    assert LoginKey.of("  Alice ", "10.0.0.1") == LoginKey.of("alice", " 10.0.0.1")
    assert LoginKey.of("alice", "") == LoginKey("alice", "unknown")
    long = LoginKey.of("x" * 500, "y" * 500)
    assert (len(long.username), len(long.address)) == (100, 64)


def test_the_refusal_says_when_to_try_again() -> None:
    e = TooManyFailedLogins(LoginKey.of("alice", "local"), 42)
    assert isinstance(e, AuthenticationFailed) and e.exit_code == 5  # the command line's code for refused access
    assert e.retry_after == 42 and e.hint == "try again in 42 s" and "alice" in e.message
