"""``izde bench search|capacity|stages``: plain command functions, mounted on the ``izde bench`` app by the main CLI."""

from __future__ import annotations

import json
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
    err_console.print(f"match against 1,000 persons: {1000 * result['match_1000_persons_s']:.3f} ms")


def capacity(
    ctx: typer.Context,
    data: Path | None = DataOpt,
    frames: int = typer.Option(12, min=1, help="Frames per clip timed."),
    cores: int | None = typer.Option(None, min=1, help="Cores to plan for (default: this machine's)."),
    out: Path | None = OutOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """How many cameras at the settings' analysis rate one machine sustains, from measured per-frame cost."""
    from izde.eval import bench_stages

    with user_errors():
        s = settings(ctx)
        clips = bench_stages.load_clips(shared_data_dir(data), frames)
        st = bench_stages.stages(clips, s, (1, 4), 0, log=lambda m: err_console.print(m, style="dim"))
        result = stamp({"capacity": bench_stages.capacity(st, s, cores), "stages": st})
    _write(result, out)
    if as_json:
        print_json(result)
        return
    cap = result["capacity"]
    table = Table(title=f"Cameras per machine at {cap['analysis_fps']:g} analysed frames/s ({cap['cores']} cores)")
    for col in ("video", "faces / frame", "CPU s per camera-second", "cameras"):
        table.add_column(col, justify="right")
    for name, c in cap["clips"].items():
        cpu, cams = c["cpu_s_per_camera_second"], c["cameras"]
        table.add_row(
            name,
            f"{c['faces_per_frame']:.1f}",
            f"{cpu['typical']:.2f} typical, {cpu['worst']:.2f} worst",
            f"{cams['typical']:.1f} typical, {cams['worst']:.1f} worst",
        )
    err_console.print(table)
    for a in cap["assumptions"]:
        err_console.print(f"- {a}", style="dim", highlight=False)
