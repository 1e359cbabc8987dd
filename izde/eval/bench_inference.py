"""``izde bench inference``: dlib against ONNX Runtime, side by side in one process.

Descriptor cost is reported per face at several batch sizes, with the share of the physical bound it
reaches (0.54 GFLOP per face against a ~320 GFLOP/s fp32 peak: ~1.7 ms per face on the 2-core reference
machine). MMOD cost is per image at upsample 0 on a 640x360 and a 1920x1080 video frame.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from izde.errors import IzdeError
from izde.eval.datasets import shared_data_dir
from izde.eval.provenance import stamp
from izde.vision.types import Image

GFLOP_PER_FACE = 0.54
PEAK_GFLOPS = 320.0
BOUND_MS_PER_FACE = 1000 * GFLOP_PER_FACE / PEAK_GFLOPS  # ~1.7 ms
SMALL_FRAME = ("video/hamilton/short_hamilton_clip.mp4", 0)
LARGE_FRAME = ("video/crowd/crowd.mp4", 0)


def _frame(data: Path, rel: str, index: int) -> Image:
    import cv2

    path = data / rel
    cap = cv2.VideoCapture(str(path))
    try:
        for _ in range(index + 1):
            ok, bgr = cap.read()
            if not ok:
                raise IzdeError(f"cannot read frame {index} of {path}", "check --data")
    finally:
        cap.release()
    rgb: Image = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return rgb


def _chips(data: Path, n: int) -> Image:
    """n real aligned chips (LFW faces through dlib's HOG detector, 5-point landmarks and chip extractor)."""
    import cv2
    import dlib
    import face_recognition_models as frm

    hog = dlib.get_frontal_face_detector()
    sp = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
    chips: list[Image] = []
    lfw = data / "lfw-devtrain"
    if not lfw.is_dir():
        raise IzdeError(f"no LFW images under {lfw}", "pass --data or set IZDE_DATA")
    for person in sorted(lfw.iterdir()):
        for path in sorted(person.glob("*.jpg"))[:1]:
            bgr = cv2.imread(str(path))
            if bgr is None:
                continue
            img = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            for rect in list(hog(img, 0))[:1]:
                chips.append(dlib.get_face_chip(img, sp(img, rect), size=150, padding=0.25))
        if len(chips) >= n:
            break
    return np.stack(chips[:n])


def _time_ms(fn: Callable[[], object], repeats: int) -> float:
    """Best of ``repeats`` runs after one warm-up run: the least disturbed measurement."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return 1000 * best


def run_benchmark(
    data: Path,
    batch_sizes: tuple[int, ...] = (1, 8, 32),
    repeats: int = 5,
    dlib_repeats: int = 1,
    device: str = "cpu",
    with_dlib: bool = True,
    with_mmod: bool = True,
    with_faceres: bool = True,
) -> dict[str, Any]:
    from izde.vision.onnx_backend import OnnxEmbedder, OnnxMmodDetector

    if device not in ("cpu", "cuda", "auto"):
        raise IzdeError(f"unknown device {device!r}", "use cpu, cuda or auto")
    dev: Any = device
    base = _chips(data, min(32, max(batch_sizes)))
    chips = np.concatenate([base] * (-(-max(batch_sizes) // len(base))))
    emb = OnnxEmbedder(device=dev, batch_size=max(batch_sizes))
    result: dict[str, Any] = {
        "device": device,
        "providers": emb.providers,
        "bound_ms_per_face": BOUND_MS_PER_FACE,
        "descriptor": [],
        "mmod": [],
    }
    dlib_net: Any = None
    if with_dlib:
        import dlib
        import face_recognition_models as frm

        dlib_net = dlib.face_recognition_model_v1(frm.face_recognition_model_location())
    for b in batch_sizes:
        batch = chips[:b]
        emb.batch_size = b
        onnx_ms = _time_ms(lambda: emb.embed(batch), repeats) / b  # noqa: B023 (called at once)
        row: dict[str, Any] = {
            "batch": b,
            "onnx_ms_per_face": onnx_ms,
            "onnx_faces_per_s": 1000 / onnx_ms,
            "onnx_fraction_of_bound": BOUND_MS_PER_FACE / onnx_ms,
        }
        if dlib_net is not None:
            chip_list = list(batch)
            dlib_ms = _time_ms(lambda: dlib_net.compute_face_descriptor(chip_list), dlib_repeats) / b  # noqa: B023
            row |= {
                "dlib_ms_per_face": dlib_ms,
                "dlib_fraction_of_bound": BOUND_MS_PER_FACE / dlib_ms,
                "speedup": dlib_ms / onnx_ms,
            }
        result["descriptor"].append(row)
    if with_faceres:
        result["faceres"] = _faceres_rows(chips, batch_sizes, repeats, dev, result["descriptor"])
    on_cpu = emb.providers[0] == "CPUExecutionProvider"
    if not on_cpu:
        # The same network on another provider must give the same numbers: checked where it is timed.
        reference = OnnxEmbedder(device="cpu").embed(base)
        result["max_l2_vs_cpu_provider"] = float(np.linalg.norm(emb.embed(base) - reference, axis=1).max())
    if with_mmod:
        det = OnnxMmodDetector(upsample=0, device=dev)
        cpu_det = None if on_cpu else OnnxMmodDetector(upsample=0, device="cpu")
        dlib_det: Any = None
        if with_dlib:
            import dlib
            import face_recognition_models as frm

            dlib_det = dlib.cnn_face_detection_model_v1(frm.cnn_face_detector_model_location())
        for rel, index in (SMALL_FRAME, LARGE_FRAME):
            img = _frame(data, rel, index)
            onnx_ms = _time_ms(lambda: det.detect(img), max(1, repeats // 2))  # noqa: B023
            mrow: dict[str, Any] = {
                "image": f"{rel}#{index}",
                "size": f"{img.shape[1]}x{img.shape[0]}",
                "onnx_ms": onnx_ms,
                "faces": len(det.detect(img)),
            }
            if cpu_det is not None:
                ours, ref = det.detect(img), cpu_det.detect(img)
                same = ours.boxes.shape == ref.boxes.shape and bool((ours.boxes == ref.boxes).all())
                diff = float(np.abs(ours.scores - ref.scores).max(initial=0.0)) if same else None
                mrow |= {"same_boxes_as_cpu_provider": same, "max_score_diff_vs_cpu_provider": diff}
            if dlib_det is not None:
                # No warm-up: a 1080p frame costs dlib ~10-20 s, and it has no lazy start-up cost.
                t = time.perf_counter()
                for _ in range(dlib_repeats):
                    dlib_det(img, 0)
                dlib_ms = 1000 * (time.perf_counter() - t) / dlib_repeats
                mrow |= {"dlib_ms": dlib_ms, "speedup": dlib_ms / onnx_ms}
            result["mmod"].append(mrow)
    return result


def _faceres_rows(
    chips: Image, batch_sizes: tuple[int, ...], repeats: int, device: Any, dlib_rows: list[dict[str, Any]]
) -> dict[str, Any]:
    """The second descriptor network per face, next to dlib's ONNX ResNet at the same batch size."""
    import cv2

    from izde.vision import faceres

    if not faceres.is_built():
        return {"skipped": "the FaceRes network is not built: run 'izde models build'"}
    emb = faceres.FaceresEmbedder(device=device, batch_size=max(batch_sizes))
    # Real faces, enlarged to the network's input size: the cost does not depend on what the pixels show.
    big = np.stack([cv2.resize(c, (faceres.SIZE, faceres.SIZE), interpolation=cv2.INTER_LINEAR) for c in chips])
    rows = []
    for b, dlib_row in zip(batch_sizes, dlib_rows, strict=True):
        batch = np.ascontiguousarray(big[:b])
        emb.batch_size = b
        ms = _time_ms(lambda: emb.embed_chips(batch), repeats) / b  # noqa: B023 (called at once)
        rows.append(
            {"batch": b, "ms_per_face": ms, "faces_per_s": 1000 / ms, "vs_dlib_onnx": ms / dlib_row["onnx_ms_per_face"]}
        )
    return {"network": faceres.NAME, "providers": emb.providers, "rows": rows}


def _print(result: dict[str, Any]) -> None:
    con = Console()
    bound = result["bound_ms_per_face"]
    t = Table(title=f"Face descriptor, ms per face ({', '.join(result['providers'])}); bound {bound:.2f} ms")
    for col in (
        "batch",
        "dlib ms/face",
        "onnx ms/face",
        "onnx faces/s",
        "dlib % of bound",
        "onnx % of bound",
        "dlib / onnx",
    ):
        t.add_column(col, justify="right")
    for r in result["descriptor"]:
        has = "dlib_ms_per_face" in r
        t.add_row(
            str(r["batch"]),
            f"{r['dlib_ms_per_face']:.1f}" if has else "-",
            f"{r['onnx_ms_per_face']:.2f}",
            f"{r['onnx_faces_per_s']:.0f}",
            f"{100 * r['dlib_fraction_of_bound']:.1f}" if has else "-",
            f"{100 * r['onnx_fraction_of_bound']:.1f}",
            f"{r['speedup']:.1f}x" if has else "-",
        )
    con.print(t)
    fr = result.get("faceres")
    if fr and "rows" in fr:
        f = Table(title=f"Second descriptor {fr['network']}, ms per face ({', '.join(fr['providers'])})")
        for col in ("batch", "ms/face", "faces/s", "x dlib onnx"):
            f.add_column(col, justify="right")
        for r in fr["rows"]:
            f.add_row(str(r["batch"]), f"{r['ms_per_face']:.2f}", f"{r['faces_per_s']:.0f}", f"{r['vs_dlib_onnx']:.2f}")
        con.print(f)
    elif fr:
        con.print(f"second descriptor: {fr['skipped']}")
    if result["mmod"]:
        m = Table(title="MMOD detector, ms per image, upsample 0")
        for col in ("image", "size", "faces", "dlib ms", "onnx ms", "dlib / onnx"):
            m.add_column(col, justify="right")
        for r in result["mmod"]:
            has = "dlib_ms" in r
            m.add_row(
                r["image"],
                r["size"],
                str(r["faces"]),
                f"{r['dlib_ms']:.0f}" if has else "-",
                f"{r['onnx_ms']:.0f}",
                f"{r['speedup']:.1f}x" if has else "-",
            )
        con.print(m)


def bench_inference(
    data: Path | None = typer.Option(None, "--data", help="Shared data dir [default: $IZDE_DATA or ../shared/data]."),
    json_out: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    batch_sizes: str = typer.Option("1,8,32", "--batch-sizes", help="Descriptor batch sizes, comma list."),
    repeats: int = typer.Option(5, min=1, help="Timed ONNX runs per measurement (best is reported)."),
    dlib_repeats: int = typer.Option(1, min=1, help="Timed dlib runs per measurement (dlib is slow)."),
    device: str = typer.Option("cpu", help="ONNX Runtime device: cpu, cuda or auto."),
    skip_dlib: bool = typer.Option(False, "--skip-dlib", help="Measure ONNX Runtime only."),
    skip_mmod: bool = typer.Option(False, "--skip-mmod", help="Measure the descriptor network only."),
    skip_faceres: bool = typer.Option(False, "--skip-faceres", help="Leave out the second descriptor (FaceRes)."),
) -> None:
    """Measure dlib and ONNX Runtime inference side by side: descriptors per face and MMOD per image."""
    try:
        sizes = tuple(int(s) for s in batch_sizes.split(",") if s.strip())
        if not sizes or min(sizes) < 1:
            raise ValueError
    except ValueError:
        typer.echo("error: --batch-sizes must be positive integers, e.g. 1,8,32", err=True)
        raise typer.Exit(2) from None
    try:
        result = run_benchmark(
            shared_data_dir(data),
            sizes,
            repeats,
            dlib_repeats,
            device,
            with_dlib=not skip_dlib,
            with_mmod=not skip_mmod,
            with_faceres=not skip_faceres,
        )
    except IzdeError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(e.exit_code) from e
    if json_out:
        typer.echo(json.dumps(stamp(result), indent=2))
    else:
        _print(result)


if __name__ == "__main__":
    typer.run(bench_inference)
