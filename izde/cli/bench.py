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


@app.command("fleet")
def fleet(
    ctx: typer.Context,
    workers: int = typer.Option(3, "--workers", min=1, max=64, help="izde worker processes."),
    cameras: int = typer.Option(4, "--cameras", min=1, max=256, help="Live MJPEG cameras replaying the clip."),
    seconds: float = typer.Option(60.0, min=10.0, help="How long each run (baseline, fleet) watches."),
    fps: float = typer.Option(1.5, min=0.1, help="Analysed frames per second and camera."),
    capacity: int | None = typer.Option(None, min=1, help="Sessions per worker (default: enough for all)."),
    kill_worker_after: float | None = typer.Option(
        None, "--kill-worker-after", min=1.0, help="SIGKILL one worker this many seconds into the fleet run."
    ),
    video: Path | None = typer.Option(None, help="Clip the cameras replay (default: the Hamilton clip)."),
    data: Path | None = typer.Option(None, help="The shared data folder (default: $IZDE_DATA or ../shared/data)."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Sessions on N worker processes over a real nats-server (local, in a temporary folder), against one
    in-process server on the same cameras in the same run: alerts expected, stored, lost and doubled, the
    failover time, alert latency, analysed and dropped frames."""
    with user_errors():
        root = shared_data_dir(data)
        video = video or root / "video/hamilton/short_hamilton_clip.mp4"
        reference = root / "video/hamilton/lin-manuel-miranda.png"
        from izde.eval.bench_fleet import bench_fleet

        base = settings(ctx, web={"secure_cookies": False}, broker={"failover_s": 6.0, "recheck_s": 2.0})
        result = stamp(
            bench_fleet(
                video,
                reference,
                base,
                workers=workers,
                cameras=cameras,
                seconds=seconds,
                fps=fps,
                capacity=capacity,
                kill_worker_after=kill_worker_after,
                log=lambda m: err_console.print(m, style="dim"),
            )
        )
    if as_json:
        print_json(result)
        return
    table = Table(title=f"{workers} workers, {cameras} cameras, {seconds:.0f} s")
    for col in ("run", "expected", "stored", "lost", "duplicates", "failover s", "latency p50/p99 ms", "fps"):
        table.add_column(col)
    for name in ("baseline", "fleet"):
        r = result[name]
        table.add_row(
            name,
            str(r["alerts_expected"]),
            str(r["alerts_stored"]),
            str(r["lost"]),
            str(r["duplicates"]),
            str(r.get("failover_s_max") or "-"),
            f"{r['alert_latency_ms_p50']}/{r['alert_latency_ms_p99']}",
            str(r["frames_analysed_per_s"]),
        )
    err_console.print(table)
