"""The full-frame pipeline against the motion-gated one, side by side in one process, on real clips.

Each path watches each clip the way ``izde watch`` does (a file source paced by analysis, the settings'
detector and descriptor), and is charged the process CPU time it used, decoding included: on a shared machine
wall-clock time depends on the neighbours, CPU time much less. Cameras per machine = cores / CPU seconds per
second of video. The load average at the start and end of the run is recorded with the figures.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
from pydantic import ValidationError

from izde.config import MatchSettings, PipelineSettings, Settings, VisionSettings
from izde.errors import InvalidInput
from izde.eval.bench_stages import detector_key
from izde.pipeline.run import run_source
from izde.pipeline.sources import FileSource, SourceKind, SourceSpec
from izde.pipeline.watcher import AlertEvent, Watcher
from izde.vision.parallel import usable_cores
from izde.vision.stack import VisionStack, build_stack
from izde.watchlist.index import Index

HAMILTON = Path("video/hamilton/short_hamilton_clip.mp4")
CROWD = Path("video/crowd/crowd.mp4")


@dataclass(frozen=True, slots=True)
class BenchClip:
    name: str
    path: Path
    seconds: float  # length of the video
    size: tuple[int, int]  # width, height


def clip_of(name: str, path: Path) -> BenchClip:
    cap = cv2.VideoCapture(str(path))
    try:
        fps = float(cap.get(cv2.CAP_PROP_FPS)) or 25.0
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    finally:
        cap.release()
    return BenchClip(name, path, n / fps, size)


def resized_copy(src: Path, size: tuple[int, int], out: Path) -> Path:
    """``src`` resized to ``size`` and written with OpenCV's mp4v codec (a real stream to decode)."""
    cap = cv2.VideoCapture(str(src))
    fps = float(cap.get(cv2.CAP_PROP_FPS)) or 25.0
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            writer.write(cv2.resize(bgr, size, interpolation=cv2.INTER_AREA))
    finally:
        cap.release()
        writer.release()
    return out


def held_clip(src: Path, frame_index: int, seconds: float, out: Path, size: tuple[int, int] | None = None) -> Path:
    """One real frame of ``src`` (resized to ``size``) repeated for ``seconds`` at the clip's rate: a still
    scene with a face that keeps perfectly still, made by holding a frame, not filmed so."""
    cap = cv2.VideoCapture(str(src))
    fps = float(cap.get(cv2.CAP_PROP_FPS)) or 25.0
    bgr = None
    for _ in range(frame_index + 1):
        ok, bgr = cap.read()
        if not ok:
            cap.release()
            raise InvalidInput(f"{src} has fewer than {frame_index + 1} frames")
    cap.release()
    assert bgr is not None
    if size is not None:
        bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_CUBIC)
    h, w = bgr.shape[:2]
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
    try:
        for _ in range(round(seconds * fps)):
            writer.write(bgr)
    finally:
        writer.release()
    return out


# Frame 144 of the Hamilton clip: Lin-Manuel Miranda facing the camera.
HELD_FRAME = 144
# Long enough for the adaptive full scans to reach their steady state (every full_scan_max_s by default).
STILL_S = 20.0


def shared_clips(data: Path, workdir: Path | None = None, still: bool = True) -> list[BenchClip]:
    """640x360 Hamilton, crowd.mp4 at 1920x1080 and a 1280x720 copy of it made in ``workdir``; with ``still``,
    also a still scene at 640x360 and at 1280x720 (a Hamilton frame held for ``STILL_S``; the 720p one upscaled)."""
    for rel in (HAMILTON, CROWD):
        if not (data / rel).is_file():
            raise InvalidInput(f"video {data / rel} is missing", "give the shared data folder with --data")
    out_dir = workdir or Path(tempfile.mkdtemp(prefix="izde-bench-"))
    p720 = resized_copy(data / CROWD, (1280, 720), out_dir / "crowd_720p.mp4")
    clips = [
        clip_of("hamilton 640x360", data / HAMILTON),
        clip_of("crowd 1920x1080", data / CROWD),
        clip_of("crowd 1280x720", p720),
    ]
    if still:
        for name, size in (("still 640x360", None), ("still 1280x720", (1280, 720))):
            path = held_clip(data / HAMILTON, HELD_FRAME, STILL_S, out_dir / f"{name.replace(' ', '_')}.mp4", size)
            clips.append(clip_of(f"{name} (held frame)", path))
    return clips


@dataclass(frozen=True, slots=True)
class PathFigures:
    path: str  # "full-frame" or "gated"
    cpu_s: float
    wall_s: float
    cpu_s_per_camera_second: float
    cameras: float  # cores / cpu_s_per_camera_second
    realtime_x: float  # video seconds per wall second, alone in the process
    realtime_x_cpu: float  # video seconds per CPU second: what one idle core would give, whatever the neighbours
    frames_analysed: int
    full_scans: int
    coarse_scans: int
    regions_per_frame: float  # on the frames not searched whole
    pixels_detected_per_frame: float  # fraction of each analysed frame searched, on average
    faces: int  # faces seen: found by the detector, or carried along their track by optical flow
    carried: int  # of which carried
    tracks: int
    described: int  # tracks with a shot good enough to match: the ones a wanted person could be found in
    descriptors: int  # shots described by dlib's network
    descriptors_fused: int  # of which also by the fused networks (the rest screened out, match.screen_margin)
    alerts: int
    persons: list[str]


def cores() -> int:
    return usable_cores()


def watch_clip(clip: BenchClip, gallery: Index, settings: Settings, stack: VisionStack, name: str) -> PathFigures:
    """One ``izde watch``-like pass over the clip, charged its process CPU time."""
    events: list[AlertEvent] = []
    source = FileSource(SourceSpec(SourceKind.FILE, str(clip.path)))
    watcher = Watcher("bench", stack, gallery, settings.pipeline, settings.match, events.append, True)
    cpu, wall = time.process_time(), time.perf_counter()
    result = run_source(source, watcher, settings.pipeline.analysis_fps, threading.Event())
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if result.source.error:
        raise InvalidInput(f"{clip.path}: {result.source.error}")
    c = result.counters
    per_second = cpu / clip.seconds
    partial = c.frames_analysed - c.full_scans
    return PathFigures(
        path=name,
        cpu_s=cpu,
        wall_s=wall,
        cpu_s_per_camera_second=per_second,
        cameras=cores() / per_second if per_second else 0.0,
        realtime_x=clip.seconds / wall if wall else 0.0,
        realtime_x_cpu=clip.seconds / cpu if cpu else 0.0,
        frames_analysed=c.frames_analysed,
        full_scans=c.full_scans,
        coarse_scans=c.coarse_scans,
        regions_per_frame=c.regions / partial if partial else 0.0,
        pixels_detected_per_frame=c.detected_fraction,
        faces=c.faces_seen,
        carried=c.carried,
        tracks=c.tracks_seen,
        described=c.tracks_described,
        descriptors=c.embeds,
        descriptors_fused=c.embeds_fused,
        alerts=c.alerts,
        persons=sorted({e.label for e in events}),
    )


def path_settings(settings: Settings) -> dict[str, Settings]:
    """The old path (every analysed frame searched whole) and the settings' own, gated path."""
    gated = (
        settings.pipeline
        if settings.pipeline.motion != "off"
        else settings.pipeline.model_copy(update={"motion": "diff"})
    )
    return {
        "full-frame": settings.model_copy(update={"pipeline": settings.pipeline.model_copy(update={"motion": "off"})}),
        "gated": settings.model_copy(update={"pipeline": gated}),
    }


def variant(settings: Settings, changes: str) -> Settings:
    """``settings`` with the gated path's pipeline, vision or match settings changed by 'key=value,key=value'
    (e.g. 'search_every=2,threads=2'; 'screen_margin=null' for no value)."""
    values: dict[str, dict[str, str | None]] = {"pipeline": {}, "vision": {}, "match": {}}
    for item in filter(None, (p.strip() for p in changes.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep:
            raise InvalidInput(f"'{item}' is not KEY=VALUE", "e.g. --also busy_scan=coarse,threads=2")
        value = value.strip()
        values[_section(key)][key] = None if value.lower() in ("null", "none") else value
    gated = path_settings(settings)["gated"]
    try:
        pipeline = PipelineSettings.model_validate({**gated.pipeline.model_dump(), **values["pipeline"]})
        vision = VisionSettings.model_validate({**gated.vision.model_dump(), **values["vision"]})
        match = MatchSettings.model_validate({**gated.match.model_dump(), **values["match"]})
    except ValidationError as e:
        raise InvalidInput(f"invalid settings {changes!r}: {e}") from e
    return settings.model_copy(update={"pipeline": pipeline, "vision": vision, "match": match})


def _section(key: str) -> str:
    """Which settings section a --also key belongs to (they share no field names)."""
    for name, model in (("pipeline", PipelineSettings), ("vision", VisionSettings), ("match", MatchSettings)):
        if key in model.model_fields:
            return name
    raise InvalidInput(f"unknown setting {key!r}", "use a field of pipeline, vision or match ('izde config show')")


def stack_for(stack: VisionStack, base: Settings, s: Settings) -> VisionStack:
    """The stack a path runs with: ``stack`` itself, or one built for the path's vision settings (threads
    included: they set the networks' own threads as well as detection's, as ``izde watch`` builds them)."""
    return stack if s.vision == base.vision else build_stack(s.vision)


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def compare_paths(
    clips: list[BenchClip],
    gallery: Index,
    settings: Settings,
    stack: VisionStack,
    repeat: int = 1,
    log: Callable[[str], None] = lambda _: None,
    extra: dict[str, Settings] | None = None,
) -> dict[str, Any]:
    """Each clip through each path (and the ``extra`` ones), ``repeat`` times alternating, keeping the run with
    the least CPU time."""
    load_start = load_average()
    paths = {**path_settings(settings), **(extra or {})}
    stacks = {name: stack_for(stack, settings, s) for name, s in paths.items()}
    try:
        out = _measure(clips, gallery, settings, paths, stacks, repeat, log)
    finally:
        for s in stacks.values():
            if s is not stack:
                s.close()
    p = settings.pipeline
    out["settings"] = {
        "detector": detector_key(settings),
        "threads": {name: s.pool.threads if s.pool else 1 for name, s in stacks.items()},
        "embedder": stack.embedder.name,
        "motion": paths["gated"].pipeline.motion,
        "full_scan_s": p.full_scan_s,
        "search_every": p.search_every,
        "motion_threshold": p.motion_threshold,
        "motion_pad": p.motion_pad,
        "motion_max_area": p.motion_max_area,
    }
    out["load_average"] = {"start": load_start, "end": load_average()}
    return out


def _measure(
    clips: list[BenchClip],
    gallery: Index,
    settings: Settings,
    paths: dict[str, Settings],
    stacks: dict[str, VisionStack],
    repeat: int,
    log: Callable[[str], None],
) -> dict[str, Any]:
    out: dict[str, Any] = {"cores": cores(), "analysis_fps": settings.pipeline.analysis_fps, "clips": {}}
    for clip in clips:
        best: dict[str, PathFigures] = {}
        for i in range(repeat):
            for name, s in paths.items():
                log(f"{clip.name}: {name} path (run {i + 1} of {repeat})")
                fig = watch_clip(clip, gallery, s, stacks[name], name)
                if name not in best or fig.cpu_s < best[name].cpu_s:
                    best[name] = fig
        full, gated = best["full-frame"], best["gated"]
        out["clips"][clip.name] = {
            "video_s": clip.seconds,
            "size": list(clip.size),
            "paths": {k: asdict(v) for k, v in best.items()},
            "cpu_ratio": full.cpu_s / gated.cpu_s if gated.cpu_s else None,
        }
    return out
