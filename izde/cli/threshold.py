"""``izde threshold``: what a match threshold means in operation, from a calibration file."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from izde.cli.common import err_console, print_json, settings, user_errors

app = typer.Typer(help="Match thresholds in operational terms: expected false alerts for a watchlist size.")

EXAMPLE_SIZES = (10, 100, 1_000, 10_000, 100_000)


@app.callback()
def _group() -> None:
    """Match thresholds in operational terms."""
    # A callback keeps 'show' a named sub-command even while it is the group's only command.


@app.command("show")
def show(
    ctx: typer.Context,
    watchlist_size: int | None = typer.Option(
        None, "--watchlist-size", "-n", min=1, help="People on the watchlist (default: a table of sizes)."
    ),
    threshold: float | None = typer.Option(
        None,
        "--threshold",
        "-t",
        min=0.0,
        max=2.0,
        help="Threshold to assess (default: the settings' match threshold).",
    ),
    target_rate: float | None = typer.Option(
        None, "--target-rate", help="Wanted false alerts per 10,000 faces: print the threshold that achieves it."
    ),
    calibration_file: Path | None = typer.Option(
        None,
        "--calibration",
        help="Calibration JSON (default: HOME/calibration.json, else the built-in LFW one of the score matched by).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Expected false alerts per 10,000 faces of people not on the list, and the threshold for a target rate."""
    from izde.eval import calibration

    with user_errors():
        s = settings(ctx)
        cal, source = calibration.load(calibration_file, s.home, s.vision.descriptors)
        in_force = size_now = None
        if (s.home / "izde.db").exists() or s.database_url:
            # The deployment's own numbers: the threshold in force (approved changes included) and how many
            # active entries the watchlist has. Both are aggregates: no personal data is read.
            from izde.api import Izde

            with Izde(s) as izde:
                in_force, size_now = izde.threshold(), izde.watchlist_size()
        t = threshold if threshold is not None else in_force if in_force is not None else s.match.threshold
        n = watchlist_size if watchlist_size is not None else size_now or None
        sizes = (n,) if n is not None else EXAMPLE_SIZES
        rows = [cal.report(t, n, target_rate) for n in sizes]
        mismatch = calibration.score_mismatch(cal, s.vision.descriptors)
    if as_json:
        out = {"calibration": source, "calibration_source": cal.source, "results": rows}
        print_json(out | ({"warning": mismatch} if mismatch else {}))
        return
    table = Table(title=f"Threshold {t:.3f} (calibration: {source})")
    table.add_column("watchlist size", justify="right")
    table.add_column("false alerts / 10,000 faces", justify="right")
    table.add_column("1:1 same-person accept", justify="right")
    if target_rate is not None:
        table.add_column(f"threshold for {target_rate:g} / 10,000", justify="right")
        table.add_column("1:1 accept there", justify="right")
    for r in rows:
        cells = [
            f"{r['watchlist_size']:,}",
            f"{r['false_alerts_per_10000_faces']:.3g}",
            f"{100 * r['genuine_accept_rate_1to1']:.1f}%",
        ]
        if target_rate is not None:
            cells += [f"{r['target']['threshold']:.3f}", f"{100 * r['target']['genuine_accept_rate_1to1']:.1f}%"]
        table.add_row(*cells)
    err_console.print(table)
    err_console.print(
        "Faces: each track of a person not on the watchlist counts once. The rates assume independent comparisons "
        "against one template per person and faces like the calibration photos; small or blurred CCTV faces "
        "raise them. Same-person accept is for one photo against one template.",
        style="dim",
    )
    if n is None:
        err_console.print("Give --watchlist-size N for your list's size.", style="dim")
    if mismatch:
        err_console.print(f"Warning: {mismatch}.", style="yellow")
