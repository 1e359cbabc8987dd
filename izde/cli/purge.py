"""``izde purge``: apply the retention periods now (admin); ``watch`` also does it before each session."""

from __future__ import annotations

from dataclasses import asdict

import typer

from izde.cli.common import err_console, open_izde, print_json, user_errors


def purge(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Delete what the retention periods no longer allow to keep; every purge is audited."""
    with user_errors(), open_izde(ctx) as izde:
        report = izde.purge()
    if as_json:
        print_json(asdict(report))
        return
    err_console.print("purged: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in asdict(report).items()))
