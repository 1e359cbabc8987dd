"""A segment of a real file reads exactly that part of it: chunks of a search together read the whole file once."""

from __future__ import annotations

import threading

import numpy as np

from izde.pipeline.sources import FileSource, SourceKind, SourceSpec
from tests.conftest import HAMILTON, require_data


def _frames(start_s: float = 0.0, end_s: float | None = None) -> tuple[FileSource, list]:  # type: ignore[type-arg]
    spec = SourceSpec(SourceKind.FILE, str(require_data(HAMILTON / "short_hamilton_clip.mp4")))
    src = FileSource(spec, start_s=start_s, end_s=end_s)
    return src, list(src.frames(5.0, threading.Event()))


def test_segments_read_the_same_frames_as_the_whole_file() -> None:
    whole, frames = _frames()
    first, a = _frames(0.0, 4.0)
    rest, b = _frames(4.0, None)
    assert [f.index for f in a + b] == [f.index for f in frames]
    assert all(np.array_equal(x.image, y.image) for x, y in zip(a + b, frames, strict=True))
    # Positions stay positions in the whole file, so footage times are the recording's start plus them.
    assert b[0].position_s >= 4.0 and b[0].position_s == frames[len(a)].position_s
    assert first.stats.finished and rest.stats.finished and whole.stats.finished
    assert first.stats.frames_read + rest.stats.frames_read == whole.stats.frames_read
