"""Small helpers the safeguard tests share: extra users, image-folder sources, database rows, files on disk."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from izde.api import Izde
from izde.governance.roles import Role
from tests.cli.helpers import PASSWORD, Deployment, json_lines
from tests.conftest import HAMILTON, require_data


def add_user(dep: Deployment, name: str, *roles: Role, organisation: str = "Police") -> None:
    """A further user of the deployment's organisation, logged in (``dep.run(name, ...)`` acts as them)."""
    with Izde(home=dep.home, token=dep.tokens["admin"]) as admin:
        admin.add_user(name, PASSWORD, frozenset(roles), organisation, None)
    with Izde(home=dep.home) as service:
        dep.tokens[name] = service.login(name, PASSWORD)


def folder(tmp: Path, name: str, *images: str) -> Path:
    """A folder source holding copies of the named shared test images (never copied into the repository)."""
    out = tmp / name
    out.mkdir()
    for i, image in enumerate(images):
        src = require_data(HAMILTON / image)
        shutil.copyfile(src, out / f"{i:03d}{src.suffix}")
    return out


def watch_alerts(dep: Deployment, source: Path, camera: str, auth: str, user: str = "op-a") -> list[dict[str, object]]:
    r = dep.watch(source, camera, auth, "--json", user=user)
    assert r.exit_code == 0, r.stderr
    return json_lines(r.stdout)


def rows(home: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(home / "izde.db") as con:
        return list(con.execute(sql, params).fetchall())


def execute(home: Path, sql: str, *params: object) -> None:
    with sqlite3.connect(home / "izde.db") as con:
        con.execute(sql, params)


def files_under(home: Path, sub: str) -> list[Path]:
    base = home / sub
    return sorted(p for p in base.rglob("*") if p.is_file()) if base.exists() else []
