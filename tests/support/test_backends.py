"""A missing backend is a visible skip locally and a failure in CI."""

from __future__ import annotations

import pytest

from tests.support.backends import in_ci, require_backend


@pytest.mark.parametrize(
    "ci, outcome",
    [
        ("true", pytest.fail.Exception),
        ("TRUE", pytest.fail.Exception),
        ("", pytest.skip.Exception),
        ("false", pytest.skip.Exception),
        ("1", pytest.skip.Exception),  # CI systems that set CI=true are the ones this contract is for
        (None, pytest.skip.Exception),
    ],
)
def test_a_missing_backend_skips_locally_and_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, ci: str | None, outcome: type[BaseException]
) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="PostgreSQL is not available: unreachable"):
        require_backend("PostgreSQL", "unreachable")
    assert in_ci() is (outcome is pytest.fail.Exception)
