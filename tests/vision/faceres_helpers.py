"""Finding the FaceRes and BlazeFace networks built by ``izde models build`` for tests that need them.

Tests run with a temporary model cache (tests/conftest.py), so the npm tarball fetched into the user's cache
is copied in; it is never fetched by a test. Without it a test skips locally but fails in CI, where
``izde models build`` runs before the tests.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from izde.vision.npm_models import NpmNetwork
from izde.vision.npm_weights import HUMAN

# Read at import (collection), before the session fixture points IZDE_MODEL_CACHE at a temporary folder.
_USER_CACHE = os.environ.get("IZDE_MODEL_CACHE")


def _user_cache() -> Path:
    if _USER_CACHE:
        return Path(_USER_CACHE)
    from platformdirs import user_cache_path

    return user_cache_path("izde", appauthor=False) / "models"


def _require(net: NpmNetwork) -> Path:
    """The ONNX model of ``net`` in the test session's cache, converted from the user's fetched tarball."""
    from izde.vision.npm_models import ensure_network, npm_dir, onnx_path

    if onnx_path(net, HUMAN).is_file():
        return onnx_path(net, HUMAN)
    src = _user_cache() / "npm" / HUMAN.tarball_name
    if not src.is_file():
        reason = f"the {net.title} network is not built ({src} is missing): run 'izde models build' first"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    npm_dir().mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, npm_dir() / HUMAN.tarball_name)
    return ensure_network(net, HUMAN, fetch=False).path


def require_faceres() -> Path:
    from izde.vision import faceres

    return _require(faceres.NETWORK)


def require_blazeface() -> Path:
    from izde.vision import blazeface

    return _require(blazeface.NETWORK)
