"""A case's archive: which recordings there are, from which camera, and when each one started.

An archive is a folder laid out ``ARCHIVE/CAMERA/FILE`` or a CSV manifest of ``camera,start,path`` rows. A
recording's start comes from its file name (the patterns in :data:`NAME_PATTERNS`), else from the container's
``creation_time``; a file whose start cannot be known is refused and listed, never guessed, because every sighting's
time, and the check against the authorisation's window, is the recording's start plus the position in it.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av

from izde.errors import InvalidInput

VIDEO_SUFFIXES = frozenset({".mp4", ".mkv", ".avi", ".mov", ".ts", ".m4v", ".webm"})

# Start times in file names, tried in order. Each names UTC explicitly (Z) or is taken as UTC, as exported by
# the recorders this was written for; a recorder that writes local time needs a manifest with zoned times.
NAME_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # 20261124T081500Z.mp4, cam3_20261124T081500Z.mp4
    ("YYYYMMDDTHHMMSSZ", re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z?(?!\d)")),
    # entrance_2026-11-24_08-15-00.mp4, 2026-11-24T08:15:00Z.mp4
    ("YYYY-MM-DD_HH-MM-SS", re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})[_T ](\d{2})[-:](\d{2})[-:](\d{2})(?!\d)")),
)


@dataclass(frozen=True, slots=True)
class Recording:
    """One video file of the archive, with the camera it came from and when its recording started (UTC)."""

    camera: str
    path: Path
    start: datetime
    duration_s: float
    start_from: str  # "name", "manifest" or "metadata": how the start was known, for the use record

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.duration_s)


@dataclass(frozen=True, slots=True)
class Refused:
    path: Path
    reason: str


@dataclass(slots=True)
class Archive:
    recordings: list[Recording] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)

    @property
    def cameras(self) -> frozenset[str]:
        return frozenset(r.camera for r in self.recordings)

    @property
    def span(self) -> tuple[datetime, datetime] | None:
        if not self.recordings:
            return None
        return min(r.start for r in self.recordings), max(r.end for r in self.recordings)

    @property
    def footage_s(self) -> float:
        return sum(r.duration_s for r in self.recordings)


def start_from_name(name: str) -> datetime | None:
    """The recording start a file name states, in UTC, or None when it states none (or an impossible date)."""
    for _, pattern in NAME_PATTERNS:
        m = pattern.search(name)
        if m is None:
            continue
        try:
            y, mo, d, h, mi, sec = (int(g) for g in m.groups())
            return datetime(y, mo, d, h, mi, sec, tzinfo=UTC)
        except ValueError:
            return None
    return None


@dataclass(frozen=True, slots=True)
class Probe:
    duration_s: float
    creation_time: datetime | None


def probe(path: Path) -> Probe:
    """Duration and container ``creation_time`` of a video file; raises InvalidInput when it is not one."""
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.video:
                raise InvalidInput(f"{path} has no video stream")
            stream = container.streams.video[0]
            # The video's own length: the container's also counts a longer audio track.
            if stream.duration and stream.time_base:
                duration = float(stream.duration * stream.time_base)
            elif stream.frames and stream.average_rate:
                duration = float(stream.frames / stream.average_rate)
            elif container.duration:
                duration = container.duration / 1_000_000
            else:
                duration = 0.0
            created = container.metadata.get("creation_time") or stream.metadata.get("creation_time")
    except (av.FFmpegError, OSError, UnicodeDecodeError) as e:
        raise InvalidInput(f"{path} is not a readable video: {e}") from None
    if not duration > 0:
        raise InvalidInput(f"{path} has no known duration")
    return Probe(duration, _parse_creation_time(created))


def _parse_creation_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    # MP4 creation times are UTC by definition; muxers write them without a zone.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _recording(camera: str, path: Path, start: datetime | None, start_from: str) -> Recording | Refused:
    try:
        info = probe(path)
    except InvalidInput as e:
        return Refused(path, e.message)
    if start is None and info.creation_time is not None:
        start, start_from = info.creation_time, "metadata"
    if start is None:
        return Refused(
            path,
            "its recording start is unknown: the name states none (e.g. 20261124T081500Z.mp4) and the file "
            "has no creation_time; rename it or list it in a --manifest CSV",
        )
    return Recording(camera, path, start, info.duration_s, start_from)


def _add(archive: Archive, item: Recording | Refused) -> None:
    (archive.recordings if isinstance(item, Recording) else archive.refused).append(item)  # type: ignore[arg-type]


def scan_folder(root: Path) -> Archive:
    """Every video under ``root/CAMERA/``; other files and files directly in ``root`` are refused and listed."""
    if not root.is_dir():
        raise InvalidInput(f"archive {root} is not a folder", "give ARCHIVE/CAMERA/FILE or --manifest CSV")
    archive = Archive()
    for entry in sorted(root.iterdir()):
        if entry.is_file():
            archive.refused.append(Refused(entry, "not inside a camera folder (ARCHIVE/CAMERA/FILE)"))
            continue
        for path in sorted(p for p in entry.rglob("*") if p.is_file()):
            if path.suffix.lower() not in VIDEO_SUFFIXES:
                archive.refused.append(Refused(path, f"not a video file ({', '.join(sorted(VIDEO_SUFFIXES))})"))
                continue
            start = start_from_name(path.name)
            _add(archive, _recording(entry.name, path, start, "name" if start else "metadata"))
    _sort(archive)
    return archive


def read_manifest(path: Path) -> Archive:
    """Rows ``camera,start,path`` (a header line first); start is ISO 8601 with a zone; paths relative to the
    manifest's folder. A malformed manifest is refused whole; a row whose file cannot be read is listed."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInput(f"cannot read manifest {path}: {e}") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows or [c.strip().lower() for c in rows[0]] != ["camera", "start", "path"]:
        raise InvalidInput(f"manifest {path} must start with the header line camera,start,path")
    archive = Archive()
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != 3:
            raise InvalidInput(f"{path}:{line}: expected camera,start,path, got {len(row)} fields")
        camera, start_text, file_text = (c.strip() for c in row)
        if not camera:
            raise InvalidInput(f"{path}:{line}: the camera is empty")
        try:
            start = datetime.fromisoformat(start_text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"{path}:{line}: start {start_text!r} is not an ISO 8601 time") from None
        if start.tzinfo is None:
            raise InvalidInput(f"{path}:{line}: start {start_text!r} needs a zone", "add Z or +01:00")
        file = Path(file_text)
        file = file if file.is_absolute() else path.parent / file
        _add(archive, _recording(camera, file, start.astimezone(UTC), "manifest"))
    _sort(archive)
    return archive


def _sort(archive: Archive) -> None:
    archive.recordings.sort(key=lambda r: (r.camera, r.start, str(r.path)))


def load_archive(root: Path | None = None, manifest: Path | None = None) -> Archive:
    if (root is None) == (manifest is None):
        raise InvalidInput("give an archive folder or a --manifest CSV, not both")
    return read_manifest(manifest) if manifest is not None else scan_folder(root)  # type: ignore[arg-type]


def overlapping(recordings: Iterable[Recording]) -> list[tuple[Recording, Recording]]:
    """Recordings of one camera that overlap in time: two copies of the same footage would double sightings."""
    out: list[tuple[Recording, Recording]] = []
    by_camera: dict[str, list[Recording]] = {}
    for r in recordings:
        by_camera.setdefault(r.camera, []).append(r)
    for rs in by_camera.values():
        rs.sort(key=lambda r: r.start)
        out.extend((a, b) for a, b in itertools.pairwise(rs) if b.start < a.end - timedelta(seconds=1))
    return out
