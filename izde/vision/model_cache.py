"""Converts dlib's network files to ONNX once and keeps the results in the user's cache directory.

A cached file is named after its source file's SHA-256 and the exporter version, so a changed source
or exporter gives a new file instead of a stale one. Files are written to a temporary name in the same
directory and renamed, so a reader never sees half a model, even with several processes racing.
The cache directory is ``platformdirs.user_cache_path("izde")/models`` unless ``IZDE_MODEL_CACHE`` says
otherwise.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import onnx
from platformdirs import user_cache_path

from izde.errors import IzdeError
from izde.vision.dlib_models import MMOD, RESNET, ModelFileMissing, model_file
from izde.vision.dlibfile import Network, load_network
from izde.vision.onnx_export import EXPORT_VERSION, build_mmod, build_resnet

ModelKind = Literal["resnet", "mmod"]
MODEL_KINDS: tuple[ModelKind, ...] = ("resnet", "mmod")
CACHE_ENV = "IZDE_MODEL_CACHE"


class ModelCacheError(IzdeError):
    """A network could not be found, converted or cached."""


@dataclass(frozen=True, slots=True)
class CachedModel:
    kind: ModelKind
    source: Path  # the dlib .dat file
    source_sha256: str
    path: Path  # the .onnx file
    built: bool  # True when this call converted it, False when it was already cached


def cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else user_cache_path("izde", appauthor=False) / "models"


def source_path(kind: ModelKind) -> Path:
    """The dlib file shipped by the face_recognition_models package."""
    try:
        return model_file(RESNET if kind == "resnet" else MMOD)
    except ModelFileMissing as e:
        raise ModelCacheError(e.message, e.hint) from e


@lru_cache(maxsize=8)
def _sha256(path: Path, size: int, mtime_ns: int) -> str:
    # size and mtime are part of the key so an edited file is hashed again.
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    try:
        st = path.stat()
    except OSError as e:
        raise ModelCacheError(f"cannot read model file {path}: {e}") from e
    return _sha256(path, st.st_size, st.st_mtime_ns)


def cached_path(kind: ModelKind, source: Path | None = None) -> tuple[Path, Path, str]:
    """(source, cache path, source digest) without building anything."""
    src = source or source_path(kind)
    digest = file_sha256(src)
    return src, cache_dir() / f"{src.stem}-{digest[:16]}-x{EXPORT_VERSION}.onnx", digest


def _build(kind: ModelKind, net: Network) -> onnx.ModelProto:
    return build_resnet(net) if kind == "resnet" else build_mmod(net)


def write_model(model: onnx.ModelProto, dest: Path) -> None:
    """Writes a converted model through a temporary name in the same directory, so readers never see half."""
    data = model.SerializeToString()
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=".tmp", dir=dest.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            Path(tmp).replace(dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as e:
        raise ModelCacheError(
            f"cannot write the converted model to {dest}: {e}", f"set {CACHE_ENV} to a writable directory"
        ) from e


def ensure_model(kind: ModelKind, source: Path | None = None, rebuild: bool = False) -> CachedModel:
    """The cached ONNX file for a network, converting the dlib file first if it is not cached yet (or, with
    ``rebuild``, again: for a cached file that was damaged after it was written)."""
    src, dest, digest = cached_path(kind, source)
    if dest.is_file() and not rebuild:
        return CachedModel(kind, src, digest, dest, built=False)
    model = _build(kind, load_network(src))
    model.metadata_props.add(key="izde.source_sha256", value=digest)
    model.metadata_props.add(key="izde.source_name", value=src.name)
    model.metadata_props.add(key="izde.export_version", value=EXPORT_VERSION)
    write_model(model, dest)
    return CachedModel(kind, src, digest, dest, built=True)
