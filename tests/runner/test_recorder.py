"""The run recorder on SQLite and PostgreSQL: every write is safe to repeat, alerts carry a committed
sequence, and a rejected authorisation's alerts are not kept."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from izde.api import Izde
from izde.config import Settings
from izde.runner.recorder import AlertRecord, RunEnd, RunRecorder, RunStart
from izde.store.counts import list_face_counts
from izde.store.models import Alert, AuditEntry, Authorisation, WatchRun, WebhookDelivery
from izde.store.persons import add_person
from izde.store.runs import RunCounters, RunStatus
from tests.store.conftest import BACKENDS, _empty_pg_tables, fresh_pg_database
from tests.store.factories import jpeg, photo, spec


@pytest.fixture(scope="module")
def pg_module_url() -> Iterator[str]:
    with fresh_pg_database() as url:
        yield url


@pytest.fixture(params=BACKENDS)
def izde(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Izde]:
    url = f"sqlite:///{tmp_path / 'home' / 'izde.db'}"
    if request.param == "postgres":
        url = request.getfixturevalue("pg_module_url")
        _empty_pg_tables(url)
    settings = Settings(
        home=tmp_path / "home",
        database_url=url,
        web={"webhooks": [{"url": "https://hooks.example/a", "secret_file": str(_secret(tmp_path))}]},
    )
    with Izde(settings) as service:
        # Rows belong to an organisation: the recorder writes as a logged-in user of one would.
        service.initialise("admin", "correct horse battery staple", "Police", law_enforcement=True)
        service.login("admin", "correct horse battery staple")
        yield service


def _secret(tmp_path: Path) -> Path:
    path = tmp_path / "hook.secret"
    path.write_text("s" * 64 + "\n")
    return path


def recorder(izde: Izde) -> RunRecorder:
    return RunRecorder(izde.db, izde.audit, ["https://hooks.example/a"], "https://izde.example")


def new_run(izde: Izde) -> tuple[str, str]:
    """A run under a granted authorisation, and a person on the watchlist."""
    with izde.db.transaction() as (s, stage):
        person = add_person(s, stage, spec("Jane"), [photo()]).id
        now = datetime.now(UTC)
        scope = Authorisation(
            objective="missing_person",
            issuing_authority="Court",
            reference="A-1",
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(hours=1),
            covers_live=True,
            covers_recorded=True,
            status="granted",
            requested_by="u",
        )
        s.add(scope)
        s.flush()
        scope_id = scope.id
    start = RunStart("gate", "/v.mp4", "file", 0.45, "a" * 64, 1, scope_id, "u", now, False)
    return recorder(izde).start(start), person


def event(run_id: str, person: str, track: int = 3) -> AlertRecord:
    return AlertRecord(run_id, person, track, datetime.now(UTC), 1.5, 0.3, 0.45, 0.8, jpeg())


def test_an_alert_recorded_twice_is_stored_once(izde: Izde) -> None:
    run_id, person = new_run(izde)
    rec = recorder(izde)
    first = rec.alert(event(run_id, person))
    again = rec.alert(event(run_id, person))
    other = rec.alert(event(run_id, person, track=4))
    assert first is not None and first.new
    assert again is not None and not again.new and again.alert_id == first.alert_id
    assert other is not None and other.new
    with izde.db.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 2
        assert s.scalar(select(func.count()).select_from(WebhookDelivery)) == 2
        raised = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "alert.raised")))
        assert [e.subject_id for e in raised] == [first.alert_id, other.alert_id]
        # The feed position of an alert is the seq of its audit entry.
        seqs = {a: q for a, q in s.execute(select(Alert.id, Alert.seq))}
        assert seqs == {e.subject_id: e.seq for e in raised}
    files = list((izde.settings.home / "evidence").rglob("*.jpg"))
    assert len(files) == 2


def test_concurrent_recorders_store_one_alert(izde: Izde) -> None:
    run_id, person = new_run(izde)
    results: list[object] = []
    barrier = threading.Barrier(4)

    def work() -> None:
        barrier.wait()
        results.append(recorder(izde).alert(event(run_id, person)))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 4
    assert sum(r.new for r in results) == 1  # type: ignore[attr-defined]
    with izde.db.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 1
        assert s.scalar(select(func.count()).where(AuditEntry.action == "alert.raised")) == 1


def test_repeated_counters_do_not_grow_face_counts(izde: Izde) -> None:
    run_id, _ = new_run(izde)
    rec = recorder(izde)
    rec.counters(run_id, RunCounters(frames_read=10, frames_analysed=5, faces_seen=4, tracks_seen=2))
    rec.counters(run_id, RunCounters(frames_read=10, frames_analysed=5, faces_seen=4, tracks_seen=2))
    # An older report arriving late never takes totals back.
    rec.counters(run_id, RunCounters(frames_read=8, frames_analysed=4, faces_seen=3, tracks_seen=1))
    rec.counters(run_id, RunCounters(frames_read=20, frames_analysed=9, faces_seen=7, tracks_seen=3))
    end = RunEnd(RunStatus.STOPPED, RunCounters(frames_read=21, frames_analysed=9, faces_seen=7, tracks_seen=3))
    assert rec.finish(run_id, end)
    assert not rec.finish(run_id, end)  # a repeated finish changes nothing
    with izde.db.session(readonly=True) as s:
        (row,) = list_face_counts(s, camera="gate")
        assert (row.faces, row.tracks) == (7, 3)
        run = s.get(WatchRun, run_id)
        assert run is not None and (run.status, run.frames_read, run.faces_seen) == ("stopped", 21, 7)
        assert s.scalar(select(func.count()).where(AuditEntry.action == "watch.stop")) == 1


def test_alerts_of_a_rejected_authorisation_are_not_kept(izde: Izde) -> None:
    run_id, person = new_run(izde)
    rec = recorder(izde)
    assert rec.alert(event(run_id, person)) is not None
    with izde.db.session() as s:
        run = s.get(WatchRun, run_id)
        assert run is not None
        scope = s.get(Authorisation, run.authorisation_id)
        assert scope is not None
        scope.status = "rejected"
    assert rec.alert(event(run_id, person, track=9)) is None
    assert rec.discard_rejected(run_id) == 1
    with izde.db.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 0
    assert not list((izde.settings.home / "evidence").rglob("*.jpg"))


def test_a_fleet_recorder_keeps_one_alert_per_passage(izde: Izde) -> None:
    """A replacement worker reports again, under a new track id, the passage its predecessor reported."""
    run_id, person = new_run(izde)
    fleet = RunRecorder(izde.db, izde.audit, same_person_within_s=5.0)
    first = event(run_id, person, track=1_000_003)
    again = AlertRecord(run_id, person, 2_000_001, first.frame_time + timedelta(seconds=2), 3.5, 0.3, 0.45, 0.8, None)
    later = AlertRecord(run_id, person, 2_000_009, first.frame_time + timedelta(seconds=9), 10.5, 0.3, 0.45, 0.8, None)
    a, b, c = fleet.alert(first), fleet.alert(again), fleet.alert(later)
    assert a is not None and a.new
    assert b is not None and not b.new and b.alert_id == a.alert_id
    assert c is not None and c.new
    # Without the window (in-process runs) the watcher's own cooldown decides, and distinct tracks are kept.
    assert (r := recorder(izde).alert(AlertRecord(run_id, person, 7, first.frame_time, 1.0, 0.3, 0.45, 0.8, None)))
    assert r.new
