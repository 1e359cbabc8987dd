"""Persons, photos and templates, with their files, on SQLite and PostgreSQL."""

from __future__ import annotations

import stat
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from izde.errors import InvalidInput, NotFound
from izde.store import alerts, runs
from izde.store.crypto import envelope_of, template_context
from izde.store.db import Database
from izde.store.lookup import AmbiguousReference
from izde.store.models import Alert, Person, ReferencePhoto, Template, WatchRun
from izde.store.persons import add_person, add_photos, find_person, get_person, list_persons, remove_person
from izde.store.templates import decode_descriptor, encode_descriptor, load_match_set, utc_today
from tests.store.factories import MODEL, future, jpeg, now, photo, spec


def count(db: Database, model: type[object]) -> int:
    with db.session(readonly=True) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def files_under(db: Database) -> list[str]:
    return sorted(str(p.relative_to(db.files.home)) for p in db.files.home.rglob("*") if p.is_file())


def stored_files(db: Database) -> list[str]:
    return [f for f in files_under(db) if f.startswith(("photos/", "evidence/"))]


def test_add_person_stores_rows_and_files(db: Database) -> None:
    photos = [photo(models=(MODEL, "onnx_v1")), photo()]
    with db.transaction() as (s, stage):
        person = add_person(s, stage, spec(), photos)
    with db.session(readonly=True) as s:
        p = get_person(s, person.id)
        assert (p.display_name, p.category, p.status) == ("Jane Doe", "missing", "active")
        assert len(p.photos) == 2
        assert {t.model for t in p.photos[0].templates} == {MODEL, "onnx_v1"}
        rels = [ph.file_name for ph in p.photos]
        assert p.photos[0].provenance == "official_record"
        assert p.photos[0].created_at.tzinfo is not None
    assert count(db, Template) == 3
    assert sorted(rels) == stored_files(db)
    assert all(r.startswith(f"photos/{person.id}/") and r.endswith(".jpg") for r in rels)
    contents = {db.files.read_bytes(r) for r in rels}
    assert contents == {ph.data for ph in photos}
    assert all(stat.S_IMODE(db.files.path(r).stat().st_mode) == 0o600 for r in rels)


def test_failure_inside_the_transaction_leaves_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction() as (s, stage):
        add_person(s, stage, spec(), [photo(), photo()])
        raise RuntimeError("enrolment interrupted")
    assert count(db, Person) == 0 and count(db, ReferencePhoto) == 0
    assert stored_files(db) == []
    assert not (db.files.home / "photos").exists()


def test_database_failure_at_commit_leaves_no_file(db: Database) -> None:
    with pytest.raises(IntegrityError), db.transaction() as (s, stage):
        add_person(s, stage, spec(), [photo()])
        # A row the database refuses only when the transaction is flushed at commit.
        s.add(
            WatchRun(
                id="0" * 32,
                camera="c",
                source="s",
                source_kind="file",
                threshold=0.4,
                watchlist_hash="h",
                watchlist_size=1,
            )
        )
        s.add(
            Alert(
                run_id="f" * 32,
                person_id="e" * 32,
                camera="c",
                track_id=1,
                frame_time=now(),
                position_s=0.0,
                distance=0.3,
                threshold=0.4,
                quality=0.5,
            )
        )
    assert count(db, Person) == 0 and count(db, WatchRun) == 0
    assert stored_files(db) == []


def test_person_needs_photos_and_rejects_duplicates(db: Database) -> None:
    with pytest.raises(InvalidInput, match="at least one"), db.transaction() as (s, stage):
        add_person(s, stage, spec(), [])
    same = photo()
    with pytest.raises(InvalidInput, match="already enrolled"), db.transaction() as (s, stage):
        add_person(s, stage, spec(), [same, same])
    with db.transaction() as (s, stage):
        person = add_person(s, stage, spec(), [same])
    with pytest.raises(InvalidInput, match="already enrolled"), db.transaction() as (s, stage):
        add_photos(s, stage, person.id, [photo(), same])
    assert count(db, ReferencePhoto) == 1 and len(stored_files(db)) == 1


@pytest.mark.parametrize("bad", [np.zeros(127, np.float32), np.full(128, np.nan, np.float32)])
def test_bad_descriptors_are_refused(db: Database, bad: np.ndarray) -> None:
    p = photo()
    broken = type(p)(p.data, p.ext, p.provenance, p.box, p.quality, {MODEL: bad})
    with pytest.raises(InvalidInput), db.transaction() as (s, stage):
        add_person(s, stage, spec(), [broken])
    assert stored_files(db) == []


def test_descriptor_bytes_are_float32_little_endian() -> None:
    v = np.arange(128, dtype=np.float64) / 7
    raw = encode_descriptor(v)
    assert len(raw) == 512
    assert np.array_equal(np.frombuffer(raw, "<f4"), v.astype(np.float32))
    assert np.array_equal(decode_descriptor(raw), v.astype(np.float32))


def test_add_photos_to_existing_person(db: Database) -> None:
    with db.transaction() as (s, stage):
        person = add_person(s, stage, spec(), [photo()])
    with db.transaction() as (s, stage):
        added = add_photos(s, stage, person.id[:8], [photo(), photo()])
    assert len(added) == 2
    with db.session(readonly=True) as s:
        assert len(get_person(s, person.id).photos) == 3
        assert [x.photo_count for x in list_persons(s)] == [3]
    assert len(stored_files(db)) == 3


def _bare_person(person_id: str, name: str) -> Person:
    return Person(
        id=person_id,
        display_name=name,
        category="wanted",
        legal_basis="warrant 1",
        issuing_authority="Police",
        expires_on=future(),
    )


def test_find_by_id_prefix_or_name(db: Database) -> None:
    with db.session() as s:
        s.add_all(
            [
                _bare_person("abcdef01" + "0" * 24, "Ann"),
                _bare_person("abcdef02" + "0" * 24, "Bob"),
                _bare_person("123456" + "0" * 26, "Ann"),
            ]
        )
    with db.session(readonly=True) as s:
        assert find_person(s, "abcdef01" + "0" * 24).display_name == "Ann"
        assert find_person(s, "ABCDEF02").display_name == "Bob"  # prefixes are case-insensitive
        assert find_person(s, "Bob").id.startswith("abcdef02")
        with pytest.raises(AmbiguousReference) as e:
            find_person(s, "abcdef")
        assert len(e.value.candidates) == 2 and "Ann" in str(e.value) and "Bob" in str(e.value)
        with pytest.raises(AmbiguousReference, match="several persons"):
            find_person(s, "Ann")
        with pytest.raises(NotFound):
            find_person(s, "abcde")  # too short to be a prefix, and nobody is called that
        with pytest.raises(NotFound):
            find_person(s, "abc%ef")  # wildcards are not prefixes
        with pytest.raises(NotFound):
            get_person(s, "abcdef")


def test_list_persons_counts_photos(db: Database) -> None:
    with db.transaction() as (s, stage):
        add_person(s, stage, spec("Zed"), [photo(), photo()])
        add_person(s, stage, spec("Amy"), [photo()])
    with db.session() as s:
        s.add(_bare_person("9" * 32, "Bo"))
    with db.session(readonly=True) as s:
        assert [(p.display_name, p.photo_count) for p in list_persons(s)] == [
            ("Amy", 1),
            ("Bo", 0),
            ("Zed", 2),
        ]


def _alert_for(db: Database, person_id: str, camera: str = "gate") -> tuple[str, str]:
    with db.transaction() as (s, stage):
        run = runs.start_run(
            s,
            camera=camera,
            source="rtsp://cam",
            source_kind="rtsp",
            threshold=0.45,
            watchlist_hash="h" * 64,
            watchlist_size=2,
        )
        alert = alerts.add_alert(
            s,
            stage,
            run_id=run.id,
            person_id=person_id,
            track_id=7,
            frame_time=now(),
            position_s=1.5,
            distance=0.3,
            threshold=0.45,
            quality=0.7,
            evidence_jpeg=jpeg(person_id),
        )
    return run.id, alert.id


def test_remove_person_cascades_rows_and_files(db: Database) -> None:
    with db.transaction() as (s, stage):
        gone = add_person(s, stage, spec("Gone"), [photo(models=(MODEL, "other")), photo()])
        kept = add_person(s, stage, spec("Kept"), [photo()])
    run_id, _ = _alert_for(db, gone.id)
    _alert_for(db, gone.id)
    _, kept_alert = _alert_for(db, kept.id)
    with db.transaction() as (s, stage):
        removal = remove_person(s, stage, "Gone")
    assert (removal.photos, removal.templates, removal.alerts, len(removal.files)) == (2, 3, 2, 4)
    with db.session(readonly=True) as s:
        assert [p.display_name for p in list_persons(s)] == ["Kept"]
        assert s.scalar(select(func.count()).select_from(Template).where(Template.person_id == gone.id)) == 0
        assert list(s.scalars(select(Alert.id))) == [kept_alert]
        assert s.get(WatchRun, run_id) is not None  # runs are kept: they hold counts only
    left = stored_files(db)
    assert len(left) == 2 and not any(gone.id in f for f in left)
    assert not (db.files.home / "photos" / gone.id).exists()
    assert not (db.files.home / "evidence" / run_id).exists()  # emptied folders are removed


def test_rolled_back_removal_keeps_everything(db: Database) -> None:
    with db.transaction() as (s, stage):
        person = add_person(s, stage, spec(), [photo()])
    _alert_for(db, person.id)
    before = stored_files(db)
    with pytest.raises(RuntimeError), db.transaction() as (s, stage):
        remove_person(s, stage, person.id)
        raise RuntimeError("changed my mind")
    assert stored_files(db) == before and count(db, Person) == 1 and count(db, Alert) == 1


def test_match_set_has_only_active_unexpired_persons(db: Database) -> None:
    with db.transaction() as (s, stage):
        a = add_person(s, stage, spec("A"), [photo(), photo(models=(MODEL, "other"))])
        b = add_person(s, stage, spec("B", days=1), [photo()])
        expired = add_person(s, stage, spec("Expired"), [photo()])
        suspended = add_person(s, stage, spec("Suspended"), [photo()])
        only_other = add_person(s, stage, spec("Other model"), [photo(models=("other",))])
    with db.session() as s:
        # Expiry is a date: the entry stops matching at the start of that day (UTC).
        s.get_one(Person, expired.id).expires_on = utc_today()
        s.get_one(Person, suspended.id).status = "suspended"
    with db.session(readonly=True) as s:
        ms = load_match_set(s, MODEL)
        assert ms.person_ids == sorted([a.id, b.id]) and ms.size == 2
        assert ms.descriptors.shape == (3, 128) and ms.descriptors.dtype == np.float32
        assert ms.owners.tolist().count(ms.person_ids.index(a.id)) == 2
        envelope = envelope_of(s.info)
        sealed = s.scalars(select(Template).where(Template.model == MODEL))
        stored = {envelope.open(bytes(t.descriptor), template_context(t.person_id)): t.person_id for t in sealed}
        for row, owner in zip(ms.descriptors, ms.owners, strict=True):
            assert stored[encode_descriptor(row)] == ms.person_ids[owner]
        tomorrow = load_match_set(s, MODEL, today=utc_today() + timedelta(days=1))
        assert tomorrow.person_ids == [a.id]  # B expires tomorrow
        assert only_other.id in load_match_set(s, "other").person_ids
        assert load_match_set(s, "unknown").descriptors.shape == (0, 128)


def test_watchlist_hash_is_stable_and_follows_content(db: Database) -> None:
    with db.transaction() as (s, stage):
        person = add_person(s, stage, spec(), [photo(), photo()])
    with db.session(readonly=True) as s:
        first, again = load_match_set(s, MODEL), load_match_set(s, MODEL)
        other_model = load_match_set(s, "other")
    assert first.hash == again.hash and len(first.hash) == 64
    assert other_model.hash != first.hash
    with db.transaction() as (s, stage):
        add_photos(s, stage, person, [photo()])
    with db.session(readonly=True) as s:
        assert load_match_set(s, MODEL).hash != first.hash
