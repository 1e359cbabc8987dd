"""``izde bench search|capacity|stages``: plain command functions, mounted on the ``izde bench`` app by the main CLI."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from izde.cli.common import err_console, print_json, settings, user_errors
from izde.eval.datasets import shared_data_dir
from izde.eval.provenance import stamp

DataOpt = typer.Option(None, "--data", help="The shared data folder (default: $IZDE_DATA or ../shared/data).")
OutOpt = typer.Option(None, "--out", help="Also write the figures as JSON to this file.")


def _write(result: dict[str, Any], out: Path | None) -> None:
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


def search(
    size: list[int] | None = typer.Option(
        None, "--size", "-n", min=1, help="Templates in the gallery; repeat (default 1e3, 1e4, 1e5, 1e6)."
    ),
    method: list[str] | None = typer.Option(
        None, "--method", help="gallery, numpy, faiss-flat, faiss-ivf, faiss-hnsw (default: all)."
    ),
    probes: int = typer.Option(200, min=10, help="Mated probes timed per configuration."),
    out: Path | None = OutOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """1:N search latency per probe, memory and recall@1 against gallery size: exact numpy vs FAISS indexes."""
    from izde.eval import bench_search

    with user_errors():
        methods = tuple(method or bench_search.DEFAULT_METHODS)
        unknown = set(methods) - set(bench_search.DEFAULT_METHODS)
        if unknown:
            from izde.errors import InvalidInput

            raise InvalidInput(f"unknown method(s) {sorted(unknown)}", f"use {', '.join(bench_search.DEFAULT_METHODS)}")
        result = stamp(
            bench_search.run(
                tuple(size or bench_search.DEFAULT_SIZES),
                methods,
                probes,
                log=lambda m: err_console.print(m, style="dim", highlight=False),
            )
        )
    _write(result, out)
    if as_json:
        print_json(result)
        return
    table = Table(title="1:N search, one probe at a time")
    for col in ("templates", "method", "parameters", "ms / probe", "recall@1", "build s", "memory MB"):
        table.add_column(col, justify="right")
    for r in result["rows"]:
        params = " ".join(f"{k}={r[k]}" for k in ("nlist", "nprobe", "M", "efSearch") if k in r)
        table.add_row(
            f"{r['templates']:,}",
            r["method"],
            params,
            f"{r['ms_per_probe']:.3f}",
            f"{r['recall_at_1']:.3f}",
            f"{r['build_s']:.1f}",
            f"{r['memory_mb']:.0f}",
        )
    err_console.print(table)


def stages(
    ctx: typer.Context,
    data: Path | None = DataOpt,
    frames: int = typer.Option(12, min=1, help="Frames per clip timed for detection and alignment."),
    batch: list[int] | None = typer.Option(None, "--batch", min=1, help="Descriptor batch sizes (default 1, 4, 16)."),
    mmod_frames: int = typer.Option(1, min=0, help="Frames timed with dlib's MMOD detector (slow; 0 skips)."),
    out: Path | None = OutOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Per-stage latency (decode, detect, landmarks + chip, descriptor, match) on 640x360 and 1280x720 video."""
    from izde.eval import bench_stages

    with user_errors():
        s = settings(ctx)
        clips = bench_stages.load_clips(shared_data_dir(data), frames)
        result = stamp(
            bench_stages.stages(
                clips, s, tuple(batch or (1, 4, 16)), mmod_frames, log=lambda m: err_console.print(m, style="dim")
            )
        )
    _write(result, out)
    if as_json:
        print_json(result)
        return
    table = Table(title="Per-stage cost (ms)")
    for col in ("stage", *result["clips"]):
        table.add_column(col, justify="right")
    clips_r = list(result["clips"].values())

    def ms(v: float | None) -> str:
        return "-" if v is None else f"{1000 * v:.2f}"

    table.add_row("grab (every frame)", *[ms(c["decode"]["grab_s"]) for c in clips_r])
    table.add_row("retrieve + RGB (analysed frame)", *[ms(c["decode"]["retrieve_rgb_s"]) for c in clips_r])
    for det in clips_r[0]["detect"]:
        table.add_row(f"detect {det}", *[ms(c["detect"].get(det)) for c in clips_r])
        table.add_row(f"  CPU time, {det}", *[ms(c["detect_cpu"].get(det)) for c in clips_r])
    table.add_row("landmarks + chip / face", *[ms(c["landmarks_chip_per_face_s"]) for c in clips_r])
    table.add_row("quality / face", *[ms(c["quality_per_face_s"]) for c in clips_r])
    for det in clips_r[0]["faces_per_frame_by_detector"]:
        table.add_row(f"faces per frame, {det}", *[f"{c['faces_per_frame_by_detector'][det]:.1f}" for c in clips_r])
    err_console.print(table)
    for name, e in result["embedders"].items():
        if isinstance(e, str):
            err_console.print(f"descriptor {name}: {e}")
        else:
            per = ", ".join(f"batch {b}: {1000 * v:.1f}" for b, v in e["per_face_s_by_batch"].items())
            err_console.print(f"descriptor {name} (ms per face): {per}")
    for name, e in result.get("fused_embedders", {}).items():
        per = ", ".join(f"batch {b}: {1000 * v:.1f}" for b, v in e["per_face_s_by_batch"].items())
        chip = 1000 * e["chip_per_face_s"]
        err_console.print(f"descriptor {name}, fused with dlib's (ms per face): chip {chip:.2f}; {per}")
    err_console.print(f"match against 1,000 persons: {1000 * result['match_1000_persons_s']:.3f} ms")


def capacity(
    ctx: typer.Context,
    data: Path | None = DataOpt,
    repeat: int = typer.Option(1, min=1, help="Runs per clip and path; the one with the least CPU time counts."),
    clip: list[str] | None = typer.Option(
        None,
        "--clip",
        help="Only clips whose name contains this (hamilton, crowd, still, 1080, 720); repeat for several.",
    ),
    also: list[str] | None = typer.Option(
        None,
        "--also",
        help="Also run the gated path with pipeline or vision settings changed, e.g. 'search_every=2' or 'threads=2'.",
    ),
    with_stages: bool = typer.Option(
        False, "--stages", help="Also estimate from per-stage costs, as earlier versions did (slower)."
    ),
    frames: int = typer.Option(12, min=1, help="With --stages: frames per clip timed."),
    cores: int | None = typer.Option(None, min=1, help="With --stages: cores to plan for (default: this machine's)."),
    people: int = typer.Option(
        1,
        min=1,
        help="People on the watchlist: Lin-Manuel Miranda and people-1 from LFW dev-train. The fused networks "
        "run only for tracks dlib's descriptor puts near someone (match.screen_margin), which grows with the list.",
    ),
    out: Path | None = OutOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Cameras per machine at the settings' analysis rate, measured: each shared clip is watched through the
    full-frame path (every analysed frame searched whole) and the motion-gated path, side by side, and
    charged the process CPU time it used (decoding included)."""
    from izde.eval import bench_gating
    from izde.eval.bench_pipeline import watchlist_of
    from izde.vision.stack import build_stack

    log = lambda m: err_console.print(m, style="dim", highlight=False)  # noqa: E731
    with user_errors():
        s = settings(ctx)
        root = shared_data_dir(data)
        extra = {f"gated {a}": bench_gating.variant(s, a) for a in also or ()}
        stack = build_stack(s.vision)
        gallery = watchlist_of(root, people, stack, s)
        with tempfile.TemporaryDirectory(prefix="izde-bench-") as tmp:
            clips = [
                c
                for c in bench_gating.shared_clips(root, Path(tmp))
                if not clip or any(k.lower() in c.name.lower() for k in clip)
            ]
            if not clips:
                from izde.errors import InvalidInput

                raise InvalidInput(f"no clip matches {clip}", "use hamilton, crowd, still, 1080 or 720")
            measured = bench_gating.compare_paths(clips, gallery, s, stack, repeat, log, extra)
            measured["watchlist"] = len(gallery)
        result: dict[str, Any] = {"measured": measured}
        if with_stages:
            from izde.eval import bench_stages

            st = bench_stages.stages(bench_stages.load_clips(root, frames), s, (1, 4), 0, log=log)
            result["estimate"] = {"capacity": bench_stages.capacity(st, s, cores), "stages": st}
        result = stamp(result)
    _write(result, out)
    if as_json:
        print_json(result)
        return
    m = result["measured"]
    table = Table(
        title=f"Cameras per machine at {m['analysis_fps']:g} analysed frames/s ({m['cores']} cores, "
        f"{m['settings']['detector']}, {m.get('watchlist', 1):,} on the watchlist), measured"
    )
    cols = ("clip", "path", "CPU s / camera-s", "cameras", "x real time", "pixels searched", "full scans")
    for col in (*cols, "regions / frame", "faces (carried)", "tracks", "described (fused)", "alerts"):
        table.add_column(col, justify="right")
    for name, c in m["clips"].items():
        for path, f in c["paths"].items():
            table.add_row(
                name,
                path,
                f"{f['cpu_s_per_camera_second']:.3f}",
                f"{f['cameras']:.1f}",
                f"{f['realtime_x']:.2f}",
                f"{100 * f['pixels_detected_per_frame']:.0f}%",
                f"{f['full_scans']}/{f['frames_analysed']}",
                f"{f['regions_per_frame']:.1f}",
                f"{f['faces']} ({f['carried']})",
                str(f["tracks"]),
                f"{f['descriptors']} ({f['descriptors_fused']})",
                str(f["alerts"]),
            )
    err_console.print(table)
    load = m["load_average"]
    err_console.print(
        f"load average (1, 5, 15 min) at the start {load['start']}, at the end {load['end']}; x real time is "
        "wall-clock and moves with the load, CPU seconds much less",
        style="dim",
        highlight=False,
    )
    if "estimate" in result:
        for name, c in result["estimate"]["capacity"]["clips"].items():
            cams = c["cameras"]
            err_console.print(
                f"per-stage estimate, full frame, {name}: {cams['typical']:.1f} typical, {cams['worst']:.1f} worst"
            )


def mmod_int8(
    data: Path | None = DataOpt,
    every: int = typer.Option(10, min=1, help="Compare on every Nth frame of each clip."),
    out: Path | None = OutOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """MMOD quantized to INT8 (ONNX Runtime static quantization) against the float model on real frames:
    boxes found again, boxes added, box overlap, CPU time per frame."""
    from izde.eval import bench_int8

    with user_errors():
        frames, calibration = bench_int8.shared_frames(shared_data_dir(data), every)
        result = stamp(bench_int8.run(frames, calibration, log=lambda m: err_console.print(m, style="dim")))
    _write(result, out)
    if as_json:
        print_json(result)
        return
    table = Table(title="MMOD (upsample 0): INT8 against float, ONNX Runtime on the CPU")
    for col in ("frames", "float boxes", "found again", "added", "mean IoU", "CPU ms float / INT8", "speed-up"):
        table.add_column(col, justify="right")
    for name, g in result["groups"].items():
        cpu = g["cpu_s_per_frame"]
        table.add_row(
            f"{name}: {g['frames']}",
            str(g["reference"]),
            str(g["found_again"]),
            str(g["added"]),
            "-" if g["mean_iou_matched"] is None else f"{g['mean_iou_matched']:.3f}",
            f"{1000 * cpu['float']:.0f} / {1000 * cpu['int8']:.0f}",
            f"{g['speedup']:.2f}x",
        )
    err_console.print(table)
