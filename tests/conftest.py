"""Shared fixtures. Real data is read from ../shared/data (or $IZDE_DATA); tests never touch a real home."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

DATA = Path(os.environ.get("IZDE_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
HAMILTON = DATA / "video" / "hamilton"
CROWD = DATA / "video" / "crowd"
LFW = DATA / "lfw-devtrain"


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every converted model of the session goes to a temporary directory, never the user's cache."""
    path = tmp_path_factory.mktemp("model-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IZDE_MODEL_CACHE", str(path))
        yield path


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data directory and no stray IZDE_* settings from the caller's environment."""
    for key in list(os.environ):
        if key.startswith("IZDE_") and key not in {"IZDE_DATA", "IZDE_TEST_PG_URL", "IZDE_MODEL_CACHE"}:
            monkeypatch.delenv(key)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("IZDE_HOME", str(home))
    return home


@pytest.fixture
def home(_isolated_home: Path) -> Path:
    return _isolated_home


def require_data(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"test data {path} is missing: set IZDE_DATA to the shared data folder")
    return path
