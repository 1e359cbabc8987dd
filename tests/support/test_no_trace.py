"""The no-trace check finds each way a face could be left behind, and nothing when none is."""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.support.no_trace import NoTrace, needles

DESCRIPTOR = np.random.default_rng(7).normal(size=128).astype(np.float32)
BOX = (812, 344, 901, 433)
Leak = Callable[[Path, sqlite3.Connection], None]


def put(con: sqlite3.Connection, value: object) -> None:
    con.execute("INSERT INTO notes (body) VALUES (?)", (value,))


def file_in_tmp(home: Path, con: sqlite3.Connection) -> None:
    _, name = tempfile.mkstemp(suffix=".jpg")  # wherever the system's temporary folder is
    Path(name).write_bytes(b"\xff\xd8\xff crop of a passer-by")


LEAKS: dict[str, tuple[Leak, str]] = {
    "crop in the temp folder": (file_in_tmp, "file"),
    "file in the data directory": (lambda h, c: (h / "faces.npy").write_bytes(b"x"), "file"),
    "raw float32 blob": (lambda h, c: put(c, DESCRIPTOR.tobytes()), "hit"),
    "float64 blob": (lambda h, c: put(c, DESCRIPTOR.astype(np.float64).tobytes()), "hit"),
    "base64 in a text column": (lambda h, c: put(c, json.dumps({"d": base64.b64encode(DESCRIPTOR).decode()})), "hit"),
    "urlsafe base64, offset": (
        lambda h, c: put(c, "x" + base64.urlsafe_b64encode(b"ab" + DESCRIPTOR.tobytes()).decode()),
        "hit",
    ),
    "hex in a text column": (lambda h, c: put(c, "t=" + DESCRIPTOR.tobytes().hex()), "hit"),
    "part of a descriptor": (lambda h, c: put(c, DESCRIPTOR[32:40].tobytes().hex()), "hit"),
    "printed list": (lambda h, c: put(c, json.dumps(DESCRIPTOR.tolist())), "hit"),
    "numpy print": (lambda h, c: put(c, str(DESCRIPTOR)), "hit"),
    "box in a column": (lambda h, c: put(c, json.dumps({"box": list(BOX)})), "hit"),
    "box in a debug log": (lambda h, c: logging.getLogger("izde.x").debug("face at %s, %s", *BOX[:2]), "hit"),
    "a new table": (lambda h, c: c.execute("CREATE TABLE faces (id INTEGER)"), "table"),
    "a changed row": (lambda h, c: c.execute("UPDATE counts SET n = n + 1"), "table"),
}


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, str]:
    home = tmp_path / "home"
    home.mkdir()
    with sqlite3.connect(home / "db") as con:
        con.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body)")
        con.execute("CREATE TABLE counts (n INTEGER)")
        con.execute("INSERT INTO counts VALUES (3)")
    return home, f"sqlite:///{home / 'db'}"


def run(world: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, leak: Leak | None) -> object:
    home, url = world
    with NoTrace(monkeypatch, roots=[home], database_url=url, ignore_files=["db"]) as trace:
        con = sqlite3.connect(home / "db")
        if leak is not None:
            leak(home, con)
        con.commit()
        con.close()
    return trace.findings(needles([DESCRIPTOR], [BOX]))


def test_a_clean_run_has_no_findings(world: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(world, monkeypatch, None)
    assert (found.new_files, found.changed_tables, found.hits) == ([], {}, [])  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", list(LEAKS))
def test_each_leak_is_found(world: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    leak, kind = LEAKS[name]
    found = run(world, monkeypatch, leak)
    got = {
        "file": bool(found.new_files),  # type: ignore[attr-defined]
        "hit": bool(found.hits),  # type: ignore[attr-defined]
        "table": bool(set(found.changed_tables) - {"notes"}),  # type: ignore[attr-defined]
    }
    assert got[kind], found


def test_nothing_to_look_for_is_an_error(world: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    home, url = world
    with NoTrace(monkeypatch, roots=[home], database_url=url) as trace:
        pass
    with pytest.raises(AssertionError, match="would prove nothing"):
        trace.findings(needles([], []))
