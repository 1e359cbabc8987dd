"""``izde auth``: authorisations that scope every watch session."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from izde.cli.alerts import parse_time
from izde.cli.common import err_console, open_izde, print_json, user_errors
from izde.errors import InvalidInput
from izde.governance.authorisations import AuthorisationSpec, Objective
from izde.service.authorisations import AuthorisationView

app = typer.Typer(help="Authorisations: who may be searched for, on which cameras, when.", no_args_is_help=True)


def _print(view: AuthorisationView, as_json: bool) -> None:
    if as_json:
        print_json(asdict(view))
        return
    out = Console()
    out.print(f"[bold]authorisation {view.id}[/]  {view.status}{'  (URGENT start)' if view.urgent_reason else ''}")
    out.print(f"objective {view.objective}{' / ' + view.offence_code if view.offence_code else ''}")
    out.print(f"issued by {view.issuing_authority}, reference {view.reference}")
    out.print(f"window {view.starts_at.isoformat()} .. {view.ends_at.isoformat()}")
    out.print(f"live: {view.covers_live}; recorded: {view.covers_recorded}; FRIA recorded: {view.fria_recorded}")
    out.print(f"cameras: {', '.join(view.cameras)}; persons: {len(view.persons)}")
    if view.fria is not None:
        f = view.fria
        out.print(f"FRIA by {f.recorded_by} at {f.recorded_at.isoformat()}: {f.summary}", markup=False, highlight=False)


@app.command("request")
def request(
    ctx: typer.Context,
    objective: Objective = typer.Option(..., help="What the search is for."),
    offence_code: str | None = typer.Option(None, help="Offence code (required for serious_offence)."),
    authority: str = typer.Option(..., help="The competent authority issuing it."),
    reference: str = typer.Option(..., help="The authority's reference."),
    start: str = typer.Option(..., help="Window start, ISO 8601 with zone."),
    end: str = typer.Option(..., help="Window end, ISO 8601 with zone."),
    live: bool = typer.Option(False, "--live", help="Covers live footage."),
    recorded: bool = typer.Option(False, "--recorded", help="Covers recorded footage."),
    person: list[str] = typer.Option(..., "--person", help="Watchlist person covered (repeat)."),
    camera: list[str] = typer.Option(..., "--camera", help="Camera covered (repeat)."),
    urgent_reason: str | None = typer.Option(
        None, help="Start before the grant because of urgency; stops if not granted within 24 hours."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Record a request for an authorisation (curator). A different approver records the decision."""
    with user_errors():
        try:
            spec = AuthorisationSpec(
                objective=objective,
                offence_code=offence_code,
                issuing_authority=authority,
                reference=reference,
                starts_at=parse_time(start, "--start"),
                ends_at=parse_time(end, "--end"),
                covers_live=live,
                covers_recorded=recorded,
                persons=tuple(person),
                cameras=tuple(camera),
                urgent_reason=urgent_reason,
            )
        except ValidationError as e:
            raise InvalidInput("; ".join(err["msg"] for err in e.errors())) from None
        with open_izde(ctx) as izde:
            view = izde.request_authorisation(spec)
    _print(view, as_json)


def _decide(ctx: typer.Context, ref: str, grant: bool, note: str | None, as_json: bool) -> None:
    with user_errors(), open_izde(ctx) as izde:
        view = izde.decide_authorisation(ref, grant, note)
    _print(view, as_json)


@app.command("grant")
def grant(
    ctx: typer.Context,
    authorisation: str = typer.Argument(...),
    note: str | None = typer.Option(None),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Register the authority's grant (approver; not the requester)."""
    _decide(ctx, authorisation, True, note, as_json)


@app.command("reject")
def reject(
    ctx: typer.Context,
    authorisation: str = typer.Argument(...),
    note: str | None = typer.Option(None),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Register the authority's rejection; alerts and evidence of its urgent sessions are deleted."""
    _decide(ctx, authorisation, False, note, as_json)


@app.command("fria")
def fria(
    ctx: typer.Context,
    authorisation: str = typer.Argument(...),
    summary: str = typer.Option(..., help="Summary of the fundamental-rights impact assessment."),
    document: Path | None = typer.Option(None, help="The assessment document (its SHA-256 is recorded)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Record the fundamental-rights impact assessment a deployment needs before its first session."""
    with user_errors(), open_izde(ctx) as izde:
        view = izde.record_fria(authorisation, summary, document)
    _print(view, as_json)


@app.command("show")
def show(
    ctx: typer.Context, authorisation: str = typer.Argument(...), as_json: bool = typer.Option(False, "--json")
) -> None:
    """Show one authorisation."""
    with user_errors(), open_izde(ctx) as izde:
        view = izde.authorisation(authorisation)
    _print(view, as_json)


@app.command("list")
def list_(
    ctx: typer.Context,
    status: str | None = typer.Option(None, help="requested, granted or rejected."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List authorisations, newest first."""
    with user_errors(), open_izde(ctx) as izde:
        rows = izde.authorisations(status)
    if as_json:
        for r in rows:
            print_json(asdict(r))
        return
    t = Table(title=f"Authorisations ({len(rows)})")
    for col in ("id", "status", "objective", "reference", "window", "cameras", "persons"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            r.id[:12],
            r.status,
            r.objective,
            r.reference,
            f"{r.starts_at:%Y-%m-%d %H:%M} .. {r.ends_at:%Y-%m-%d %H:%M}",
            ", ".join(r.cameras),
            str(len(r.persons)),
        )
    err_console.print(t)
