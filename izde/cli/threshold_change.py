"""Changing the match threshold: an operator proposes, a different approver approves or rejects."""

from __future__ import annotations

from dataclasses import asdict

import typer
from rich.console import Console
from rich.table import Table

from izde.cli.common import err_console, open_izde, print_json, user_errors
from izde.service.settings import ChangeView


def _print(c: ChangeView, as_json: bool) -> None:
    if as_json:
        print_json(asdict(c))
    else:
        err_console.print(f"threshold change {c.id} to {c.value}: {c.status}")


def propose(
    ctx: typer.Context,
    value: float = typer.Argument(..., help="The new threshold (largest matching distance)."),
    reason: str = typer.Option(..., "--reason", help="Why it should change (e.g. a benchmark run)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Propose a new match threshold (operator); it applies once a different approver approves it."""
    with user_errors(), open_izde(ctx) as izde:
        change = izde.propose_threshold(value, reason)
    _print(change, as_json)


def approve(
    ctx: typer.Context,
    change: str = typer.Argument(..., help="Change id or unique prefix."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Approve a proposed threshold change (approver; not the proposer). It applies to new sessions."""
    with user_errors(), open_izde(ctx) as izde:
        view = izde.decide_threshold(change, True)
    _print(view, as_json)


def reject(
    ctx: typer.Context,
    change: str = typer.Argument(..., help="Change id or unique prefix."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Reject a proposed threshold change (approver)."""
    with user_errors(), open_izde(ctx) as izde:
        view = izde.decide_threshold(change, False)
    _print(view, as_json)


def history(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Every proposed threshold change and its decision, newest first."""
    with user_errors(), open_izde(ctx) as izde:
        rows = izde.threshold_changes()
    if as_json:
        for c in rows:
            print_json(asdict(c))
        return
    t = Table(title=f"Threshold changes ({len(rows)})")
    for col in ("id", "value", "status", "proposed", "decided", "reason"):
        t.add_column(col)
    for c in rows:
        decided = c.decided_at.isoformat(timespec="seconds") if c.decided_at else ""
        t.add_row(c.id[:12], f"{c.value:.3f}", c.status, c.proposed_at.isoformat(timespec="seconds"), decided, c.reason)
    Console().print(t)
