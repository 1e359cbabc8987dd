"""Watch runs, alerts with evidence files, and hourly face counts, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from izde.config import Settings
from izde.errors import InvalidInput, NotFound
from izde.store.alerts import AlertStatus, add_alert, get_alert, list_alerts
from izde.store.counts import add_face_counts, add_face_counts_generic, hour_of, list_face_counts
from izde.store.db import Database
from izde.store.lookup import AmbiguousReference
from izde.store.models import Alert, WatchRun
from izde.store.persons import add_person
from izde.store.runs import RunCounters, RunStatus, finish_run, get_run, list_runs, start_run, update_run
from tests.store.factories import jpeg, now, photo, spec


def new_run(db: Database, camera: str = "gate") -> WatchRun:
    with db.session() as s:
        return start_run(
            s,
            camera=camera,
            source="/videos/a.mp4",
            source_kind="file",
            threshold=0.45,
            watchlist_hash="a" * 64,
            watchlist_size=3,
        )


def new_person(db: Database, name: str = "Jane") -> str:
    with db.transaction() as (s, stage):
        return add_person(s, stage, spec(name), [photo()]).id


def raise_alert(db: Database, run: WatchRun, person_id: str, evidence: bytes | None = None) -> Alert:
    with db.transaction() as (s, stage):
        return add_alert(
            s,
            stage,
            run_id=run.id,
            person_id=person_id,
            track_id=3,
            frame_time=now(),
            position_s=12.5,
            distance=0.31,
            threshold=0.45,
            quality=0.8,
            evidence_jpeg=jpeg() if evidence is None else evidence,
        )


def test_run_lifecycle(db: Database) -> None:
    run = new_run(db)
    assert run.status == RunStatus.RUNNING and run.frames_read == 0 and run.ended_at is None
    with db.session() as s:
        update_run(s, run.id, RunCounters(frames_read=100, frames_analysed=20, faces_seen=5))
    with db.session() as s:
        finish_run(s, run.id, "failed", error="stream lost", counters=RunCounters(frames_read=150, alerts_raised=1))
    with db.session(readonly=True) as s:
        done = get_run(s, run.id[:6])
        assert (done.status, done.error, done.frames_read, done.frames_analysed) == (
            "failed",
            "stream lost",
            150,
            0,
        )
        assert done.ended_at is not None and done.ended_at >= done.started_at
    with pytest.raises(InvalidInput, match="already finished"), db.session() as s:
        finish_run(s, run.id, RunStatus.COMPLETED)
    with pytest.raises(InvalidInput, match="already finished"), db.session() as s:
        update_run(s, run.id, RunCounters(frames_read=1))


def test_run_refuses_bad_status_and_counters(db: Database) -> None:
    run = new_run(db)
    for status in ("running", "exploded"):
        with pytest.raises(InvalidInput), db.session() as s:
            finish_run(s, run.id, status)
    with pytest.raises(InvalidInput, match="negative"):
        RunCounters(frames_dropped=-1)
    with pytest.raises(NotFound), db.session() as s:
        finish_run(s, "0" * 32, "completed")


def test_list_runs_newest_first(db: Database) -> None:
    first, second, other = new_run(db, "gate"), new_run(db, "gate"), new_run(db, "lobby")
    with db.session() as s:
        s.get_one(WatchRun, first.id).started_at = now() - timedelta(hours=1)
    with db.session(readonly=True) as s:
        assert [r.id for r in list_runs(s, camera="gate")] == [second.id, first.id]
        assert len(list_runs(s, limit=2)) == 2 and other.id in [r.id for r in list_runs(s)]


def test_alert_stores_evidence_after_commit(db: Database) -> None:
    run, person = new_run(db), new_person(db)
    alert = raise_alert(db, run, person, jpeg("face"))
    assert alert.evidence_file == f"evidence/{run.id}/{alert.id}.jpg"
    assert db.files.read_bytes(alert.evidence_file) == jpeg("face")
    with db.session(readonly=True) as s:
        got = get_alert(s, alert.id[:7])
        assert (got.camera, got.status, got.person_id, got.track_id) == ("gate", "pending", person, 3)
        assert got.frame_time.tzinfo is not None


def test_failed_alert_leaves_no_evidence(db: Database) -> None:
    run, person = new_run(db), new_person(db)
    with pytest.raises(RuntimeError), db.transaction() as (s, stage):
        add_alert(
            s,
            stage,
            run_id=run.id,
            person_id=person,
            track_id=1,
            frame_time=now(),
            position_s=0.0,
            distance=0.3,
            threshold=0.45,
            quality=0.5,
            evidence_jpeg=jpeg(),
        )
        raise RuntimeError("pipeline crashed before commit")
    with pytest.raises(NotFound), db.transaction() as (s, stage):
        add_alert(
            s,
            stage,
            run_id=run.id,
            person_id="0" * 32,
            track_id=1,
            frame_time=now(),
            position_s=0.0,
            distance=0.3,
            threshold=0.45,
            quality=0.5,
            evidence_jpeg=jpeg(),
        )
    with pytest.raises(InvalidInput, match="JPEG"):
        raise_alert(db, run, person, b"\x89PNG not a jpeg")
    with db.session(readonly=True) as s:
        assert list_alerts(s) == []
    assert not (db.files.home / "evidence").exists()


def test_alert_without_evidence(db: Database) -> None:
    run, person = new_run(db), new_person(db)
    with db.transaction() as (s, stage):
        alert = add_alert(
            s,
            stage,
            run_id=run.id,
            person_id=person,
            track_id=1,
            frame_time=now(),
            position_s=0.0,
            distance=0.3,
            threshold=0.45,
            quality=0.5,
            evidence_jpeg=None,
        )
    assert alert.evidence_file is None


def test_list_alerts_filters(db: Database) -> None:
    gate, lobby = new_run(db, "gate"), new_run(db, "lobby")
    jane, john = new_person(db, "Jane"), new_person(db, "John")
    a1, a2, a3 = raise_alert(db, gate, jane), raise_alert(db, gate, john), raise_alert(db, lobby, jane)
    base = datetime(2024, 6, 1, 12, tzinfo=UTC)
    with db.session() as s:
        for i, a in enumerate((a1, a2, a3)):
            s.get_one(Alert, a.id).created_at = base + timedelta(hours=i)
        s.get_one(Alert, a2.id).status = AlertStatus.CONFIRMED
    plus2 = timezone(timedelta(hours=2))
    with db.session(readonly=True) as s:

        def ids(**kw: object) -> list[str]:
            return [a.id for a in list_alerts(s, **kw)]  # type: ignore[arg-type]

        assert ids() == [a3.id, a2.id, a1.id]
        assert ids(camera="gate") == [a2.id, a1.id]
        assert ids(person_id=jane) == [a3.id, a1.id]
        assert ids(status="confirmed") == [a2.id]
        assert ids(status=AlertStatus.PENDING, camera="lobby") == [a3.id]
        assert ids(since=base + timedelta(hours=1)) == [a3.id, a2.id]
        assert ids(until=base + timedelta(hours=1)) == [a1.id]
        assert ids(since=datetime(2024, 6, 1, 15, tzinfo=plus2)) == [a3.id, a2.id]  # 13:00 UTC
        assert ids(limit=1) == [a3.id]
        assert ids(camera="nowhere") == []


def test_alert_prefix_lookup(db: Database) -> None:
    run, person = new_run(db), new_person(db)
    with db.session() as s:
        for suffix in ("1", "2"):
            s.add(
                Alert(
                    id="beef00" + suffix * 26,
                    run_id=run.id,
                    person_id=person,
                    camera="gate",
                    track_id=int(suffix),  # one alert per (run, track, person)
                    frame_time=now(),
                    position_s=0.0,
                    distance=0.3,
                    threshold=0.45,
                    quality=0.5,
                )
            )
    with db.session(readonly=True) as s:
        with pytest.raises(AmbiguousReference, match="several alerts"):
            get_alert(s, "beef00")
        assert get_alert(s, "beef001").id == "beef00" + "1" * 26
        with pytest.raises(NotFound):
            get_alert(s, "beef")


def test_one_alert_per_run_track_and_person(db: Database) -> None:
    run, person = new_run(db), new_person(db)
    raise_alert(db, run, person)
    with pytest.raises(IntegrityError):
        raise_alert(db, run, person)
    with db.session(readonly=True) as s:
        assert len(list_alerts(s)) == 1


def test_face_counts_add_up_per_camera_and_utc_hour(db: Database) -> None:
    t = datetime(2024, 6, 1, 10, 15, tzinfo=UTC)
    with db.session() as s:
        add_face_counts(s, "gate", t, faces=3, tracks=1)
        add_face_counts(s, "gate", t + timedelta(minutes=30), faces=2, tracks=2)
        add_face_counts(s, "gate", datetime(2024, 6, 1, 12, 59, tzinfo=timezone(timedelta(hours=2))), faces=1, tracks=0)
        add_face_counts(s, "gate", t + timedelta(hours=1), faces=4, tracks=4)
        add_face_counts(s, "lobby", t, faces=9, tracks=9)
    with db.session() as s:
        add_face_counts(s, "gate", t, faces=10, tracks=10)  # later transaction, same row
    with db.session(readonly=True) as s:
        gate = [(c.hour, c.faces, c.tracks) for c in list_face_counts(s, camera="gate")]
        assert gate == [(hour_of(t), 16, 13), (hour_of(t) + timedelta(hours=1), 4, 4)]
        assert [c.camera for c in list_face_counts(s, since=hour_of(t), until=hour_of(t) + timedelta(hours=1))] == [
            "gate",
            "lobby",
        ]
    with pytest.raises(InvalidInput), db.session() as s:
        add_face_counts(s, "gate", t, faces=-1, tracks=0)


def test_generic_face_count_upsert(db: Database) -> None:
    hour = datetime(2024, 6, 1, 10, tzinfo=UTC)
    with db.session() as s:
        add_face_counts_generic(s, "gate", hour, faces=1, tracks=1)
        add_face_counts_generic(s, "gate", hour, faces=2, tracks=0)
    with db.session(readonly=True) as s:
        assert [(c.faces, c.tracks) for c in list_face_counts(s)] == [(3, 1)]


def test_concurrent_writers_do_not_lose_counts(db: Database, settings: Settings) -> None:
    # Two connections (as two watch processes would be) add to the same counter at once.
    hour = datetime(2024, 6, 1, 10, tzinfo=UTC)
    errors: list[BaseException] = []

    def work(database: Database) -> None:
        try:
            for _ in range(40):
                with database.session() as s:
                    add_face_counts(s, "gate", hour, faces=1, tracks=2)
        except BaseException as e:
            errors.append(e)

    with Database.open(settings) as other:
        assert db.organisation_id is not None
        threads = [threading.Thread(target=work, args=(d,)) for d in (db, other.scoped(db.organisation_id))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    with db.session(readonly=True) as s:
        assert [(c.faces, c.tracks) for c in list_face_counts(s)] == [(80, 160)]


def test_runs_and_alerts_survive_reopen(db: Database, settings: Settings) -> None:
    run, person = new_run(db), new_person(db)
    raise_alert(db, run, person)
    db.close()
    with Database.open(settings) as again, again.session(readonly=True) as s:
        assert s.scalars(select(Alert.run_id)).one() == run.id
