"""``izde search`` and ``izde searches``: find the persons an authorisation names in a case's recorded footage."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from izde.archive.manifest import NAME_PATTERNS
from izde.archive.service import SearchView
from izde.cli.common import err_console, open_izde, print_json, user_errors

if TYPE_CHECKING:
    from izde.api import Izde

app = typer.Typer(help="Searches of recorded footage: list, show, stop and resume them.", no_args_is_help=True)

_PATTERNS = ", ".join(name for name, _ in NAME_PATTERNS)


def search(
    ctx: typer.Context,
    archive: Path | None = typer.Argument(
        None, help="Folder laid out ARCHIVE/CAMERA/FILE, each file's recording start in its name."
    ),
    authorisation: str = typer.Option(..., "--authorisation", "-a", help="Id (or prefix) of the authorisation."),
    case: str = typer.Option(..., "--case", help="The investigation file this search serves (e.g. CASE-2026-117)."),
    person: list[str] = typer.Option(
        [], "--person", "-p", help="Search only for this person (name or id; repeat). Default: all it names."
    ),
    manifest: Path | None = typer.Option(
        None, "--manifest", help="CSV with the header camera,start,path instead of a folder (start with a zone)."
    ),
    workers: int = typer.Option(
        1, "--workers", "-w", min=1, max=64, help="Local worker processes (about one per core); not with a fleet."
    ),
    local: bool = typer.Option(
        False, "--local", help="Run on local worker processes even when a fleet (broker.url) is configured."
    ),
    analysis_fps: float | None = typer.Option(
        None, "--analysis-fps", min=0.1, max=60, help="Frames analysed per second of footage (default: settings)."
    ),
    chunk_s: float | None = typer.Option(None, "--chunk-s", min=5, help="Seconds of footage per unit of work."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per sighting on stdout."),
) -> None:
    """Search a case's recorded footage for the persons an authorisation names (operator).

    The authorisation must cover recorded footage, every camera of the archive and all of the time it spans;
    otherwise nothing is searched. Each recording's start comes from its name (patterns: {patterns}, UTC), from
    the --manifest, or from the file's creation_time; files whose start is unknown are listed and not searched.
    Every sighting is an alert awaiting two operators' review. Nothing about anyone else is kept. With a fleet
    configured (broker.url), the chunks run as jobs of its workers and the servers record what they find;
    otherwise on --workers local processes. Ctrl-C stops the search; 'izde searches resume ID' goes on where
    it stopped. Exit status: 0 when all footage was searched, 3 when some could not be read or the search was
    stopped, 5 when the permission or the authorisation is missing.
    """
    with user_errors(), open_izde(ctx) as izde:
        found = izde.searches.load(archive, manifest)
        for r in found.refused:
            err_console.print(f"[yellow]not searched:[/] {r.path}: {r.reason}", highlight=False)
        view = izde.searches.plan(found, authorisation, case, person, analysis_fps=analysis_fps, chunk_s=chunk_s)
        where = "as jobs of the fleet" if _on_fleet(izde, local) else f"{workers} worker process(es)"
        err_console.print(
            f"search {view.id[:12]} for {', '.join(view.persons)}: {view.recordings} recording(s), "
            f"{view.footage_s / 3600:.2f} h of footage in {view.chunks} chunk(s), {where}"
        )
        _run(izde, view, workers, as_json, local)


search.__doc__ = (search.__doc__ or "").replace("{patterns}", _PATTERNS)


def _on_fleet(izde: Izde, local: bool) -> bool:
    return bool(izde.settings.broker.url) and not local


def _run(izde: Izde, view: SearchView, workers: int, as_json: bool, local: bool) -> None:
    stop = threading.Event()
    with Progress(
        TextColumn("[bold]search {task.fields[case]}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("chunks {task.fields[done]}/{task.fields[chunks]} alerts {task.fields[alerts]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
    ) as progress:
        task = progress.add_task("search", total=view.footage_s, case=view.case, done=0, chunks=view.chunks, alerts=0)

        def shown(v: SearchView) -> None:
            progress.update(task, completed=v.footage_done_s, done=v.chunks_done, alerts=v.alerts)

        shown(view)
        try:
            done = izde.searches.run(view.id, workers, progress=shown, stop=stop, local=local)
        except KeyboardInterrupt:
            stop.set()
            done = izde.searches.stop(view.id)
            err_console.print(f"stopping; resume with 'izde searches resume {view.id[:12]}'")
            raise typer.Exit(130) from None
        shown(done)
    found = izde.searches.sightings(done.id)
    if as_json:
        for s in found:
            print_json(s.as_json())
    else:
        for s in found:
            err_console.print(
                f"[bold red]SIGHTING[/] {s.person} on {s.camera} {s.start:%Y-%m-%d %H:%M:%S}..{s.end:%H:%M:%S} UTC: "
                f"{len(s.alerts)} alert(s), best distance {s.best_distance:.3f} (threshold {s.threshold:.3f}) - "
                "candidates for review, not identifications",
                highlight=False,
            )
    err_console.print(
        f"search {done.id[:12]} {done.status}: {done.chunks_done} of {done.chunks} chunk(s) done, "
        f"{done.chunks_failed} failed, {len(found)} sighting(s) from {done.alerts} alert(s)"
    )
    if done.stop_reason:
        err_console.print(f"[yellow]stopped:[/] {done.stop_reason}")
    if done.status != "completed":
        raise typer.Exit(3)


@app.command("list")
def list_searches(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="One JSON object per line.")
) -> None:
    """Every search: case, status, progress and alerts (operators, auditors)."""
    with user_errors(), open_izde(ctx) as izde:
        views = izde.searches.all()
    if as_json:
        for v in views:
            print_json(v.as_json())
        return
    t = Table("id", "case", "status", "progress", "footage (h)", "alerts", "created (UTC)")
    for v in views:
        t.add_row(
            v.id[:12],
            v.case,
            v.status,
            f"{v.fraction:.0%}",
            f"{v.footage_s / 3600:.2f}",
            str(v.alerts),
            f"{v.created_at:%Y-%m-%d %H:%M}",
        )
    err_console.print(t)


@app.command("show")
def show(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="Search id (or prefix)."),
    as_json: bool = typer.Option(False, "--json", help="The search and its sightings as JSON."),
) -> None:
    """A search's record, progress and sightings."""
    with user_errors(), open_izde(ctx) as izde:
        view = izde.searches.get(ref)
        found = izde.searches.sightings(view.id)
    if as_json:
        print_json({**view.as_json(), "sightings": [s.as_json() for s in found]})
        return
    for k, v in view.as_json().items():
        err_console.print(f"{k}: {v}", highlight=False)
    for s in found:
        err_console.print(
            f"sighting: {s.person} on {s.camera} {s.start.isoformat()} .. {s.end.isoformat()}", highlight=False
        )


@app.command("stop")
def stop(ctx: typer.Context, ref: str = typer.Argument(..., help="Search id (or prefix).")) -> None:
    """Stop a running search; its workers leave unfinished chunks for a resume (operator)."""
    with user_errors(), open_izde(ctx) as izde:
        view = izde.searches.stop(ref)
    err_console.print(f"search {view.id[:12]} {view.status}")


@app.command("resume")
def resume(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="Search id (or prefix)."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, max=64, help="Local worker processes."),
    local: bool = typer.Option(False, "--local", help="Local worker processes even when a fleet is configured."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per sighting on stdout."),
) -> None:
    """Go on with a stopped or interrupted search without redoing finished chunks (operator). On a fleet,
    chunks still running on workers are waited for, not run twice."""
    with user_errors(), open_izde(ctx) as izde:
        view = izde.searches.get(ref)
        _run(izde, view, workers, as_json, local)
