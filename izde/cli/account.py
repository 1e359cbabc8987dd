"""``izde init``, ``login``, ``logout`` and ``whoami``: who is acting."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from izde.cli.common import err_console, open_izde, print_json, user_errors
from izde.errors import InvalidInput
from izde.governance.login_limit import LOCAL_ADDRESS


def read_password(password_file: Path | None, prompt: str, confirm: bool = False) -> str:
    """From a file (for automation) or a hidden prompt; never from a command-line argument."""
    if password_file is not None:
        try:
            return password_file.read_text(encoding="utf-8").rstrip("\n")
        except OSError as e:
            raise InvalidInput(f"cannot read {password_file}: {e.strerror}") from None
    if os.environ.get("IZDE_PASSWORD"):
        return os.environ["IZDE_PASSWORD"]
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\n")
        if line:
            return line
    return str(typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True))


def _save_token(path: Path, token: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    tmp.replace(path)


def init(
    ctx: typer.Context,
    admin: str = typer.Option(..., help="User name of the first administrator."),
    organisation: str = typer.Option(..., help="The operating organisation."),
    law_enforcement: bool = typer.Option(
        ..., "--law-enforcement/--civil", help="Whether it is a law-enforcement authority (needed for live use)."
    ),
    password_file: Path | None = typer.Option(None, help="Read the password from this file instead of a prompt."),
) -> None:
    """Set up a new data directory: the audit key and the first administrator."""
    with user_errors(), open_izde(ctx, as_user=False) as izde:
        izde.initialise(admin, read_password(password_file, "Password", confirm=True), organisation, law_enforcement)
        err_console.print(f"initialised {izde.settings.home}; audit key at {izde.settings.audit_key_path}")


def login(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="Your user name."),
    password_file: Path | None = typer.Option(None, help="Read the password from this file instead of a prompt."),
    print_token: bool = typer.Option(False, "--print-token", help="Print the token instead of saving it."),
) -> None:
    """Log in; the session token is saved for later commands (or printed for IZDE_TOKEN)."""
    with user_errors(), open_izde(ctx, as_user=False) as izde:
        token = izde.login(username, read_password(password_file, "Password"), address=LOCAL_ADDRESS)
        if print_token:
            print(token)
        else:
            _save_token(izde.settings.token_path, token)
            assert izde.actor is not None
            err_console.print(f"logged in as {izde.actor.username} ({', '.join(sorted(izde.actor.roles))})")


def logout(ctx: typer.Context) -> None:
    """End this session."""
    from izde.service.core import token_from_environment

    with user_errors(), open_izde(ctx) as izde:
        token = token_from_environment(izde.settings)
        if token:
            izde.logout(token)
        izde.settings.token_path.unlink(missing_ok=True)
    err_console.print("logged out")


def whoami(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Who the commands act as."""
    with user_errors(), open_izde(ctx) as izde:
        actor = izde.actor
    if actor is None:
        err_console.print("not logged in")
        raise typer.Exit(1)
    roles = sorted(r.value for r in actor.roles)
    info = {
        "username": actor.username,
        "roles": roles,
        "organisation": actor.organisation,
        "law_enforcement": actor.law_enforcement,
    }
    if as_json:
        print_json(info)
    else:
        err_console.print(f"{actor.username}: {', '.join(roles)} at {actor.organisation}")
