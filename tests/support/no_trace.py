"""Proof that a run left no trace of the faces it saw: everywhere a process can write, before and after.

Usage (see tests/cli/test_watch_cli.py::test_crowd_leaves_no_face_data)::

    faces = FaceRecorder.install(monkeypatch)           # collects the run's boxes and descriptors in memory
    with NoTrace(monkeypatch, roots=[home], database_url=url) as trace:
        ...run...                                       # TMPDIR is a fresh folder owned by the trace
    found = trace.findings(faces.needles(), texts={"stderr": result.stderr})
    assert found.new_files == [] and found.hits == []
    assert found.changed_tables.keys() <= {"watch_runs", "face_counts", "audit_log"}

It compares the files under the roots, TMPDIR and the model and evaluation caches (new or changed), and every
row of every table in the database (so a new table or a new per-face row shows), then scans every text and
binary value of every row, every new or changed file, every log record emitted at DEBUG level and any texts
the caller adds (a broker stream's messages, a process's output) for the run's descriptors, as raw float32 or
float64 bytes, hex, base64 or printed numbers, and for its face boxes written as numbers.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pytest
from sqlalchemy import create_engine, inspect, text

_B64_RUN = re.compile(rb"[A-Za-z0-9+/_-]{20,}={0,2}")
_HEX_RUN = re.compile(rb"[0-9a-fA-F]{32,}")
_WINDOW = 4  # values per byte window searched for: long enough never to occur by chance, short enough for parts


_NUMBER = re.compile(rb"-?\d+\.\d+(?:[eE][-+]?\d+)?")
_DECIMALS = 4  # printed descriptor values are compared at this many decimals, however they were formatted


@dataclass(frozen=True)
class Needles:
    """What must not appear anywhere: descriptor byte windows, descriptor values and printed boxes."""

    raw: tuple[bytes, ...]
    printed: tuple[str, ...]
    # (value rounded to _DECIMALS) -> the next two rounded values after it in some descriptor
    triples: dict[float, set[tuple[float, float]]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.raw)


def _windows(values: np.ndarray, step: int = 32, most: int = 16) -> list[int]:
    """Where byte windows of a descriptor start: every ``step`` values, keeping windows of at least three
    non-zero values. FaceRes's descriptors are mostly exact zeros (ReLU channels that stay silent), and runs of
    zero bytes are in every file; for such sparse ones the windows are taken where the non-zero values are."""
    informative = [i for i in range(len(values) - _WINDOW + 1) if np.count_nonzero(values[i : i + _WINDOW]) >= 3]
    regular = [i for i in informative if i % step == 0]
    return regular if len(regular) >= 2 else informative[:: max(1, len(informative) // most)]


def needles(descriptors: Iterable[np.ndarray], boxes: Iterable[Sequence[int]]) -> Needles:
    raw: list[bytes] = []
    printed: list[str] = []
    triples: dict[float, set[tuple[float, float]]] = {}
    for d in descriptors:
        values = np.asarray(d, np.float32).ravel()
        for start in _windows(values):
            part = values[start : start + _WINDOW]
            raw += [part.astype("<f4").tobytes(), part.astype("<f8").tobytes(), part.astype(">f4").tobytes()]
        rounded = np.round(values.astype(np.float64), _DECIMALS).tolist()
        for a, b, c in zip(rounded, rounded[1:], rounded[2:], strict=False):
            if a and b and c:  # zeros (FaceRes's silent channels) are printed everywhere and identify nobody
                triples.setdefault(a, set()).add((b, c))
    for box in boxes:
        left, top, right, bottom = (int(v) for v in box)
        for four in ((left, top, right, bottom), (left, top, right - left, bottom - top)):
            printed += [", ".join(map(str, four)), ",".join(map(str, four)), " ".join(map(str, four))]
        printed += [f"{left}, {top}", f"({left},{top})"]
    return Needles(tuple(dict.fromkeys(raw)), tuple(dict.fromkeys(printed)), triples)


def _printed_descriptor(blob: bytes, n: Needles) -> bool:
    """Three consecutive numbers in ``blob`` that are three consecutive values of a descriptor, in any format
    (JSON, numpy's print, %f) precise to at least _DECIMALS decimals."""
    numbers = [round(float(x), _DECIMALS) for x in _NUMBER.findall(blob)]
    return any((b, c) in n.triples.get(a, ()) for a, b, c in zip(numbers, numbers[1:], numbers[2:], strict=False))


def _decoded(data: bytes) -> Iterator[bytes]:
    """``data`` itself and whatever its hex and base64 runs decode to, at every alignment."""
    yield data
    for run in _HEX_RUN.findall(data):
        for shift in (0, 1):
            chunk = run[shift : shift + (len(run) - shift) // 2 * 2]
            with contextlib.suppress(binascii.Error):
                yield binascii.unhexlify(chunk)
    for run in _B64_RUN.findall(data):
        body = run.rstrip(b"=").replace(b"-", b"+").replace(b"_", b"/")
        for shift in range(4):
            chunk = body[shift:]
            chunk = chunk[: len(chunk) // 4 * 4]
            with contextlib.suppress(binascii.Error):
                yield base64.b64decode(chunk, validate=True)


def hits_in(where: str, data: bytes | str, n: Needles) -> list[str]:
    """Where ``data`` carries one of the needles, as 'WHERE: what' lines."""
    blob = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else bytes(data)
    out: list[str] = []
    for decoded in _decoded(blob):
        if any(needle in decoded for needle in n.raw):
            out.append(f"{where}: descriptor bytes" + ("" if decoded is blob else " (hex or base64)"))
            break
    if _printed_descriptor(blob, n):
        out.append(f"{where}: printed descriptor values")
    textual = blob.decode("latin-1")
    out += [f"{where}: printed {p!r}" for p in n.printed if p in textual][:3]
    return out


@dataclass
class Findings:
    new_files: list[str]  # new or changed files, relative to their root ('ROOT-NAME/path')
    changed_tables: dict[str, tuple[int, int]]  # table -> (rows added, rows removed); changed rows count in both
    hits: list[str]  # where a descriptor or box was found


class NoTrace:
    """Snapshot on entry, compare on :meth:`findings`. Owns TMPDIR and captures every log record meanwhile."""

    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        *,
        roots: Sequence[Path],
        database_url: str,
        ignore_files: Sequence[str] = (),
    ) -> None:
        self.monkeypatch = monkeypatch
        self.database_url = database_url
        self.ignore = tuple(ignore_files)  # path names (relative to a root) compared through the database instead
        self.tmpdir = Path(tempfile.mkdtemp(prefix="izde-no-trace-"))
        caches = [os.environ.get(k) for k in ("IZDE_MODEL_CACHE", "IZDE_EVAL_CACHE")]
        self.roots = [*roots, self.tmpdir, *(Path(c) for c in caches if c)]
        self.records: list[str] = []
        self._handler = _ListHandler(self.records)

    def __enter__(self) -> NoTrace:
        self.monkeypatch.setenv("TMPDIR", str(self.tmpdir))
        self.monkeypatch.setattr(tempfile, "tempdir", None)  # gettempdir() reads TMPDIR again
        self._files = self._stat_files()
        self._tables = self._rows()
        root = logging.getLogger()
        self._level = root.level
        root.addHandler(self._handler)
        root.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        root = logging.getLogger()
        root.removeHandler(self._handler)
        root.setLevel(self._level)

    def _stat_files(self) -> dict[Path, tuple[int, int]]:
        out = {}
        for root in self.roots:
            for p in root.rglob("*") if root.exists() else ():
                if p.is_file():
                    st = p.stat()
                    out[p] = (st.st_size, st.st_mtime_ns)
        return out

    def _rows(self) -> dict[str, Counter[tuple[Any, ...]]]:
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return {
                    t: Counter(tuple(r) for r in conn.execute(text(f'SELECT * FROM "{t}"')))
                    for t in inspect(conn).get_table_names()
                }
        finally:
            engine.dispose()

    def _name(self, p: Path) -> str:
        for root in self.roots:
            if p.is_relative_to(root):
                return f"{root.name}/{p.relative_to(root)}"
        return str(p)

    def findings(self, n: Needles, texts: dict[str, str] | None = None) -> Findings:
        if not n:
            raise AssertionError("no descriptors to look for: the run computed none, so the check would prove nothing")
        after_files = self._stat_files()
        touched = [p for p, st in after_files.items() if self._files.get(p) != st]
        new_files = sorted(self._name(p) for p in touched if not p.name.startswith(self.ignore))
        hits: list[str] = []
        for p in touched:
            hits += hits_in(self._name(p), p.read_bytes(), n)
        after = self._rows()
        changed = {}
        for table in sorted(set(after) | set(self._tables)):
            old, new = self._tables.get(table, Counter()), after.get(table, Counter())
            added, removed = sum((new - old).values()), sum((old - new).values())
            if added or removed or table not in self._tables:
                changed[table] = (added, removed)
            for row in new:
                for i, value in enumerate(row):
                    if isinstance(value, str | bytes | bytearray | memoryview):
                        data = value.tobytes() if isinstance(value, memoryview) else value
                        hits += hits_in(f"table {table} column {i}", data, n)
        hits += [h for record in self.records for h in hits_in("log", record, n)]
        for name, value in (texts or {}).items():
            hits += hits_in(name, value, n)
        return Findings(new_files, changed, sorted(set(hits)))


class _ListHandler(logging.Handler):
    def __init__(self, out: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.out = out

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
        self.out.append(f"{record.name} {record.levelname} {message}")


@dataclass
class FaceRecorder:
    """Every face box and descriptor the watcher computes, kept in memory for the search."""

    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    descriptors: list[np.ndarray] = field(default_factory=list)

    @classmethod
    def install(cls, monkeypatch: pytest.MonkeyPatch) -> FaceRecorder:
        from izde.pipeline import watcher as watcher_module
        from izde.vision.stack import VisionStack

        rec = cls()
        original = watcher_module.Watcher.__init__

        def init(self: Any, camera: str, stack: VisionStack, *args: Any, **kwargs: Any) -> None:
            recording = VisionStack(
                _Recording(stack.detector, rec),
                stack.aligner,
                _Recording(stack.embedder, rec),
                tuple(_Recording(e, rec) for e in stack.extra),  # each fused network's descriptors too
            )
            original(self, camera, recording, *args, **kwargs)

        monkeypatch.setattr(watcher_module.Watcher, "__init__", init)
        return rec

    def needles(self) -> Needles:
        return needles(self.descriptors, self.boxes)


class _Recording:
    """A detector or embedder that notes what it returns and is otherwise the wrapped one."""

    def __init__(self, inner: Any, rec: FaceRecorder) -> None:
        self._inner, self._rec = inner, rec

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def detect(self, image: Any) -> Any:
        faces = self._inner.detect(image)
        self._rec.boxes += [tuple(int(v) for v in b) for b in np.asarray(faces.boxes).tolist()]  # type: ignore[misc]
        return faces

    def embed(self, chips: Any) -> Any:
        out = self._inner.embed(chips)
        self._rec.descriptors += list(np.asarray(out))
        return out

    def embed_chips(self, chips: Any) -> Any:
        out = self._inner.embed_chips(chips)
        self._rec.descriptors += list(np.asarray(out))
        return out
