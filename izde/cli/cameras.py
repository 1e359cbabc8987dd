"""``izde cameras``: the cameras sessions may read, registered by an administrator with their source."""

from __future__ import annotations

from dataclasses import asdict

import typer
from rich.console import Console
from rich.table import Table

from izde.cli.common import err_console, open_izde, print_json, user_errors

app = typer.Typer(
    help="Registered cameras: a name and the source sessions read (admin adds them).", no_args_is_help=True
)


@app.command("add")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The camera's name, as authorisations and sessions refer to it."),
    source: str = typer.Argument(
        ...,
        help="A video file or image folder (in cameras.media_folders), an rtsp(s):// or http(s):// URL, or a webcam.",
    ),
    description: str = typer.Option("", help="Where the camera is, for people reviewing its alerts."),
    as_json: bool = typer.Option(False, "--json", help="Print the camera as JSON."),
) -> None:
    """Register a camera (admin). Sources inside the data directory, outside the media folders, with another
    scheme, or on loopback/link-local hosts are refused; the source is never shown again (it may hold
    credentials)."""
    with user_errors(), open_izde(ctx) as izde:
        view = izde.add_camera(name, source, description)
    if as_json:
        print_json(asdict(view))
    err_console.print(f"registered camera {view.name} ({view.source_kind})")


@app.command("list")
def list_cameras(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="One JSON object per camera.")
) -> None:
    """Registered cameras and their latest run (never their source)."""
    with user_errors(), open_izde(ctx) as izde:
        rows = izde.cameras()
    if as_json:
        for c in rows:
            print_json(asdict(c))
        return
    t = Table(title=f"Cameras ({len(rows)})")
    for col in ("name", "kind", "description", "last run"):
        t.add_column(col)
    for c in rows:
        t.add_row(c.name, c.source_kind, c.description, c.last_run_status or "-")
    Console().print(t)
