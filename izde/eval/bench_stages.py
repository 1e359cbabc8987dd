"""Per-stage cost of the vision pipeline on real video, and the camera capacity of a machine derived from it.

Stages: decode (grab: demux + decompress, paid for every frame of a stream; retrieve: colour conversion of the
analysed frames), detect (per frame), landmarks + chip and quality (per face), descriptor (per face, by batch
size), match (per probe against a 1,000-person gallery). Backends are measured when they can be built: dlib
always; the ONNX runtime when izde's ONNX backend is installed and configured.

Videos: 640x360 is short_hamilton_clip.mp4 as is. 1280x720 frames come from crowd.mp4 (1920x1080) resized;
for the decode stage they are written once to a temporary MP4 (OpenCV's mp4v codec) so that decoding is
measured on a real 720p stream.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from izde.config import Settings
from izde.errors import InvalidInput
from izde.vision.types import DESCRIPTOR_DIM, Faces, Image

HAMILTON = Path("video/hamilton/short_hamilton_clip.mp4")
CROWD = Path("video/crowd/crowd.mp4")


@dataclass(frozen=True)
class Clip:
    name: str
    path: Path  # the file decoded in the decode stage
    fps: float
    frames: list[Image]  # RGB frames used for the other stages


def _median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def load_clips(data: Path, frames: int = 12, workdir: Path | None = None) -> list[Clip]:
    """The 640x360 and 1280x720 clips, with ``frames`` RGB frames spread over each."""
    for rel in (HAMILTON, CROWD):
        if not (data / rel).is_file():
            raise InvalidInput(f"video {data / rel} is missing", "give the shared data folder with --data")

    def sample(path: Path, size: tuple[int, int] | None) -> tuple[list[Image], float, list[np.ndarray]]:
        cap = cv2.VideoCapture(str(path))
        fps = float(cap.get(cv2.CAP_PROP_FPS)) or 25.0
        all_bgr = []
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            all_bgr.append(cv2.resize(bgr, size, interpolation=cv2.INTER_AREA) if size else bgr)
        cap.release()
        step = max(1, len(all_bgr) // frames)
        rgb = [np.ascontiguousarray(cv2.cvtColor(b, cv2.COLOR_BGR2RGB), np.uint8) for b in all_bgr[::step][:frames]]
        return rgb, fps, all_bgr

    small, fps_small, _ = sample(data / HAMILTON, None)
    large, fps_large, large_bgr = sample(data / CROWD, (1280, 720))
    out_dir = workdir or Path(tempfile.mkdtemp(prefix="izde-bench-"))
    p720 = out_dir / "crowd_720p.mp4"
    writer = cv2.VideoWriter(str(p720), cv2.VideoWriter.fourcc(*"mp4v"), fps_large, (1280, 720))
    for b in large_bgr:
        writer.write(b)
    writer.release()
    return [Clip("640x360", data / HAMILTON, fps_small, small), Clip("1280x720", p720, fps_large, large)]


def decode_cost(path: Path) -> dict[str, float]:
    """Seconds per frame to grab (demux + decompress) and to retrieve (convert to RGB)."""
    cap = cv2.VideoCapture(str(path))
    grabs, retrieves = [], []
    while True:
        t = time.perf_counter()
        ok = cap.grab()
        t1 = time.perf_counter()
        if not ok:
            break
        ok, bgr = cap.retrieve()
        cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        retrieves.append(time.perf_counter() - t1)
        grabs.append(t1 - t)
    cap.release()
    return {"grab_s": float(np.median(grabs)), "retrieve_rgb_s": float(np.median(retrieves)), "frames": len(grabs)}


def _backends(settings: Settings) -> dict[str, Any]:
    """Descriptors as the pipeline computes them (mirrored averaging included when set), by backend name."""
    from izde.vision.stack import build_descriptor

    out: dict[str, Any] = {}
    for name in ("dlib", "onnx"):
        try:
            out[name] = build_descriptor(settings.vision.model_copy(update={"embedder": name}))
        except Exception as e:  # any failure to build means the backend is not available on this machine
            out[name] = f"not available: {type(e).__name__}: {e}"
    return out


def _measure_detector(r: dict[str, Any], key: str, det: Any, frames: list[Image], warm_up: bool = True) -> list[Faces]:
    """Times ``det`` over ``frames`` into the clip record ``r``: wall and CPU seconds per frame, faces found."""
    if warm_up:
        det.detect(frames[0])
    wall, cpu = time.perf_counter(), time.process_time()
    found = [det.detect(f) for f in frames]
    r["detect"][key] = (time.perf_counter() - wall) / len(frames)
    # Capacity needs the CPU a frame costs: ONNX Runtime spreads one frame over several cores.
    r["detect_cpu"][key] = (time.process_time() - cpu) / len(frames)
    r["faces_per_frame_by_detector"][key] = float(np.mean([len(f) for f in found]))
    return found


def _onnx_mmod(settings: Settings, upsample: int) -> Any:
    from izde.vision.stack import build_detector

    try:
        return build_detector(
            settings.vision.model_copy(update={"detector": "mmod", "detector_backend": "onnx"}), upsample
        )
    except Exception:  # not installed or not buildable here: the stage is left out
        return None


def _blazeface(settings: Settings) -> Any:
    from izde.vision.stack import build_detector

    try:
        return build_detector(settings.vision.model_copy(update={"detector": "blazeface", "threads": 1}))
    except Exception:  # not built here: the stage is left out
        return None


def detector_key(settings: Settings) -> str:
    """The ``detect`` entry of :func:`stages` that the settings' detector runs as."""
    v = settings.vision
    if v.detector == "blazeface":
        return f"blazeface-scale{v.blazeface_scale:g}"
    backend = "" if v.detector == "hog" else f"-{v.detector_backend}"
    return f"{v.detector}{backend}-upsample{v.detector_upsample}"


def _upsamples(settings: Settings) -> tuple[int, int]:
    """The upsampling HOG and MMOD would run with under these settings."""
    v = settings.vision
    return v.model_copy(update={"detector": "hog"}).detector_upsample, v.model_copy(
        update={"detector": "mmod"}
    ).detector_upsample


def stages(
    clips: list[Clip],
    settings: Settings,
    batch_sizes: tuple[int, ...] = (1, 4, 16),
    mmod_frames: int = 1,
    log: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    from izde.vision.dlib_backend import DlibAligner, DlibMmodDetector, HogDetector
    from izde.vision.quality import assess
    from izde.vision.stack import build_extra
    from izde.watchlist.index import Gallery

    hog_up, mmod_up = _upsamples(settings)
    aligner = DlibAligner()
    embedders = _backends(settings)
    extra = build_extra(settings.vision)  # the networks fused with dlib's (vision.descriptors)
    results: dict[str, Any] = {"clips": {}, "embedders": {}, "fused_embedders": {}}
    chips_pool: list[Image] = []
    extra_pools: dict[str, list[Image]] = {e.key: [] for e in extra}
    extra_cut_s: dict[str, float] = dict.fromkeys(extra_pools, 0.0)
    for clip in clips:
        log(f"{clip.name}: decode")
        r: dict[str, Any] = {
            "source_fps": clip.fps,
            "decode": decode_cost(clip.path),
            "detect": {},
            "detect_cpu": {},
            "faces_per_frame_by_detector": {},
        }
        faces_per_frame: list[Faces] = []
        for up in (0, 1):
            found = _measure_detector(r, f"hog-upsample{up}", HogDetector(up), clip.frames)
            if up == hog_up:
                faces_per_frame = found
                r["faces_per_frame"] = r["faces_per_frame_by_detector"][f"hog-upsample{up}"]
        bf = _blazeface(settings)
        if bf is not None:
            log(f"{clip.name}: BlazeFace (ONNX Runtime)")
            key = detector_key(
                settings.model_copy(update={"vision": settings.vision.model_copy(update={"detector": "blazeface"})})
            )
            found = _measure_detector(r, key, bf, clip.frames)
            if settings.vision.detector == "blazeface":  # the faces the pipeline would align and describe
                faces_per_frame = found
                r["faces_per_frame"] = r["faces_per_frame_by_detector"][key]
        mm_onnx = _onnx_mmod(settings, mmod_up)
        if mm_onnx is not None:
            log(f"{clip.name}: MMOD (ONNX Runtime)")
            _measure_detector(r, f"mmod-onnx-upsample{mmod_up}", mm_onnx, clip.frames)
        if mmod_frames:
            log(f"{clip.name}: MMOD (dlib, slow on CPU)")
            _measure_detector(
                r, f"mmod-dlib-upsample{mmod_up}", DlibMmodDetector(mmod_up), clip.frames[:mmod_frames], False
            )
        log(f"{clip.name}: landmarks, chips, quality")
        warm = next(((f, fs) for f, fs in zip(clip.frames, faces_per_frame, strict=True) if len(fs)), None)
        if warm is not None:
            assess(aligner.align(*warm))  # the first call loads the landmark model; keep it out of the timing
        n_faces, t_align, t_quality = 0, 0.0, 0.0
        for frame, faces in zip(clip.frames, faces_per_frame, strict=True):
            if not len(faces):
                continue
            t = time.perf_counter()
            aligned = aligner.align(frame, faces)
            t1 = time.perf_counter()
            assess(aligned)
            t_quality += time.perf_counter() - t1
            t_align += t1 - t
            n_faces += len(faces)
            assert aligned.chips is not None and aligned.landmarks is not None
            chips_pool.extend(aligned.chips)
            for e in extra:
                t2 = time.perf_counter()
                extra_pools[e.key].extend(e.chips(frame, aligned.landmarks))
                extra_cut_s[e.key] += time.perf_counter() - t2
        r["landmarks_chip_per_face_s"] = t_align / n_faces if n_faces else None
        r["quality_per_face_s"] = t_quality / n_faces if n_faces else None
        r["faces_measured"] = n_faces
        results["clips"][clip.name] = r
    if not chips_pool:
        raise InvalidInput("no faces found in the benchmark videos")
    chips = np.stack(chips_pool)
    for name, emb in embedders.items():
        if isinstance(emb, str):
            results["embedders"][name] = emb
            continue
        log(f"descriptor: {name}")
        per_face, cpu_per_face = _per_face(emb.embed, chips, batch_sizes)
        results["embedders"][name] = {
            "name": emb.name,
            "per_face_s_by_batch": per_face,
            "cpu_per_face_s_by_batch": cpu_per_face,
        }
    for e in extra:
        log(f"descriptor: {e.key} (fused with dlib's)")
        pool = np.stack(extra_pools[e.key])
        per_face, cpu_per_face = _per_face(e.embed_chips, pool, batch_sizes)
        results["fused_embedders"][e.key] = {
            "name": e.name,
            "chip_per_face_s": extra_cut_s[e.key] / len(pool),
            "per_face_s_by_batch": per_face,
            "cpu_per_face_s_by_batch": cpu_per_face,
        }
    rng = np.random.default_rng(0)
    g = rng.standard_normal((1000, DESCRIPTOR_DIM)).astype(np.float32)
    ids = tuple(str(i) for i in range(1000))
    gallery = Gallery(ids, ids, g, np.arange(1000, dtype=np.int32))
    probe = g[0]
    results["match_1000_persons_s"] = _median_time(lambda: gallery.match(probe, 0.53), 50)
    return results


def capacity(st: dict[str, Any], settings: Settings, cores: int | None = None) -> dict[str, Any]:
    """Cameras one machine sustains at the settings' analysis rate, from the measured stage costs.

    Per second of one camera: every source frame is grabbed; ``analysis_fps`` frames are converted and
    searched for faces; each face found is aligned and scored. Two bounds for descriptors: every face on
    every analysed frame (worst case, a crowd of new faces), and the pipeline's cap of ``best_shots`` per
    track with tracks lasting at least 2 s (one descriptor per face per ~0.7 s at most).
    """
    cores = cores or os.cpu_count() or 1
    fps = settings.pipeline.analysis_fps
    detector = detector_key(settings)
    if not all(detector in c["detect"] for c in st["clips"].values()):
        raise InvalidInput(f"the {detector} detector could not be measured here", "choose another vision.detector")
    # The descriptor backend the settings choose, where it could be measured here.
    chosen = st["embedders"].get(settings.vision.embedder)
    embedder = settings.vision.embedder if isinstance(chosen, dict) else "dlib"
    embed_s = min(st["embedders"][embedder]["cpu_per_face_s_by_batch"].values())
    # Each network fused with dlib's costs its own chip and descriptor per embedded face.
    fused = [st.get("fused_embedders", {}).get(k) for k in settings.vision.descriptors[1:]]
    if not all(fused):
        raise InvalidInput("the fused networks were not measured here", "run 'izde models build', then measure again")
    embed_s += sum(f["chip_per_face_s"] + min(f["cpu_per_face_s_by_batch"].values()) for f in fused if f)
    flip = ", averaged with the mirrored face" if settings.vision.flip_average else ""
    if fused:
        flip += f", plus {'+'.join(settings.vision.descriptors[1:])}'s chip and descriptor (fused score)"
    out: dict[str, Any] = {
        "cores": cores,
        "analysis_fps": fps,
        "detector": detector,
        "descriptor_s": embed_s,
        "assumptions": [
            "one process per camera, cores fully usable, no GPU; costs are CPU seconds, not wall-clock",
            "every source frame is decoded and converted (a compressed stream must be decoded frame by frame)",
            f"{fps:g} frames per second analysed: {detector} detection, landmarks + chip + quality per face",
            f"faces per frame as {detector} found them on the clip; descriptors per face on the {embedder} "
            f"backend at its best batch size{flip}",
            "worst case: a descriptor for every face on every analysed frame; typical: "
            f"{settings.pipeline.best_shots} best shots per track of >= 2 s",
        ],
        "clips": {},
    }
    for name, c in st["clips"].items():
        detect = c["detect_cpu"][detector]
        faces = c["faces_per_frame_by_detector"][detector]
        per_face = (c["landmarks_chip_per_face_s"] or 0.0) + (c["quality_per_face_s"] or 0.0)
        # Some decoders defer decompression from grab to retrieve, so every source frame is charged both.
        decode = c["decode"]["grab_s"] + c["decode"]["retrieve_rgb_s"]
        base = c["source_fps"] * decode + fps * (detect + faces * per_face)
        worst = base + fps * faces * embed_s
        typical = base + faces * min(fps, settings.pipeline.best_shots / 2.0) * embed_s
        out["clips"][name] = {
            "faces_per_frame": faces,
            "cpu_s_per_camera_second": {"worst": worst, "typical": typical},
            "cameras": {"worst": cores / worst, "typical": cores / typical},
        }
    return out


def _per_face(
    embed: Callable[[Any], Any], pool: Any, batch_sizes: Sequence[int]
) -> tuple[dict[str, float], dict[str, float]]:
    """Wall and CPU seconds per face of ``embed`` on batches drawn from ``pool``, by batch size."""
    per_face, cpu_per_face = {}, {}
    for b in batch_sizes:
        batch = pool[np.arange(b) % len(pool)]
        embed(batch)  # warm-up
        cpu = time.process_time()
        per_face[str(b)] = _median_time(partial(embed, batch), 3) / b
        cpu_per_face[str(b)] = (time.process_time() - cpu) / 3 / b
    return per_face, cpu_per_face
