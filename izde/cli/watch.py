"""``izde watch``: run the pipeline over one source as one camera."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from izde.api import AlertView
from izde.cli.alerts import parse_time
from izde.cli.common import err_console, open_izde, print_json, user_errors
from izde.cli.views import alert_dict
from izde.config import Settings
from izde.pipeline.watcher import WatchCounters
from izde.vision.types import Frame


def _frame_total(source: str | None) -> int | None:
    from pathlib import Path

    import cv2

    if not source or not Path(source).is_file():
        return None
    cap = cv2.VideoCapture(source)
    try:
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    finally:
        cap.release()
    return n or None


def _recorded_at(value: str | None) -> datetime | None:
    return parse_time(value, "--recorded-at")


def one_source(s: Settings) -> Settings:
    """One source watched alone has the cores to itself. Its shots are described on a second thread while the
    next frame is detected, and where the picture moves everywhere the next frames are detected side by side
    (``pipeline.describe_ahead``, ``pipeline.detect_ahead``), unless those were set. With dlib's detectors, whose
    search of one frame is cut into jobs for every core, the networks run on all cores unless
    ``vision.threads`` was set; BlazeFace keeps one thread a network: its own threads gain little (1.35x on two
    cores), while frames side by side gain 2x (measured by ``izde bench capacity``)."""
    if "threads" not in s.vision.model_fields_set and s.vision.detector != "blazeface":
        s = s.model_copy(update={"vision": s.vision.model_copy(update={"threads": 0})})
    ahead = {key: True for key in ("describe_ahead", "detect_ahead") if key not in s.pipeline.model_fields_set}
    if ahead:
        s = s.model_copy(update={"pipeline": s.pipeline.model_copy(update=ahead)})
    return s


def watch(
    ctx: typer.Context,
    source: str | None = typer.Argument(
        None, help="The camera's registered source (video file, image folder, stream URL, webcam); may be left out."
    ),
    camera: str = typer.Option(..., "--camera", "-c", help="Name of the registered camera to read."),
    authorisation: str = typer.Option(
        ..., "--authorisation", "-a", help="Id (or prefix) of the authorisation this session runs under."
    ),
    recorded_at: str | None = typer.Option(
        None, help="For recorded footage: when the recording started (ISO 8601 with zone)."
    ),
    fps: float | None = typer.Option(None, "--fps", min=0.1, help="Analysed frames per second (default: settings)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per alert on stdout."),
) -> None:
    """Watch a source for the persons named in an authorisation (operator).

    Faces that match nobody are dropped in memory; only counts of faces and tracks are kept. Each match
    raises one alert with an evidence crop for two operators to review. The session stops by itself at the
    end of the authorised window. Exit status: 0 when the source was read to its end, 3 when it could not be
    read, ended early or was stopped by its authorisation, 5 when the permission or the authorisation is
    missing, 130 when stopped with Ctrl-C.
    """
    overrides: dict[str, Any] = {"pipeline": {"analysis_fps": fps}} if fps else {}
    stop = threading.Event()
    with user_errors(), open_izde(ctx, adjust=one_source, **overrides) as izde:
        started = _recorded_at(recorded_at)
        total = _frame_total(source)

        def on_alert(a: AlertView) -> None:
            if as_json:
                print_json(alert_dict(a))
            else:
                progress.console.print(
                    f"[bold red]ALERT[/] {a.person_name} on {a.camera} at {a.position_s:.1f} s: distance "
                    f"{a.distance:.3f} (threshold {a.threshold:.3f}) - a candidate for review, not an identification"
                )

        with Progress(
            TextColumn("[bold]{task.fields[camera]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("faces {task.fields[faces]} tracks {task.fields[tracks]} alerts {task.fields[alerts]}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=False,
        ) as progress:
            task = progress.add_task("watch", total=total, camera=camera, faces=0, tracks=0, alerts=0)

            def on_frame(frame: Frame, c: WatchCounters) -> None:
                progress.update(
                    task, completed=frame.index + 1, faces=c.faces_seen, tracks=c.tracks_seen, alerts=c.alerts
                )

            try:
                report = izde.watch(
                    source,
                    camera,
                    authorisation,
                    recorded_at=started,
                    stop=stop,
                    progress=on_frame,
                    on_alert=on_alert,
                )
            except KeyboardInterrupt:
                err_console.print("stopped by the user")
                raise typer.Exit(130) from None
    err_console.print(
        f"run {report.run_id[:12]} {report.status}: {report.frames_read} frames read, {report.frames_analysed} "
        f"analysed, {report.frames_dropped} dropped, {report.faces_seen} faces in {report.tracks_seen} tracks, "
        f"{len(report.alerts)} alert(s)" + (f", {report.reconnects} reconnect(s)" if report.reconnects else "")
    )
    if report.stop_reason:
        err_console.print(f"[yellow]stopped:[/] {report.stop_reason}")
    if report.error:
        err_console.print(f"[bold red]error:[/] {report.error}")
    if not report.finished:
        raise typer.Exit(3)
