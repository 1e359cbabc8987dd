"""``izde risk``: how a deployment is classified under the AI Act model, and what it still lacks."""

from __future__ import annotations

import typer
from rich.console import Console

from izde.cli.common import open_izde, print_json, user_errors

app = typer.Typer(help="Risk classification of deployments.", no_args_is_help=True)


@app.command("show")
def show(
    ctx: typer.Context,
    authorisation: str = typer.Argument(..., help="Authorisation id or unique prefix."),
    feature: list[str] = typer.Option(
        [],
        "--feature",
        help="Also classify a capability someone asks for; prohibited ones are refused and named (repeat).",
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Explain the classification (refused, high or other), why, and what is missing before use."""
    with user_errors(), open_izde(ctx) as izde:
        auth_id, c = izde.risk(authorisation, frozenset(feature))
    if as_json:
        print_json(
            {
                "authorisation": auth_id,
                "class": c.risk_class.value,
                "reasons": list(c.reasons),
                "missing": list(c.missing),
                "allowed_now": c.allowed_now,
            }
        )
        return
    out = Console()
    out.print(f"[bold]authorisation {auth_id}: {c.risk_class.value}[/]")
    for r in c.reasons:
        out.print(f"  - {r}", highlight=False)
    for m in c.missing:
        out.print(f"  [yellow]missing:[/] {m}", highlight=False)
    if c.allowed_now:
        out.print("nothing is missing for use under this authorisation")
