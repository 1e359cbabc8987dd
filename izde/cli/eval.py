"""``izde eval``: accuracy on face datasets (verification, identification, strategies, robustness, calibration)."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from izde.cli.common import err_console, print_json, settings, user_errors
from izde.eval.datasets import shared_data_dir

app = typer.Typer(help="Accuracy evaluation on face datasets, with JSON, markdown and PNG plots.", no_args_is_help=True)

DataOpt = typer.Option(
    None, "--data", help="Dataset folder (default: $IZDE_DATA/lfw-devtrain, else ../shared/data/lfw-devtrain)."
)
WorkersOpt = typer.Option(min(2, os.cpu_count() or 1), "--workers", min=1, help="Processes computing descriptors.")
JsonOpt = typer.Option(False, "--json", help="Print the figures as JSON on stdout.")
PlotsOpt = typer.Option(None, "--plots", help="Folder to write PNG plots into.")


def default_data(data: Path | None) -> Path:
    return data if data is not None else shared_data_dir() / "lfw-devtrain"


@contextmanager
def progress_factory() -> Iterator[Callable[[str], Callable[[int, int], None] | None]]:
    """Rich progress bars on stderr, one per embedding step; a step that is all cached shows no bar."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    ) as bars:

        def make(description: str) -> Callable[[int, int], None] | None:
            task: list[Any] = []

            def update(done: int, total: int) -> None:
                if not task:
                    if done >= total:
                        return
                    task.append(bars.add_task(description, total=total))
                bars.update(task[0], completed=done, total=total)

            return update

        yield make


def _context(ctx: typer.Context, data: Path | None, workers: int, plots: Path | None, bars: Any) -> Any:
    from izde.eval.datasets import require_dir
    from izde.eval.suite import Context

    s = settings(ctx)
    return Context(require_dir(default_data(data)), s.vision, s.match.threshold, workers, progress=bars, plots=plots)


def _emit(result: dict[str, Any], as_json: bool, render: Callable[[dict[str, Any]], list[str]]) -> None:
    if as_json:
        print_json(result)
    else:
        from rich.markdown import Markdown

        # Plot links mean nothing in a terminal; the files are where --plots put them.
        err_console.print(Markdown("\n".join(line for line in render(result) if not line.startswith("!["))))


def _sizes(values: list[int] | None, default: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(values) if values else default


@app.command("verify")
def verify_cmd(
    ctx: typer.Context,
    data: Path | None = DataOpt,
    pairs: Path | None = typer.Option(None, help="LFW-format pairs file (default: the one in the dataset folder)."),
    limit: int | None = typer.Option(None, min=2, help="Use only this many pairs, half same and half different."),
    workers: int = WorkersOpt,
    plots: Path | None = PlotsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """1:1 verification on pairs: accuracy at the settings' and the best threshold, TAR at FAR, ROC."""
    from izde.eval import suite
    from izde.eval.report import verification_md

    with user_errors(), progress_factory() as bars:
        c = _context(ctx, data, workers, plots, bars)
        result = suite.verification(c, pairs, limit)
    _emit(result, as_json, verification_md)


@app.command("identify")
def identify_cmd(
    ctx: typer.Context,
    data: Path | None = DataOpt,
    gallery_size: list[int] | None = typer.Option(
        None, "--gallery-size", "-g", min=1, help="Enrolled identities; repeat for several (default 100, 300, 1000)."
    ),
    enrol_photos: int = typer.Option(1, min=1, help="Photos enrolled per person."),
    max_probes: int = typer.Option(5, min=1, help="Most mated probe photos per enrolled person."),
    seed: int = typer.Option(0, help="Seed of the choice of enrolled identities."),
    labels: Path | None = typer.Option(None, help="CSV 'path,group' giving image or identity groups (LFW has none)."),
    workers: int = WorkersOpt,
    plots: Path | None = PlotsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """1:N identification: rank-1 and FNIR at FPIR 1e-2 / 1e-3 per gallery size, DET plot."""
    from izde.eval import suite
    from izde.eval.report import identification_md

    with user_errors(), progress_factory() as bars:
        c = _context(ctx, data, workers, plots, bars)
        result = suite.identify(
            c, _sizes(gallery_size, suite.DEFAULT_GALLERY_SIZES), enrol_photos, max_probes, seed, labels
        )
    _emit(result, as_json, identification_md)


@app.command("strategies")
def strategies_cmd(
    ctx: typer.Context,
    data: Path | None = DataOpt,
    track_len: int = typer.Option(3, min=2, help="Photos fused into one simulated track."),
    max_enrol: int = typer.Option(5, min=2, help="Most photos enrolled per person."),
    networks: bool = typer.Option(
        False, "--networks", help="Each strategy with dlib, FaceRes and fused (needs FaceRes and the dataset's pairs)."
    ),
    workers: int = WorkersOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Enrol one photo vs all photos (closest or mean descriptor), single frame vs fused track."""
    from izde.eval import suite
    from izde.eval.report import strategies_by_network_md, strategies_md

    with user_errors(), progress_factory() as bars:
        c = _context(ctx, data, workers, None, bars)
        if networks:
            result = suite.compare_strategies_by_network(c, track_len, max_enrol)
        else:
            result = suite.compare_strategies(c, track_len, max_enrol)
    _emit(result, as_json, strategies_by_network_md if networks else strategies_md)


@app.command("robustness")
def robustness_cmd(
    ctx: typer.Context,
    data: Path | None = DataOpt,
    gallery_size: int = typer.Option(1000, "--gallery-size", "-g", min=1, help="Enrolled identities."),
    nonmated: int = typer.Option(1000, min=10, help="Non-mated probe photos (an even sample)."),
    slices: list[str] | None = typer.Option(
        None,
        "--slice",
        help="Probe variants: clean, eyesN, jpegQ or eyesN+jpegQ (default: clean, eyes40/30/20, jpeg30).",
    ),
    networks: bool = typer.Option(
        False, "--networks", help="Each slice with dlib, FaceRes and fused (needs FaceRes: 'izde models build')."
    ),
    workers: int = WorkersOpt,
    as_json: bool = JsonOpt,
) -> None:
    """FNIR at FPIR 1e-2 with small (downscaled) and JPEG-compressed probes."""
    from izde.eval import robustness, suite
    from izde.eval.report import robustness_by_network_md, robustness_md

    chosen = tuple(slices or robustness.DEFAULT_SLICES)
    with user_errors(), progress_factory() as bars:
        c = _context(ctx, data, workers, None, bars)
        if networks:
            result = suite.robustness_by_network(c, gallery_size, nonmated, chosen)
        else:
            result = suite.robustness_slices(c, gallery_size, nonmated, chosen)
    _emit(result, as_json, robustness_by_network_md if networks else robustness_md)


@app.command("calibrate")
def calibrate_cmd(
    ctx: typer.Context,
    data: Path | None = DataOpt,
    out: Path | None = typer.Option(None, "--out", help="Where to write (default: HOME/calibration.json)."),
    gallery_size: list[int] | None = typer.Option(
        None, "--gallery-size", "-g", min=1, help="Gallery sizes of the measured non-mated curves."
    ),
    workers: int = WorkersOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Write the distance distributions from which 'izde threshold show' predicts false alerts.

    Distances are those of the score vision.descriptors matches by: dlib's, or the fused one in dlib's units
    (which needs the FaceRes network, 'izde models build')."""
    from izde.eval import calibration, suite

    with user_errors(), progress_factory() as bars:
        c = _context(ctx, data, workers, None, bars)
        cal = suite.calibrate(c, _sizes(gallery_size, suite.DEFAULT_GALLERY_SIZES))
        path = out or calibration.user_path(settings(ctx).home)
        calibration.write(cal, path)
    summary = {
        "path": str(path),
        "source": cal["source"],
        "gallery_sizes": sorted(int(g) for g in cal["nonmated_nearest"]),
    }
    if as_json:
        print_json(summary)
    else:
        err_console.print(f"calibration written to [bold]{path}[/] from {cal['source']['images']} photos")


@app.command("report")
def report_cmd(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="Folder for README.md, report.json, calibration.json and plots."),
    data: Path | None = DataOpt,
    gallery_size: list[int] | None = typer.Option(None, "--gallery-size", "-g", min=1, help="Gallery sizes."),
    workers: int = WorkersOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Run every evaluation and write a documentation-ready report folder."""
    from izde.eval import suite

    argv = sys.argv[1:]
    command = "izde eval report " + shlex.join(argv[argv.index("report") + 1 :] if "report" in argv else argv)
    with user_errors(), progress_factory() as bars:
        c = _context(ctx, data, workers, None, bars)
        result = suite.report(c, out, command, _sizes(gallery_size, suite.DEFAULT_GALLERY_SIZES))
    if as_json:
        print_json(result)
    else:
        err_console.print(f"report written to [bold]{out / 'README.md'}[/]")


@app.command("fusion")
def fusion_cmd(
    data: Path | None = DataOpt,
    gallery_size: list[int] | None = typer.Option(None, "--gallery-size", "-g", min=1, help="Gallery sizes."),
    out: Path | None = typer.Option(None, "--out", help="Also write the figures to this JSON file."),
    cost: bool = typer.Option(True, "--cost/--no-cost", help="Also time each network per face on this machine."),
    plots: Path | None = PlotsOpt,
    calibration_out: Path | None = typer.Option(
        None, "--calibration-out", help="Write the fusion's normalisers, weights and threshold to this JSON file."
    ),
    workers: int = WorkersOpt,
    as_json: bool = JsonOpt,
) -> None:
    """dlib's descriptor alone, FaceRes alone and both fused: LFW verification and 1:N FNIR at FPIR 1e-2/1e-3.

    Needs the FaceRes network ('izde models build'). The fusion's normalisers are fitted on the dataset's
    pairs file, so run it on LFW dev-train only."""
    import json

    from izde.eval import fusion
    from izde.eval.datasets import require_dir

    with user_errors(), progress_factory() as bars:
        result = fusion.compare(
            require_dir(default_data(data)),
            _sizes(gallery_size, (100, 1000)),
            workers,
            bars("FaceRes descriptors"),
            plots=plots,
        )
        if cost:
            result["ms_per_face"] = fusion.cost_per_face()
    if out is not None:
        out.write_text(json.dumps(result, indent=2) + "\n")
    if calibration_out is not None:
        argv = sys.argv[1:]
        command = "izde eval fusion " + shlex.join(argv[argv.index("fusion") + 1 :] if "fusion" in argv else argv)
        calibration_out.write_text(json.dumps(fusion.calibration_doc(result, command), indent=2) + "\n")
    _emit(result, as_json, fusion.table)
