"""``izde bench fleet``: live cameras on N worker processes over a real nats-server, optionally with one worker
SIGKILLed mid-run, against one in-process server on the same cameras in the same run as the baseline.

Both runs watch M looping MJPEG cameras (the clip replayed in real time on 127.0.0.1) for the same time, with
Lin-Manuel Miranda enrolled. Figures, from the record (the database) and the fleet's status:

- ``alerts_expected``: passages of the person the workers reported (alert events published, counted once per
  person and camera within the cooldown); for the baseline, the alerts its watchers raised.
- ``alerts_stored``, ``lost`` (expected passages with no stored alert), ``duplicates`` (stored alerts of the
  same person and run closer together than the cooldown).
- ``failover_s_max``: from the SIGKILL to the last of the dead worker's sessions running on another worker.
- ``alert_latency_ms_p50``/``p99``: frame time (the camera's wall clock) to the committed alert row.
- ``frames_analysed_per_s`` (all cameras together) and ``frames_dropped``.
"""

from __future__ import annotations

import itertools
import re
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from izde.config import Settings
from izde.fleet.testbed import LoopCamera, NatsServer, WorkerProcess, clip_jpegs
from izde.governance.authorisations import AuthorisationSpec
from izde.governance.roles import Role
from izde.store.models import Alert, WatchRun
from izde.watchlist.types import PersonSpec, PhotoSpec

PASSWORD = "bench-password-1234"
PUBLISHED = re.compile(r"published alert alert\.(\w+)\.(\d+)\.(\w+) at (\S+)")
Log = Callable[[str], None]


def _deploy(settings: Settings, cameras: list[LoopCamera], reference: Path) -> tuple[str, str]:
    """Users, the person, the cameras and a live authorisation; returns (authorisation id, operator token)."""
    from izde.api import Izde

    with Izde(settings) as izde:
        izde.initialise("admin", PASSWORD, "Police", True)
        izde.login("admin", PASSWORD)
        for name, role in (("curator", Role.CURATOR), ("approver", Role.APPROVER), ("operator", Role.OPERATOR)):
            izde.add_user(name, PASSWORD, frozenset({role}), "Police", None)
        for i, cam in enumerate(cameras):
            izde.add_camera(f"cam{i}", cam.url, "benchmark camera")
        izde.login("curator", PASSWORD)
        person = izde.propose(
            PersonSpec(
                display_name="Lin-Manuel Miranda",
                category="wanted",
                legal_basis="Benchmark 1/2026",
                issuing_authority="Bench Court",
                expires_on=date.today() + timedelta(days=30),
            ),
            [PhotoSpec(path=reference, provenance="official_record")],
        )
        now = datetime.now(UTC)
        auth = izde.request_authorisation(
            AuthorisationSpec(
                objective="serious_offence",
                offence_code="CC-105",
                issuing_authority="Prosecutor",
                reference="BENCH-1",
                starts_at=now - timedelta(hours=1),
                ends_at=now + timedelta(hours=12),
                covers_live=True,
                covers_recorded=False,
                persons=(person.id,),
                cameras=tuple(f"cam{i}" for i in range(len(cameras))),
            )
        )
        izde.record_fria(auth.id, "benchmark FRIA")
        izde.login("approver", PASSWORD)
        izde.approve(person.id)
        izde.decide_authorisation(auth.id, True)
        return auth.id, izde.login("operator", PASSWORD)


def _figures(settings: Settings, run_ids: list[str], seconds: float, expected: int | None) -> dict[str, Any]:
    from sqlalchemy import select

    from izde.store.db import Database

    with Database.open(settings) as db, db.session(readonly=True) as s:
        alerts = list(s.scalars(select(Alert).where(Alert.run_id.in_(run_ids))))
        runs = list(s.scalars(select(WatchRun).where(WatchRun.id.in_(run_ids))))
        latencies = [(a.created_at - a.frame_time).total_seconds() * 1000 for a in alerts]
        cooldown = settings.pipeline.cooldown_s
        duplicates = 0
        by_run: dict[tuple[str, str], list[datetime]] = {}
        for a in alerts:
            by_run.setdefault((a.run_id, a.person_id), []).append(a.frame_time)
        for times in by_run.values():
            times.sort()
            duplicates += sum((b - a).total_seconds() < cooldown for a, b in itertools.pairwise(times))
        return {
            "alerts_expected": expected if expected is not None else len(alerts),
            "alerts_stored": len(alerts),
            "duplicates": duplicates,
            "alert_latency_ms_p50": round(float(np.percentile(latencies, 50)), 1) if latencies else None,
            "alert_latency_ms_p99": round(float(np.percentile(latencies, 99)), 1) if latencies else None,
            "frames_analysed_per_s": round(sum(r.frames_analysed for r in runs) / seconds, 2),
            "frames_dropped": sum(r.frames_dropped for r in runs),
            "_alerts": [(a.run_id, a.person_id, a.frame_time) for a in alerts],
        }


def _passages(events: set[tuple[str, str, datetime]], cooldown_s: float) -> list[tuple[str, str, datetime]]:
    """Alert events grouped into passages: per run and person, events closer than the cooldown are one."""
    out: list[tuple[str, str, datetime]] = []
    for run, person, at in sorted(events):
        last = out[-1] if out else None
        if last and last[0] == run and last[1] == person and (at - last[2]).total_seconds() < cooldown_s:
            continue
        out.append((run, person, at))
    return out


def _session_run(app: Any, token: str, cameras: int, fps: float) -> tuple[Any, Any, list[str]]:
    state = app.state.izde
    operator = state.service()
    operator.use_token(token)
    ids = [state.sessions.start(operator, f"cam{i}", auth_holder["auth"], None, fps).id for i in range(cameras)]
    return state, operator, ids


auth_holder: dict[str, str] = {}


def _wait(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


def bench_fleet(
    video: Path,
    reference: Path,
    base: Settings,
    *,
    workers: int,
    cameras: int,
    seconds: float,
    fps: float,
    capacity: int | None = None,
    kill_worker_after: float | None = None,
    log: Log = lambda m: None,
) -> dict[str, Any]:
    from izde.web.app import create_app

    capacity = capacity or max(1, -(-cameras // max(1, workers - (1 if kill_worker_after is not None else 0))))
    jpegs = clip_jpegs(video, every=2)
    result: dict[str, Any] = {
        "workers": workers,
        "cameras": cameras,
        "capacity": capacity,
        "seconds": seconds,
        "analysis_fps": fps,
        "kill_worker_after_s": kill_worker_after,
    }
    with tempfile.TemporaryDirectory(prefix="izde-bench-fleet-") as tmp, ExitStack() as stack:
        folder = Path(tmp)
        cams = [LoopCamera(jpegs, fps=15.0) for _ in range(cameras)]
        for cam in cams:
            stack.callback(cam.close)

        # Baseline: one in-process server, the same cameras, the same time.
        log("baseline: one in-process server")
        settings = base.model_copy(update={"home": folder / "baseline", "database_url": None})
        auth_holder["auth"], token = _deploy(settings, cams, reference)
        app = create_app(settings, start_workers=False)
        state, operator, ids = _session_run(app, token, cameras, fps)
        t0 = time.monotonic()
        time.sleep(seconds)
        runs = [state.sessions.get(i).run_id for i in ids]
        for i in ids:
            state.sessions.stop(i, operator)
        elapsed = time.monotonic() - t0
        state.sessions.shutdown()
        state.root.close()
        baseline = _figures(settings, runs, elapsed, None)
        baseline.pop("_alerts")
        baseline["lost"] = 0
        result["baseline"] = baseline

        log(f"fleet: {workers} workers, capacity {capacity}")
        nats = NatsServer(folder)
        nats.start()
        stack.callback(nats.stop)
        broker = {"url": nats.url, "failover_s": base.broker.failover_s, "recheck_s": base.broker.recheck_s}
        settings = base.model_copy(update={"home": folder / "fleet", "database_url": None})
        settings = Settings.model_validate({**settings.model_dump(), "broker": broker})
        auth_holder["auth"], token = _deploy(settings, cams, reference)
        app = create_app(settings, start_workers=False)
        fleet_state = app.state.izde
        stack.callback(fleet_state.sessions.shutdown)
        procs = [WorkerProcess(nats.url, f"w{i + 1}", folder, capacity) for i in range(workers)]
        for p in procs:
            stack.callback(p.stop)
        _wait(lambda: len(fleet_state.sessions.workers()) >= workers, 180, "the workers")
        state, operator, ids = _session_run(app, token, cameras, fps)
        _wait(
            lambda: all(s.status == "running" and s.frames_analysed > 0 for s in state.sessions.all()),
            240,
            "every session to run",
        )
        t0 = time.monotonic()
        failovers: list[float] = []
        if kill_worker_after is not None:
            time.sleep(kill_worker_after)
            sessions = {s.id: s for s in state.sessions.all()}
            victim = next(p for p in procs if any(s.worker == p.name for s in sessions.values()))
            moved = [sid for sid, s in sessions.items() if s.worker == victim.name]
            victim.kill()
            killed = time.monotonic()
            log(f"killed {victim.name} with {len(moved)} session(s)")
            pending = set(moved)
            while pending and time.monotonic() - killed < 120:
                for sid in list(pending):
                    s = state.sessions.get(sid)
                    if s.worker not in (None, victim.name) and s.health == "ok":
                        failovers.append(time.monotonic() - killed)
                        pending.discard(sid)
                time.sleep(0.1)
        time.sleep(max(0.0, seconds - (time.monotonic() - t0)))
        runs = [state.sessions.get(i).run_id for i in ids]
        for i in ids:
            state.sessions.stop(i, operator)
        elapsed = time.monotonic() - t0
        from izde.store.db import Database

        def ended() -> bool:
            with Database.open(settings) as db, db.session(readonly=True) as s:
                return all(r.status != "running" for r in s.query(WatchRun).filter(WatchRun.id.in_(runs)))

        _wait(ended, 60, "the recorder to record every run's end")
        time.sleep(2)  # events behind the ends
        published: set[tuple[str, str, datetime]] = set()
        for p in procs:
            for run, _track, person, at in PUBLISHED.findall(p.output()):
                published.add((run, person, datetime.fromisoformat(at)))
        figures = _figures(settings, runs, elapsed, None)
        stored = figures.pop("_alerts")
        passages = _passages(published, settings.pipeline.cooldown_s)
        cooldown = timedelta(seconds=settings.pipeline.cooldown_s)
        lost = sum(
            not any(r == run and p == person and abs(t - at) <= cooldown for r, p, t in stored)
            for run, person, at in passages
        )
        figures["alerts_expected"] = len(passages)
        figures["alert_events_published"] = len(published)
        figures["lost"] = lost
        figures["failover_s_max"] = round(max(failovers), 2) if failovers else None
        figures["failover_s_setting"] = settings.broker.failover_s
        figures["cooldown_s"] = settings.pipeline.cooldown_s
        result["fleet"] = figures
    return result
