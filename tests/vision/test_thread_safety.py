"""Camera sessions run in threads sharing one vision stack: every stage must give each thread its own answer."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from izde.vision.dlib_backend import DlibAligner, HogDetector
from tests.vision.realdata import video_frames

pytestmark = pytest.mark.slow


def _same_in_threads(work: Callable[[int], object], n: int, threads: int = 3) -> list[int]:
    """Indices whose result differed when computed by several threads at once from when computed alone."""
    alone = [work(i) for i in range(n)]
    differ: list[int] = []

    def run() -> None:
        for i in range(n):
            if not np.array_equal(np.asarray(work(i)), np.asarray(alone[i])):
                differ.append(i)

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return differ


def test_hog_detection_and_alignment_are_thread_safe(data_dir: Path) -> None:
    frames = video_frames(data_dir / "video/hamilton/short_hamilton_clip.mp4", list(range(0, 275, 12)))
    detector, aligner = HogDetector(1), DlibAligner()
    assert _same_in_threads(lambda i: detector.detect(frames[i]).boxes, len(frames)) == []
    faces = [detector.detect(f) for f in frames]
    assert sum(len(f) for f in faces) > 5
    assert _same_in_threads(lambda i: aligner.align(frames[i], faces[i]).chips, len(frames)) == []
