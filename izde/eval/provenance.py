"""Where and with what a measurement was made: the machine, the date, the versions of the runtimes."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}, {os.cpu_count()} logical CPUs, {system}, Python {platform.python_version()}"


def stamp(result: dict[str, Any]) -> dict[str, Any]:
    """A benchmark's figures with when and where they were measured, and the runtime versions that matter."""
    versions = {}
    for package in ("onnxruntime", "onnxruntime-gpu", "dlib-bin", "numpy", "opencv-python-headless"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            continue
    return {
        "date": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "machine": machine(),
        "versions": versions,
        **result,
    }
