"""Login tokens are kept per data directory, and a stale token never breaks ``izde init`` or ``izde login``.

Once one token file served every data directory: after logging in to one, ``izde init`` and ``izde login`` of
another failed with "not logged in"."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from izde.cli.main import app
from izde.config import Settings

PASSWORD = "correct horse battery staple"


@pytest.fixture
def default_token_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default token location (no IZDE_SECURITY__TOKEN_FILE), in a private config dir for the test."""
    monkeypatch.delenv("IZDE_SECURITY__TOKEN_FILE", raising=False)
    monkeypatch.delenv("IZDE_HOME", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config"


def run(home: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    r = CliRunner().invoke(app, ["--home", str(home), *args], input=stdin, env={"IZDE_TOKEN": ""})
    return r.exit_code, r.output


def test_two_homes_have_two_token_files(default_token_paths: Path, tmp_path: Path) -> None:
    a, b = Settings(home=tmp_path / "a"), Settings(home=tmp_path / "b")
    assert a.token_path != b.token_path
    assert default_token_paths in a.token_path.parents
    assert Settings(home=tmp_path / "a" / ".." / "a").token_path == a.token_path  # one directory, one token


def test_login_to_one_home_does_not_break_another(default_token_paths: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for home in (a, b):
        code, out = run(home, "init", "--admin", "admin", "--organisation", "P", "--law-enforcement", stdin=PASSWORD)
        assert code == 0, out
        code, out = run(home, "login", "admin", stdin=PASSWORD)
        assert code == 0, out
    code, out = run(a, "whoami")
    assert code == 0 and "admin" in out, out
    code, out = run(b, "whoami")
    assert code == 0 and "admin" in out, out


def test_a_stale_token_does_not_break_init_or_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # One shared token file, as older versions kept it, holding a token of another deployment.
    shared = tmp_path / "token"
    shared.write_text("stale-token-of-another-home\n")
    monkeypatch.setenv("IZDE_SECURITY__TOKEN_FILE", str(shared))
    home = tmp_path / "c"
    code, out = run(home, "init", "--admin", "admin", "--organisation", "P", "--law-enforcement", stdin=PASSWORD)
    assert code == 0, out
    code, out = run(home, "login", "admin", stdin=PASSWORD)
    assert code == 0, out
    assert run(home, "whoami")[0] == 0
