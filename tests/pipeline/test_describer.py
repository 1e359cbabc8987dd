"""The background describer: jobs in order, errors raised on the submitter's thread, bounded ends."""

from __future__ import annotations

import threading
import time

import pytest

from izde.pipeline.describer import Describer


def describers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "izde-describer" and t.is_alive()]


def test_results_come_back_in_order_and_close_ends_the_thread() -> None:
    seen: list[int] = []

    def work(job: int) -> list[int]:
        time.sleep(0.01)
        seen.append(job)
        return [job, job]

    d: Describer[int, int] = Describer(work, depth=1)
    got = []
    for job in range(6):
        got += d.submit(job)  # blocks while a job waits: at most one queued and one running
    got += d.close()
    assert got == [j for job in range(6) for j in (job, job)] and seen == list(range(6))
    assert not d.alive and describers() == []


def test_an_error_in_a_job_is_raised_on_the_submitters_thread() -> None:
    def work(job: int) -> list[int]:
        if job == 1:
            raise ValueError("bad chips")
        return [job]

    d: Describer[int, int] = Describer(work)
    got = d.submit(0) + d.submit(1)
    with pytest.raises(ValueError, match="bad chips"):
        d.drain()
    got += d.submit(2) + d.close()  # it goes on after an error; results waiting when it was raised are kept
    assert got == [0, 2] and describers() == []


def test_close_is_bounded_when_a_job_hangs() -> None:
    release = threading.Event()
    d: Describer[int, int] = Describer(lambda job: [job] if release.wait(10) else [], depth=1)
    d.submit(0)
    start = time.monotonic()
    assert d.close(timeout_s=0.2) == []
    assert time.monotonic() - start < 3
    release.set()  # the stuck job ends; its thread stops on the sentinel
    deadline = time.monotonic() + 5
    while describers() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert describers() == []
