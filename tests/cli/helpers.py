"""Running the real ``izde`` command in-process, as a user would type it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from izde.cli.main import app

FAR_FUTURE = "2099-12-31"


def izde(home: Path, *args: str | Path) -> Result:
    return CliRunner().invoke(app, ["--home", str(home), *[str(a) for a in args]], catch_exceptions=False)


def enrol(home: Path, name: str, *photos: Path, extra: tuple[str, ...] = ()) -> Result:
    args: list[str | Path] = ["watchlist", "add", name, "--category", "wanted", "--legal-basis", "Warrant 1/2026"]
    args += ["--authority", "Test Court", "--expires", FAR_FUTURE, "--provenance", "official_record", "--json"]
    for p in photos:
        args += ["--photo", p]
    return izde(home, *args, *extra)


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]
