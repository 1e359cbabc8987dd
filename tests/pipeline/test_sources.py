import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from izde.errors import SourceError
from izde.pipeline.sources import FolderSource, SourceKind, _Sampler, open_source, parse_source
from tests.conftest import HAMILTON, require_data


@pytest.mark.parametrize(
    ("text", "kind"),
    [("rtsp://cam.local/stream", SourceKind.STREAM), ("https://x/y.m3u8", SourceKind.STREAM), ("0", SourceKind.WEBCAM)],
)
def test_parse_source_kinds(text: str, kind: SourceKind) -> None:
    assert parse_source(text).kind is kind


def test_parse_source_refuses_missing_path(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        parse_source(str(tmp_path / "missing.mp4"))


def test_sampler_takes_every_sixth_frame_of_30fps_at_5fps() -> None:
    s = _Sampler(5.0)
    due = [i for i in range(60) if s.due(i / 29.97)]
    assert due == list(range(0, 60, 6))


def test_file_source_reads_to_the_end_at_the_analysis_rate() -> None:
    src = open_source(parse_source(str(require_data(HAMILTON / "short_hamilton_clip.mp4"))))
    frames = list(src.frames(2.0, threading.Event()))
    assert src.stats.finished and src.stats.error is None and src.stats.frames_read == 275
    assert len(frames) == 19  # 9.2 s at 2 frames per second
    assert frames[0].image.shape == (360, 640, 3) and frames[1].index == 15


def test_folder_source_skips_and_reports_unreadable_images(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((20, 30, 3), np.uint8))
    (tmp_path / "b.jpg").write_text("not an image")
    (tmp_path / "notes.txt").write_text("ignored")
    src = open_source(parse_source(str(tmp_path)))
    assert isinstance(src, FolderSource)
    frames = list(src.frames(5.0, threading.Event()))
    assert [f.index for f in frames] == [0]
    assert not src.stats.finished and "1 of 2 images" in str(src.stats.error)


def test_empty_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="holds no image files"):
        open_source(parse_source(str(tmp_path)))
