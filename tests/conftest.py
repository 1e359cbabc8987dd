"""Shared fixtures. Real data is read from ../shared/data (or $IZDE_DATA); tests never touch a real home."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA = Path(os.environ.get("IZDE_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
HAMILTON = DATA / "video" / "hamilton"
CROWD = DATA / "video" / "crowd"
LFW = DATA / "lfw-devtrain"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data directory and no stray IZDE_* settings from the caller's environment."""
    keep = {"IZDE_DATA", "IZDE_TEST_PG_URL", "IZDE_MODEL_CACHE", "IZDE_EVAL_CACHE"}
    for key in list(os.environ):
        if key.startswith("IZDE_") and key not in keep:
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
