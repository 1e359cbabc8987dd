"""Running the real ``izde`` command in-process, as the people of a deployment would type it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from izde.api import Izde
from izde.cli.main import app
from izde.config import Settings
from izde.governance.roles import Role
from izde.store.db import Database

FAR_FUTURE = "2099-12-31"
PASSWORD = "correct horse battery staple"
RECORDED_AT = "2026-11-20T10:00:00+00:00"
USERS: dict[str, tuple[Role, ...]] = {
    "curator": (Role.CURATOR,),
    "approver": (Role.APPROVER,),
    "op-a": (Role.OPERATOR,),
    "op-b": (Role.OPERATOR,),
    "auditor": (Role.AUDITOR,),
}


def izde(home: Path, *args: str | Path, token: str | None = None) -> Result:
    env = {"IZDE_TOKEN": token} if token else {"IZDE_TOKEN": ""}
    return CliRunner().invoke(app, ["--home", str(home), *[str(a) for a in args]], env=env, catch_exceptions=False)


def read_stored(home: Path, path: str | Path) -> bytes:
    """A photo or evidence file as izde reads it, opened with the data key: on disk it is sealed."""
    with Database.open(Settings(home=home)) as db:
        return db.files.read_at(Path(path))


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@dataclass
class Deployment:
    """An initialised data directory with one user per role, logged in."""

    home: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def run(self, user: str, *args: str | Path) -> Result:
        return izde(self.home, *args, token=self.tokens[user])

    def propose(self, name: str, *photos: Path, extra: tuple[str, ...] = ()) -> Result:
        args: list[str | Path] = ["watchlist", "add", name, "--category", "wanted", "--legal-basis", "Warrant 1/2026"]
        args += ["--authority", "Test Court", "--expires", FAR_FUTURE, "--provenance", "official_record", "--json"]
        for p in photos:
            args += ["--photo", p]
        return self.run("curator", *args, *extra)

    def enrol(self, name: str, *photos: Path) -> str:
        """Proposed by the curator, approved by the approver: an active entry."""
        r = self.propose(name, *photos)
        assert r.exit_code == 0, r.stderr
        pid = str(json_lines(r.stdout)[0]["id"])
        a = self.run("approver", "watchlist", "approve", pid)
        assert a.exit_code == 0, a.stderr
        return pid

    def authorise(
        self,
        persons: list[str],
        cameras: list[str],
        *,
        live: bool = False,
        start: str = "2026-11-01T00:00:00+00:00",
        end: str = "2026-12-31T00:00:00+00:00",
        grant: bool = True,
        fria: bool = True,
        urgent: str | None = None,
    ) -> str:
        args: list[str | Path] = ["auth", "request", "--objective", "serious_offence", "--offence-code", "CC-105"]
        args += ["--authority", "Prosecutor", "--reference", "AUTH-1", "--start", start, "--end", end, "--json"]
        args += ["--live" if live else "--recorded"]
        for p in persons:
            args += ["--person", p]
        for c in cameras:
            args += ["--camera", c]
        if urgent:
            args += ["--urgent-reason", urgent]
        r = self.run("curator", *args)
        assert r.exit_code == 0, r.stderr
        auth_id = str(json_lines(r.stdout)[0]["id"])
        if fria:
            f = self.run("curator", "auth", "fria", auth_id, "--summary", "FRIA on file, ref F-1")
            assert f.exit_code == 0, f.stderr
        if grant:
            g = self.run("approver", "auth", "grant", auth_id)
            assert g.exit_code == 0, g.stderr
        return auth_id

    def watch(self, source: Path | str, camera: str, auth_id: str, *extra: str, user: str = "op-a") -> Result:
        return self.run(
            user, "watch", source, "--camera", camera, "--authorisation", auth_id, "--recorded-at", RECORDED_AT, *extra
        )


def make_deployment(home: Path, law_enforcement: bool = True) -> Deployment:
    with Izde(home=home) as service:
        service.initialise("admin", PASSWORD, "Police" if law_enforcement else "City Council", law_enforcement)
        dep = Deployment(home)
        dep.tokens["admin"] = service.login("admin", PASSWORD)
        for name, roles in USERS.items():
            service.actor = None
            service.use_token(dep.tokens["admin"])
            service.add_user(name, PASSWORD, frozenset(roles), "Police" if law_enforcement else "City Council", None)
        for name in USERS:
            dep.tokens[name] = service.login(name, PASSWORD)
    return dep
