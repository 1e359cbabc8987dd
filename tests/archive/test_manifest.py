"""Archives of real recordings: starts from names, manifests and container metadata; unknown starts refused."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import av
import pytest

from izde.archive.manifest import load_archive, overlapping, read_manifest, scan_folder, start_from_name
from izde.errors import InvalidInput
from tests.conftest import CROWD, HAMILTON, require_data

CLIP = HAMILTON / "short_hamilton_clip.mp4"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("20261124T081500Z.mp4", datetime(2026, 11, 24, 8, 15, 0, tzinfo=UTC)),
        ("cam3_20261124T081500Z.mp4", datetime(2026, 11, 24, 8, 15, 0, tzinfo=UTC)),
        ("20261124T081500.mp4", datetime(2026, 11, 24, 8, 15, 0, tzinfo=UTC)),
        ("entrance_2026-11-24_08-15-00.mp4", datetime(2026, 11, 24, 8, 15, 0, tzinfo=UTC)),
        ("2026-11-24T08:15:00Z.mkv", datetime(2026, 11, 24, 8, 15, 0, tzinfo=UTC)),
        ("entrance.mp4", None),
        ("20261324T081500Z.mp4", None),  # month 13: refused, never guessed
        ("120261124T081500Z.mp4", None),  # more digits than a date: not a start time
        ("2026-11-24.mp4", None),
    ],
)
def test_start_from_name(name: str, expected: datetime | None) -> None:
    assert start_from_name(name) == expected


def _archive(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    (root / "stage-1").mkdir(parents=True)
    (root / "foyer").mkdir()
    shutil.copy(require_data(CLIP), root / "stage-1" / "20261124T081500Z.mp4")
    shutil.copy(CLIP, root / "stage-1" / "stage_2026-11-24_09-00-00.mp4")
    shutil.copy(require_data(CROWD / "crowd.mp4"), root / "foyer" / "20261124T081700Z.mp4")
    return root


def test_folder_archive_knows_each_recordings_camera_start_and_length(tmp_path: Path) -> None:
    root = _archive(tmp_path)
    (root / "foyer" / "notes.txt").write_text("not a video")
    shutil.copy(CLIP, root / "foyer" / "no-time-in-name.mp4")
    shutil.copy(CLIP, root / "loose_20261124T081500Z.mp4")
    archive = scan_folder(root)
    got = [(r.camera, r.path.name, r.start, round(r.duration_s, 1), r.start_from) for r in archive.recordings]
    assert got == [
        ("foyer", "20261124T081700Z.mp4", datetime(2026, 11, 24, 8, 17, tzinfo=UTC), 4.2, "name"),
        ("stage-1", "20261124T081500Z.mp4", datetime(2026, 11, 24, 8, 15, tzinfo=UTC), 9.2, "name"),
        ("stage-1", "stage_2026-11-24_09-00-00.mp4", datetime(2026, 11, 24, 9, 0, tzinfo=UTC), 9.2, "name"),
    ]
    refused = {r.path.name: r.reason for r in archive.refused}
    assert set(refused) == {"notes.txt", "no-time-in-name.mp4", "loose_20261124T081500Z.mp4"}
    assert "recording start is unknown" in refused["no-time-in-name.mp4"]
    assert "camera folder" in refused["loose_20261124T081500Z.mp4"]
    assert archive.cameras == {"foyer", "stage-1"}
    assert archive.span == (datetime(2026, 11, 24, 8, 15, tzinfo=UTC), archive.recordings[2].end)
    assert archive.footage_s == pytest.approx(22.6, abs=0.1)


def test_start_from_container_creation_time(tmp_path: Path) -> None:
    # A copy of the real clip whose container states when it was recorded, as many recorders write it.
    cam = tmp_path / "archive" / "lobby"
    cam.mkdir(parents=True)
    out = cam / "export.mp4"
    with av.open(str(require_data(CLIP))) as src, av.open(str(out), "w") as dst:
        dst.metadata["creation_time"] = "2026-11-24T10:30:05.000000Z"
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is None:
                continue
            packet.stream = stream
            dst.mux(packet)
    archive = scan_folder(tmp_path / "archive")
    assert [(r.start, r.start_from) for r in archive.recordings] == [
        (datetime(2026, 11, 24, 10, 30, 5, tzinfo=UTC), "metadata")
    ]


def test_damaged_and_fake_videos_are_refused_not_guessed(tmp_path: Path) -> None:
    cam = tmp_path / "archive" / "cam"
    cam.mkdir(parents=True)
    (cam / "20261124T081500Z.mp4").write_bytes(b"\x00" * 4096)
    (cam / "20261124T091500Z.mp4").write_bytes(require_data(CLIP).read_bytes()[:2000])
    archive = scan_folder(tmp_path / "archive")
    assert archive.recordings == []
    assert {r.path.name for r in archive.refused} == {"20261124T081500Z.mp4", "20261124T091500Z.mp4"}
    assert all("not a readable video" in r.reason or "duration" in r.reason for r in archive.refused)


def test_manifest_rows_with_zoned_times(tmp_path: Path) -> None:
    (tmp_path / "v").mkdir()
    shutil.copy(require_data(CLIP), tmp_path / "v" / "a.mp4")
    manifest = tmp_path / "case.csv"
    manifest.write_text(
        "camera,start,path\nstage-1,2026-11-24T09:15:00+01:00,v/a.mp4\nfoyer,2026-11-24T08:20:00Z,v/missing.mp4\n"
    )
    archive = read_manifest(manifest)
    assert [(r.camera, r.start, r.start_from) for r in archive.recordings] == [
        ("stage-1", datetime(2026, 11, 24, 8, 15, tzinfo=UTC), "manifest")
    ]
    assert [r.path.name for r in archive.refused] == ["missing.mp4"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cam,start\n", "header line"),
        ("camera,start,path\nc1,2026-11-24T08:15:00,a.mp4\n", "needs a zone"),
        ("camera,start,path\nc1,yesterday,a.mp4\n", "not an ISO 8601"),
        ("camera,start,path\n,2026-11-24T08:15:00Z,a.mp4\n", "camera is empty"),
        ("camera,start,path\nc1,2026-11-24T08:15:00Z\n", "expected camera,start,path"),
    ],
)
def test_malformed_manifest_is_refused_whole(tmp_path: Path, text: str, message: str) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text(text)
    with pytest.raises(InvalidInput, match=message):
        read_manifest(manifest)


def test_either_a_folder_or_a_manifest(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not both"):
        load_archive(tmp_path, tmp_path / "m.csv")
    with pytest.raises(InvalidInput, match="not a folder"):
        load_archive(tmp_path / "nope")


def test_overlapping_recordings_of_one_camera_are_found(tmp_path: Path) -> None:
    root = _archive(tmp_path)
    shutil.copy(CLIP, root / "stage-1" / "20261124T081505Z.mp4")  # starts 5 s into the first one
    pairs = overlapping(scan_folder(root).recordings)
    assert [(a.path.name, b.path.name) for a, b in pairs] == [("20261124T081500Z.mp4", "20261124T081505Z.mp4")]
