"""Several cameras' watchers share one embedder: concurrent requests are merged, each gets its own rows."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from izde.vision.batching import BatchingEmbedder
from izde.vision.onnx_backend import OnnxEmbedder
from izde.vision.types import F32, Image
from tests.vision.realdata import lfw_chips


class Held:
    """The real ONNX embedder, recording each batch it is given and holding the first until released."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.inner = OnnxEmbedder()
        self.name = self.inner.name
        self.batches: list[int] = []
        self.release = threading.Event()
        self.fail_on = fail_on

    def embed(self, chips: Image) -> F32:
        self.batches.append(len(chips))
        if len(self.batches) == 1:
            assert self.release.wait(30)
        if len(self.batches) == self.fail_on:
            raise RuntimeError("the accelerator went away")
        return self.inner.embed(chips)


def _wait_for(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def _concurrently(shared: BatchingEmbedder, held: Held, parts: list[np.ndarray]) -> list[object]:
    """The first request runs alone and is held; the rest queue meanwhile and must form the next batch."""
    out: list[object] = [None] * len(parts)

    def call(i: int) -> None:
        try:
            out[i] = shared.embed(parts[i])
        except Exception as e:
            out[i] = e

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(parts))]
    threads[0].start()
    _wait_for(lambda: len(held.batches) == 1)
    for t in threads[1:]:
        t.start()
    _wait_for(lambda: shared.pending() == len(parts) - 1)
    held.release.set()
    for t in threads:
        t.join(30)
    return out


@pytest.fixture(scope="module")
def chips(data_dir: Path) -> np.ndarray:
    return lfw_chips(data_dir, 12)


def test_waiting_requests_are_merged_and_each_caller_gets_its_own_descriptors(chips: np.ndarray) -> None:
    held = Held()
    expected = held.inner.embed(chips)
    shared = BatchingEmbedder(held)
    bounds = [(0, 2), (2, 3), (3, 7), (7, 12)]
    out = _concurrently(shared, held, [chips[a:b] for a, b in bounds])
    assert held.batches == [2, 10]  # the three callers that arrived during the first batch shared the second
    for (a, b), got in zip(bounds, out, strict=True):
        assert isinstance(got, np.ndarray) and got.shape == (b - a, 128)
        np.testing.assert_allclose(got, expected[a:b], atol=1e-5)
    assert shared.batches == 2 and shared.pending() == 0


def test_batches_respect_the_size_limit(chips: np.ndarray) -> None:
    held = Held()
    shared = BatchingEmbedder(held, max_batch=4)
    out = _concurrently(shared, held, [chips[0:1], chips[1:4], chips[4:6], chips[6:12]])
    assert held.batches == [1, 3, 2, 6]  # 3+2 > 4; a request larger than the limit still runs, alone
    assert all(isinstance(o, np.ndarray) for o in out)


def test_a_failed_batch_fails_its_callers_only_and_the_next_batch_runs(chips: np.ndarray) -> None:
    held = Held(fail_on=2)
    shared = BatchingEmbedder(held, max_batch=3)
    out = _concurrently(shared, held, [chips[0:1], chips[1:3], chips[3:4], chips[4:6]])
    assert held.batches == [1, 3, 2]
    assert isinstance(out[0], np.ndarray) and isinstance(out[3], np.ndarray)
    assert all(isinstance(o, RuntimeError) and "went away" in str(o) for o in out[1:3])
    assert shared.embed(chips[:1]).shape == (1, 128)  # nobody is left holding the role


def test_a_bad_request_is_refused_before_it_can_spoil_a_batch(chips: np.ndarray) -> None:
    shared = BatchingEmbedder(OnnxEmbedder())
    with pytest.raises(ValueError, match="150"):
        shared.embed(np.zeros((1, 112, 112, 3), np.uint8))
    assert shared.pending() == 0 and shared.embed(chips[:0]).shape == (0, 128)
