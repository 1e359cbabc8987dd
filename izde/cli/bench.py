"""``izde bench``: speed measurements that compare against a baseline in the same run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer
from rich.table import Table

from izde.cli.common import err_console, print_json, settings, user_errors
from izde.config import Settings
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
    live: float = typer.Option(
        0.0,
        min=0.0,
        help="Also watch N looping MJPEG cameras on 127.0.0.1 for this many seconds per path (0: skip).",
    ),
    live_video: Path | None = typer.Option(None, help="Clip the live cameras loop (default: DATA/video/crowd)."),
    live_size: str = typer.Option("1280x720", help="Frame size the live cameras send, WIDTHxHEIGHT."),
    files: bool = typer.Option(True, help="Run the file-based comparison (--no-files: only the live one)."),
    out: Path | None = typer.Option(None, "--out", help="Also write the figures as JSON to this file."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Several cameras in one process sharing the networks, for the full-frame and the motion-gated path side
    by side: one camera, then N cameras with descriptor batches per camera, then N with batches merged across
    cameras (as 'izde serve' runs sessions); with --live, N live MJPEG cameras: dropped frames and latency."""
    import json

    with user_errors():
        root = shared_data_dir(data)
        video = video or root / "video/hamilton/short_hamilton_clip.mp4"
        refs = reference or [root / "video/hamilton/lin-manuel-miranda.png"]
        s = settings(ctx)
        log = lambda m: err_console.print(m, style="dim", highlight=False)  # noqa: E731
        result: dict[str, object] = {}
        if files:
            from izde.eval.bench_pipeline import compare_cameras

            result.update(compare_cameras(video, refs, s, count, log=log))
        if live:
            result["live"] = _live(root, refs, s, count, live, live_video, live_size, log)
        result = stamp(result)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    if as_json:
        print_json(result)
        return
    if files:
        table = Table(title=f"{video.name}, {result['detector']}, {result['embedder']}")
        cols = ("path", "cameras", "descriptor batches", "seconds", "CPU s", "frames/s (all cameras)", "alerts")
        for col in (*cols, "faces per call"):
            table.add_column(col)
        for r in result["runs"]:  # type: ignore[attr-defined]
            table.add_row(
                r["path"],
                str(r["cameras"]),
                "merged" if r["batching"] else "per camera",
                f"{r['seconds']:.1f}",
                f"{r['cpu_s']:.1f}",
                f"{r['fps']:.1f}",
                str(r["alerts"]),
                f"{r['faces_per_call']:.2f}",
            )
        err_console.print(table)
    if live:
        lv = result["live"]
        table = Table(title=f"{count} live MJPEG cameras on 127.0.0.1 ({lv['size']}, {lv['fps']:g} fps), one process")  # type: ignore[index]
        for col in ("path", "frames due", "dropped", "latency p50 / p99 s", "pixels searched", "faces", "alerts"):
            table.add_column(col, justify="right")
        for name, r in lv["paths"].items():  # type: ignore[index]
            table.add_row(
                name,
                str(r["frames_due"]),
                f"{100 * r['dropped_fraction']:.1f}%",
                f"{r['latency_s']['p50']:.2f} / {r['latency_s']['p99']:.2f}",
                f"{100 * r['pixels_detected_per_frame']:.0f}%",
                str(r["faces"]),
                str(r["alerts"]),
            )
        err_console.print(table)


def _live(
    root: Path,
    refs: list[Path],
    s: Settings,
    count: int,
    seconds: float,
    video: Path | None,
    size: str,
    log: Callable[[str], None],
) -> dict[str, object]:
    from izde.errors import InvalidInput
    from izde.eval.bench_gating import path_settings
    from izde.eval.bench_live import compare_live
    from izde.eval.bench_pipeline import build_gallery
    from izde.vision.stack import build_stack

    try:
        w, h = (int(v) for v in size.lower().split("x"))
    except ValueError as e:
        raise InvalidInput(f"--live-size {size!r} is not WIDTHxHEIGHT", "e.g. 1280x720") from e
    stack = build_stack(s.vision)
    gallery = build_gallery(refs, stack, s)
    clip = video or root / "video/crowd/crowd.mp4"
    return compare_live(clip, (w, h), count, seconds, gallery, path_settings(s), stack, log)


@app.command("search-archive")
def search_archive(
    ctx: typer.Context,
    data: Path | None = typer.Option(None, help="The shared data folder (default: $IZDE_DATA or ../shared/data)."),
    cameras: int = typer.Option(4, min=1, max=64, help="Camera folders in the archive, each with two clips."),
    workers: list[int] | None = typer.Option(None, "--workers", "-w", help="Worker counts to measure (default 1, 2)."),
    chunk_s: float = typer.Option(120.0, min=5, help="Seconds of footage per chunk."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Hours of footage searched per hour (and per core) by 'izde search' with 1 and 2 workers, side by side with
    watching the same files one by one with 'izde watch', in a new data directory."""
    with user_errors():
        from izde.eval.bench_archive import compare

        result = stamp(
            compare(
                shared_data_dir(data),
                settings(ctx),
                cameras=cameras,
                workers=tuple(workers or (1, 2)),
                chunk_s=chunk_s,
                log=lambda m: err_console.print(m, style="dim"),
            )
        )
    if as_json:
        print_json(result)
        return
    table = Table(title=f"Searching {result['footage_s']:.0f} s of footage in {result['recordings']} recordings")
    for col in ("run", "wall s", "CPU s", "footage h/h", "per core", "alerts", "sightings"):
        table.add_column(col)
    for r in result["runs"]:
        table.add_row(
            r["run"],
            f"{r['wall_s']:.1f}",
            f"{r['cpu_s']:.1f}",
            f"{r['footage_h_per_h']:.2f}",
            f"{r['footage_h_per_h_per_core']:.2f}",
            str(r["alerts"]),
            "-" if r["sightings"] is None else str(r["sightings"]),
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
