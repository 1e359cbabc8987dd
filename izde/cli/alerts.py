"""``izde alerts``: list and show alerts raised by watch runs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console

from izde.cli.common import err_console, open_izde, print_json, user_errors
from izde.cli.views import alert_dict, alerts_table
from izde.errors import InvalidInput

app = typer.Typer(help="Alerts: candidate matches waiting for human review.", no_args_is_help=True)


def parse_time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"invalid {name} time {value!r}", "use ISO 8601, e.g. 2026-11-26T08:00:00+00:00") from None
    if t.tzinfo is None:
        raise InvalidInput(f"{name} time {value!r} has no time zone", "add +00:00 for UTC")
    return t


@app.command("list")
def list_(
    ctx: typer.Context,
    camera: str | None = typer.Option(None, help="Only this camera."),
    person: str | None = typer.Option(None, help="Only this person (id, id prefix or name)."),
    status: str | None = typer.Option(None, help="Only this status, e.g. pending."),
    since: str | None = typer.Option(None, help="Raised at or after this time (ISO 8601 with zone)."),
    until: str | None = typer.Option(None, help="Raised before this time (ISO 8601 with zone)."),
    limit: int = typer.Option(100, min=1, help="At most this many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per alert."),
) -> None:
    """List alerts, newest first."""
    with user_errors(), open_izde(ctx) as izde:
        rows = izde.alerts(
            camera=camera,
            person=person,
            status=status,
            since=parse_time(since, "--since"),
            until=parse_time(until, "--until"),
            limit=limit,
        )
    if as_json:
        for a in rows:
            print_json(alert_dict(a))
    else:
        Console().print(alerts_table(rows))


@app.command("show")
def show(
    ctx: typer.Context,
    alert: str = typer.Argument(..., help="Alert id or unique id prefix."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show one alert with its evidence file."""
    with user_errors(), open_izde(ctx) as izde:
        a = izde.alert(alert)
    if as_json:
        print_json(alert_dict(a))
        return
    out = Console()
    out.print(f"[bold]alert {a.id}[/]  status {a.status}")
    out.print(f"person: {a.person_name} ({a.person_id})")
    out.print(f"camera: {a.camera}; frame time {a.frame_time.isoformat()} UTC; position {a.position_s:.2f} s")
    out.print(f"distance {a.distance:.3f} against threshold {a.threshold:.3f}; shot quality {a.quality:.2f}")
    out.print(f"evidence: {a.evidence_path or 'none'}")
    out.print("[yellow]A match is a candidate for human review, not an identification.[/]")


def _review(ctx: typer.Context, alert: str, decision: str, note: str | None, as_json: bool) -> None:
    with user_errors(), open_izde(ctx) as izde:
        a = izde.review(alert, decision, note)
    if as_json:
        print_json(alert_dict(a))
    else:
        err_console.print(f"alert {a.id[:12]} is now {a.status}")


@app.command("confirm")
def confirm(
    ctx: typer.Context,
    alert: str = typer.Argument(..., help="Alert id or unique id prefix."),
    note: str | None = typer.Option(None, help="What you checked."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Confirm a pending alert. It is confirmed once two different operators confirm it."""
    _review(ctx, alert, "confirm", note, as_json)


@app.command("reject")
def reject(
    ctx: typer.Context,
    alert: str = typer.Argument(..., help="Alert id or unique id prefix."),
    note: str | None = typer.Option(None, help="Why it is a false alert."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Reject a pending alert as a false alert."""
    _review(ctx, alert, "reject", note, as_json)


@app.command("outcome")
def outcome(
    ctx: typer.Context,
    alert: str = typer.Argument(..., help="Alert id or unique id prefix."),
    correct: bool = typer.Option(..., "--true/--false", help="Whether engagement showed it was the person."),
    note: str | None = typer.Option(None),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Record the outcome after engagement for a confirmed alert."""
    _review(ctx, alert, "outcome_true" if correct else "outcome_false", note, as_json)


@app.command("export")
def export(
    ctx: typer.Context,
    alert: str = typer.Argument(..., help="Alert id or unique id prefix."),
    out: Path = typer.Option(..., "--out", "-o", help="File or folder to write the evidence JPEG to."),
) -> None:
    """Export an alert's evidence image (audited)."""
    with user_errors(), open_izde(ctx) as izde:
        target = izde.export_evidence(alert, out)
    err_console.print(f"evidence written to {target}")
