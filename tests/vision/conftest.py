"""Fixtures for the vision tests: a private model cache and the shared real data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every converted model of the session goes to a temporary directory, never the user's cache."""
    path = tmp_path_factory.mktemp("model-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IZDE_MODEL_CACHE", str(path))
        yield path


def _data_dir() -> Path:
    env = os.environ.get("IZDE_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = _data_dir()
    if not (path / "video").is_dir():
        pytest.skip(f"shared test data not found at {path} (set IZDE_DATA)")
    return path
