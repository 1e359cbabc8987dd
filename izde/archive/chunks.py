"""The work of a search, cut into chunks: segments of recordings that any worker can analyse on its own.

A chunk's id is derived from what it covers, so a search that is resumed, or a chunk that a second worker takes
over, names the same work the same way: the recorder's unique key then keeps its alerts from being doubled.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from izde.archive.manifest import Recording
from izde.errors import InvalidInput

DEFAULT_CHUNK_S = 120.0  # long enough that a worker's start-up and a fresh tracker are a small share of the work


@dataclass(frozen=True, slots=True)
class Chunk:
    id: str
    camera: str
    path: Path
    recording_start: datetime  # when the recording (not the chunk) started, UTC
    start_s: float  # position in the file where the chunk starts
    end_s: float  # and where it ends (exclusive)

    @property
    def start(self) -> datetime:
        return self.recording_start + timedelta(seconds=self.start_s)

    @property
    def end(self) -> datetime:
        return self.recording_start + timedelta(seconds=self.end_s)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def chunk_id(camera: str, path: Path, recording_start: datetime, start_s: float, end_s: float) -> str:
    key = f"{camera}\0{path}\0{recording_start.isoformat()}\0{start_s:.3f}\0{end_s:.3f}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def plan_chunks(recordings: list[Recording], chunk_s: float = DEFAULT_CHUNK_S) -> list[Chunk]:
    """Cut each recording into chunks of about ``chunk_s`` seconds (the last one of a file takes the rest, so
    no chunk is a sliver), in camera then time order."""
    if not chunk_s > 0:
        raise InvalidInput(f"chunk length must be positive, got {chunk_s}")
    chunks: list[Chunk] = []
    for r in recordings:
        n = max(1, math.floor(r.duration_s / chunk_s + 0.5))
        step = r.duration_s / n
        for i in range(n):
            start, end = i * step, (r.duration_s if i == n - 1 else (i + 1) * step)
            chunks.append(Chunk(chunk_id(r.camera, r.path, r.start, start, end), r.camera, r.path, r.start, start, end))
    return chunks
