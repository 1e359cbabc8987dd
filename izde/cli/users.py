"""``izde users``: accounts and their roles, for administrators."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from izde.cli.account import read_password
from izde.cli.common import err_console, open_izde, print_json, user_errors
from izde.governance.roles import Action, Role
from izde.governance.users import parse_roles
from izde.service.users import UserView

app = typer.Typer(
    help="User accounts (admin): add, list, disable and enable, roles, password resets.", no_args_is_help=True
)

ROLE_HELP = ", ".join(r.value for r in Role) + " (repeat the option for several)."
PASSWORD_FILE_HELP = "Read the password from this file instead of a prompt or standard input."


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M") if at else "never"


def users_table(rows: list[UserView]) -> Table:
    t = Table(title=f"Users ({len(rows)})")
    for col in ("user", "roles", "organisation", "status", "created (UTC)", "last login (UTC)"):
        t.add_column(col)
    for u in rows:
        status = "active" if u.active else "[red]disabled[/]"
        t.add_row(u.username, ", ".join(u.roles), u.organisation, status, _when(u.created_at), _when(u.last_login))
    return t


def _report(view: UserView, as_json: bool, done: str) -> None:
    if as_json:
        print_json(asdict(view))
    err_console.print(f"{done} {view.username} ({', '.join(view.roles)}; {'active' if view.active else 'disabled'})")


@app.command("add")
def add(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="The new user's name (lower-case letters, digits, '.', '_', '-')."),
    role: list[str] = typer.Option(..., "--role", help=ROLE_HELP),
    organisation: str = typer.Option(..., help="The user's organisation."),
    law_enforcement: bool | None = typer.Option(
        None, "--law-enforcement/--civil", help="Only when the organisation is new."
    ),
    password_file: Path | None = typer.Option(None, help=PASSWORD_FILE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the user as a JSON object."),
) -> None:
    """Add a user. The password is asked twice (or read from --password-file, IZDE_PASSWORD or standard input)."""
    with user_errors(), open_izde(ctx) as izde:
        roles = parse_roles(role)
        izde.require(Action.USER_ADMIN)  # before asking for a password nobody may set
        password = read_password(password_file, "Password", confirm=True)
        _report(izde.add_user(username, password, roles, organisation, law_enforcement), as_json, "added")


@app.command("list")
def list_users(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="One JSON object per line per user.")
) -> None:
    """List every user: roles, organisation, active or disabled, created and last login. Never passwords."""
    with user_errors(), open_izde(ctx) as izde:
        rows = izde.users()
    if as_json:
        for u in rows:
            print_json(asdict(u))
    else:
        Console().print(users_table(rows))


@app.command("disable")
def disable(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="The user to disable."),
    as_json: bool = typer.Option(False, "--json", help="Print the user as a JSON object."),
) -> None:
    """Disable a user (a leaver): they cannot log in, and their open sessions and tokens stop working at once.

    Refused for your own account and for the last active administrator."""
    with user_errors(), open_izde(ctx) as izde:
        _report(izde.disable_user(username), as_json, "disabled")


@app.command("enable")
def enable(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="The user to enable."),
    as_json: bool = typer.Option(False, "--json", help="Print the user as a JSON object."),
) -> None:
    """Enable a disabled user again; they log in anew (their old sessions stay ended)."""
    with user_errors(), open_izde(ctx) as izde:
        _report(izde.enable_user(username), as_json, "enabled")


@app.command("roles")
def roles(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="The user whose roles change."),
    role: list[str] = typer.Option(..., "--role", help="The new roles, replacing the old: " + ROLE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the user as a JSON object."),
) -> None:
    """Replace a user's roles. You cannot remove your own admin role, nor demote the last active administrator."""
    with user_errors(), open_izde(ctx) as izde:
        _report(izde.set_roles(username, parse_roles(role)), as_json, "roles set for")


@app.command("reset-password")
def reset_password(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="The user whose password is reset."),
    password_file: Path | None = typer.Option(None, help=PASSWORD_FILE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the user as a JSON object."),
) -> None:
    """Set a new password for a user and end their open sessions. The password is asked twice (or read from
    --password-file, IZDE_PASSWORD or standard input)."""
    with user_errors(), open_izde(ctx) as izde:
        izde.require(Action.USER_ADMIN)  # before asking for a password nobody may set
        password = read_password(password_file, "New password", confirm=True)
        _report(izde.reset_password(username, password), as_json, "password reset for")
