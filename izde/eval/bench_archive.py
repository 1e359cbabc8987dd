"""How fast a case's archive is searched: hours of footage per hour of wall time (and per core), by a search with 1
and with 2 worker processes, side by side with watching the same files one by one with ``izde watch``.

Everything runs in a new data directory through the same checks and audit as real use: a deployment with
Lin-Manuel Miranda enrolled, an authorisation covering the archive, an archive made of copies of the shared clips
(his stage clip and the crowd) under several camera folders with start times in their names.
"""

from __future__ import annotations

import os
import resource
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from izde.archive.manifest import scan_folder
from izde.config import Settings
from izde.governance.authorisations import AuthorisationSpec, Objective
from izde.governance.roles import Role
from izde.watchlist.types import Category, PersonSpec, PhotoSpec, Provenance

START = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def _cpu_s() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def build_archive(root: Path, data: Path, cameras: int) -> Path:
    """``cameras`` folders, each with the stage clip and the crowd clip one after the other."""
    stage = data / "video/hamilton/short_hamilton_clip.mp4"
    crowd = data / "video/crowd/crowd.mp4"
    for i in range(cameras):
        cam = root / f"cam-{i + 1}"
        cam.mkdir(parents=True)
        at = START + timedelta(minutes=10 * i)
        shutil.copy(stage, cam / f"{at:%Y%m%dT%H%M%SZ}.mp4")
        shutil.copy(crowd, cam / f"{at + timedelta(minutes=1):%Y%m%dT%H%M%SZ}.mp4")
    return root


def _deployment(settings: Settings, data: Path, cameras: list[str]) -> tuple[str, str]:
    """An initialised deployment with Lin-Manuel Miranda approved and a granted authorisation; returns the
    authorisation's id and the operator's password."""
    from izde.api import Izde

    password = secrets.token_urlsafe(18)
    with Izde(settings) as izde:
        izde.initialise("bench-admin", password, "Bench Police", law_enforcement=True)
        izde.login("bench-admin", password)
        for name, role in (
            ("bench-curator", Role.CURATOR),
            ("bench-approver", Role.APPROVER),
            ("bench-op", Role.OPERATOR),
        ):
            izde.add_user(name, password, frozenset({role}), "Bench Police", None)
        izde.login("bench-curator", password)
        person = izde.propose(
            PersonSpec(
                display_name="Lin-Manuel Miranda",
                category=Category.WANTED,
                legal_basis="BENCH warrant 1/2026",
                issuing_authority="Bench Court",
                expires_on=date.today() + timedelta(days=30),
            ),
            [PhotoSpec(path=data / "video/hamilton/lin-manuel-miranda.png", provenance=Provenance.OFFICIAL_RECORD)],
        )
        izde.login("bench-approver", password)
        izde.approve(person.id)
        izde.login("bench-curator", password)
        auth = izde.request_authorisation(
            AuthorisationSpec(
                objective=Objective.MISSING_PERSON,
                issuing_authority="Bench Court",
                reference="BENCH-1",
                starts_at=START - timedelta(hours=1),
                ends_at=START + timedelta(days=1),
                covers_live=False,
                covers_recorded=True,
                persons=(person.id,),
                cameras=tuple(cameras),
            )
        )
        izde.record_fria(auth.id, "Benchmark impact assessment.")
        izde.login("bench-approver", password)
        izde.decide_authorisation(auth.id, grant=True, note="bench")
    return auth.id, password


def compare(
    data: Path,
    settings: Settings,
    *,
    cameras: int = 4,
    workers: tuple[int, ...] = (1, 2),
    chunk_s: float = 120.0,
    log: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """The figures: one row for the file-by-file baseline and one per worker count, with the sightings found."""
    from izde.api import Izde

    with tempfile.TemporaryDirectory(prefix="izde-bench-archive-") as tmp:
        root = build_archive(Path(tmp) / "archive", data, cameras)
        archive = scan_folder(root)
        footage_s = archive.footage_s
        rows: list[dict[str, Any]] = []
        for name, n in [("izde watch, file by file", 0), *((f"izde search, {w} worker(s)", w) for w in workers)]:
            home = Path(tmp) / f"home-{n}"
            # Unregistered cameras, as a local trial would: the benchmark reads only its own copies.
            s = settings.model_copy(
                update={
                    "home": home,
                    "database_url": None,
                    "cameras": settings.cameras.model_copy(update={"registered_only": False}),
                }
            )
            auth, password = _deployment(s, data, sorted(archive.cameras))
            with Izde(s) as izde:
                token = izde.login("bench-op", password)
                izde.use_token(token)
                log(f"{name}: {len(archive.recordings)} recordings, {footage_s:.1f} s of footage")
                cpu0, t0 = _cpu_s(), time.perf_counter()
                if n == 0:
                    alerts = 0
                    for r in archive.recordings:
                        report = izde.watch(str(r.path), r.camera, auth, recorded_at=r.start)
                        alerts += len(report.alerts)
                    sightings = None
                else:
                    view = izde.searches.plan(archive, auth, "BENCH-CASE", chunk_s=chunk_s)
                    done = izde.searches.run(view.id, n)
                    alerts = done.alerts
                    sightings = [(s.person, s.camera) for s in izde.searches.sightings(view.id)]
                wall, cpu = time.perf_counter() - t0, _cpu_s() - cpu0
            cores = max(1, min(n or 1, os.cpu_count() or 1))
            rows.append(
                {
                    "run": name,
                    "workers": n or None,
                    "wall_s": round(wall, 2),
                    "cpu_s": round(cpu, 2),
                    "footage_h_per_h": round(footage_s / wall, 2),
                    "footage_h_per_h_per_core": round(footage_s / wall / cores, 2),
                    "footage_s_per_cpu_s": round(footage_s / cpu, 2) if cpu else None,
                    "alerts": alerts,
                    "sightings": len(sightings) if sightings is not None else None,
                    "sighted": sorted({c for _, c in sightings}) if sightings is not None else None,
                }
            )
            log(f"  {wall:.1f} s wall, {cpu:.1f} CPU s: {footage_s / wall:.2f} h of footage per hour")
        return {
            "footage_s": round(footage_s, 2),
            "recordings": len(archive.recordings),
            "cameras": cameras,
            "chunk_s": chunk_s,
            "analysis_fps": settings.archive.analysis_fps,
            "cpus": os.cpu_count(),
            "runs": rows,
        }
