"""Fixtures for the vision tests: the shared real data (the model cache is set up in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import DATA, require_data


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return require_data(DATA / "video").parent
