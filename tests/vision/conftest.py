"""Fixtures for the vision tests: a private model cache and the shared real data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _data_dir() -> Path:
    env = os.environ.get("IZDE_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = _data_dir()
    if not (path / "video").is_dir():
        pytest.skip(f"shared test data not found at {path} (set IZDE_DATA)")
    return path
