"""``izde bench``: speed measurements that compare against a baseline in the same run."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from izde.cli.common import err_console, print_json, settings, user_errors
from izde.eval.datasets import shared_data_dir
from izde.eval.provenance import stamp

app = typer.Typer(help="Speed benchmarks, each compared side by side with a baseline in the same process.")


@app.command("pipeline")
def pipeline(
    ctx: typer.Context,
    video: Path | None = typer.Option(None, help="Video file (default: DATA/video/hamilton/short_hamilton_clip.mp4)."),
    reference: list[Path] | None = typer.Option(
        None, "--reference", "-r", help="Reference photo(s) to match (default: Lin-Manuel Miranda's)."
    ),
    data: Path | None = typer.Option(None, help="The shared data folder (default: $IZDE_DATA or ../shared/data)."),
    detector: list[str] | None = typer.Option(
        None, "--detector", help="Also run izde with this detector (hog, mmod); repeat for several."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """izde's default pipeline vs the per-frame baseline (HOG upsample 1 + a descriptor for every face)."""
    with user_errors():
        root = shared_data_dir(data)
        video = video or root / "video/hamilton/short_hamilton_clip.mp4"
        refs = reference or [root / "video/hamilton/lin-manuel-miranda.png"]
        from izde.eval.bench_pipeline import compare

        result = stamp(
            compare(
                video,
                refs,
                settings(ctx),
                log=lambda m: err_console.print(m, style="dim"),
                detectors=tuple(detector or ()),
            )
        )
    if as_json:
        print_json(result)
        return
    table = Table(title=f"Pipeline on {video.name} (threshold {result['threshold']})")
    for col in ("run", "seconds", "frames/s", "analysed", "faces", "descriptors", "alerts", "persons"):
        table.add_column(col)
    for r in result["runs"]:
        table.add_row(
            r["name"],
            f"{r['seconds']:.1f}",
            f"{r['fps']:.1f}",
            str(r["frames_analysed"]),
            str(r["faces"]),
            str(r["descriptors"]),
            str(r["alerts"]),
            ", ".join(r["persons"]) or "-",
        )
    err_console.print(table)
    for name, ratio in result["speedups"].items():
        err_console.print(f"{name} is [bold]{ratio:.1f}x[/] the baseline's frames per second")


@app.command("cameras")
def cameras(
    ctx: typer.Context,
    count: int = typer.Option(4, "--cameras", "-n", min=2, max=64, help="Cameras watched at once, in threads."),
    video: Path | None = typer.Option(None, help="Video each camera plays (default: the Hamilton clip)."),
    reference: list[Path] | None = typer.Option(
        None, "--reference", "-r", help="Reference photo(s) to match (default: Lin-Manuel Miranda's)."
    ),
    data: Path | None = typer.Option(None, help="The shared data folder (default: $IZDE_DATA or ../shared/data)."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Several cameras in one process sharing the networks: one camera, then N cameras with descriptor
    batches per camera, then N with batches merged across cameras (as 'izde serve' runs sessions)."""
    with user_errors():
        root = shared_data_dir(data)
        video = video or root / "video/hamilton/short_hamilton_clip.mp4"
        refs = reference or [root / "video/hamilton/lin-manuel-miranda.png"]
        from izde.eval.bench_pipeline import compare_cameras

        result = stamp(
            compare_cameras(video, refs, settings(ctx), count, log=lambda m: err_console.print(m, style="dim"))
        )
    if as_json:
        print_json(result)
        return
    table = Table(title=f"{video.name}, {result['detector']}, {result['embedder']}")
    for col in ("cameras", "descriptor batches", "seconds", "frames/s (all cameras)", "alerts", "faces per call"):
        table.add_column(col)
    for r in result["runs"]:
        table.add_row(
            str(r["cameras"]),
            "merged" if r["batching"] else "per camera",
            f"{r['seconds']:.1f}",
            f"{r['fps']:.1f}",
            str(r["alerts"]),
            f"{r['faces_per_call']:.2f}",
        )
    err_console.print(table)
