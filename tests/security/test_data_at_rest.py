"""Photos, evidence crops and templates are sealed at rest: a copy of the data directory and the database without
the data key reveals no image and no descriptor; key files others can read are refused; rotation re-wraps only
the data keys; data stored in the clear by an older izde is sealed on upgrade, audited. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine, inspect, select, text, update

from izde.api import Izde
from izde.config import Settings
from izde.errors import ConfigError
from izde.governance import audit
from izde.store import alerts as alert_store
from izde.store import runs as run_store
from izde.store.at_rest import MARKER
from izde.store.crypto import (
    MAGIC,
    Envelope,
    EnvironmentKeys,
    KeyringFile,
    MissingKey,
    SealBroken,
    default_key_path,
    is_sealed,
    template_context,
)
from izde.store.db import Database
from izde.store.models import AuditEntry, ReferencePhoto, Template
from izde.store.templates import descriptor_dim, encode_descriptor, load_match_set
from izde.vision.images import encode_jpeg, read_image_file
from izde.watchlist.types import Category, PersonSpec, PhotoSpec
from tests.cli.helpers import PASSWORD
from tests.conftest import HAMILTON, require_data
from tests.web.conftest import make_settings
from tests.web.site import init_users

# Signatures long enough that random ciphertext never holds them by chance.
JPEG_SIGNATURES = (b"\xff\xd8\xff\xe0\x00\x10JFIF", b"\xff\xd8\xff\xe1", b"JFIF\x00", b"Exif\x00\x00")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class Deployment:
    settings: Settings
    photo_bytes: bytes  # the enrolled file as it was
    descriptors: list[bytes]  # the templates in the clear, as matching uses them
    files: list[str]  # photo and evidence files, relative to the data directory


def service(settings: Settings, user: str) -> Izde:
    s = Izde(settings)
    s.login(user, PASSWORD)
    return s


@pytest.fixture(scope="module")
def deployment(backend_url: str | None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    settings = make_settings(tmp_path_factory.mktemp("at-rest") / "home", backend_url)
    init_users(settings)
    photo = require_data(HAMILTON / "obama.jpg")
    spec = PersonSpec(
        display_name="Barack Obama",
        category=Category.WANTED,
        legal_basis="Warrant 7/2026",
        issuing_authority="Court",
        expires_on=date(2099, 1, 1),
    )
    with service(settings, "curator") as curator:
        pid = curator.propose(spec, [PhotoSpec(path=photo, provenance="official_record")]).id
    with service(settings, "approver") as approver:
        approver.approve(pid)
    image, _ = read_image_file(photo)
    with service(settings, "op-a") as op, op.db.transaction() as (session, stage):
        run = run_store.start_run(
            session,
            camera="door",
            source="test",
            source_kind="file",
            threshold=0.5,
            watchlist_hash="x" * 64,
            watchlist_size=1,
        )
        alert_store.add_alert(
            session,
            stage,
            run_id=run.id,
            person_id=pid,
            track_id=1,
            frame_time=datetime.now(UTC),
            position_s=0.0,
            distance=0.3,
            threshold=0.5,
            quality=0.9,
            evidence_jpeg=encode_jpeg(image),
        )
    with service(settings, "op-a") as op, op.db.session(readonly=True) as session:
        templates = [
            encode_descriptor(d, descriptor_dim(model))
            for model in op.stack.template_models.values()  # dlib's and FaceRes's
            for d in load_match_set(session, model).descriptors
        ]
        files = list(session.scalars(select(ReferencePhoto.file_name)))
    files += [f"evidence/{run.id}/{p.name}" for p in (settings.home / "evidence" / run.id).iterdir()]
    yield Deployment(settings, photo.read_bytes(), templates, files)


def _database_dump(settings: Settings) -> bytes:
    """Every value of every table, as a thief with the database (but not the key) would have them."""
    engine = create_engine(settings.db_url)
    try:
        out = []
        with engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                    out += [
                        v if isinstance(v, bytes) else bytes(v) if isinstance(v, memoryview) else str(v).encode()
                        for v in row
                    ]
        return b"\x00".join(out)
    finally:
        engine.dispose()


def _raw(value: object) -> bytes:
    if isinstance(value, bytes | memoryview):
        return bytes(value)
    return str(value).encode()


def test_a_stolen_data_directory_and_database_reveal_no_image_and_no_descriptor(
    deployment: Deployment, tmp_path: Path
) -> None:
    stolen = tmp_path / "stolen"
    shutil.copytree(deployment.settings.home, stolen)  # with the SQLite database and its WAL, where used
    blobs = {str(p.relative_to(stolen)): p.read_bytes() for p in stolen.rglob("*") if p.is_file()}
    blobs["database"] = _database_dump(deployment.settings)
    assert {f for f in deployment.files} <= set(blobs)  # the photo and the evidence are there, sealed
    secrets = [*JPEG_SIGNATURES, PNG_SIGNATURE, deployment.photo_bytes[200:232]]
    # 16-byte windows, those of three non-zero values or more (FaceRes's are mostly zeros, as is any padding).
    windows = [d[i : i + 16] for d in deployment.descriptors for i in range(0, len(d), 64)]
    secrets += [w for w in windows if np.count_nonzero(np.frombuffer(w, "<f4")) >= 3]
    found = [(name, s[:8]) for name, blob in blobs.items() for s in secrets if s in blob]
    assert found == []
    assert all(is_sealed(blobs[f]) for f in deployment.files)
    assert not any(blob.startswith((b"\xff\xd8\xff", PNG_SIGNATURE)) for blob in blobs.values())
    # Without the key the copy does not open, and izde says so rather than making a new key.
    with pytest.raises(MissingKey, match="does not exist"):
        Database.open(Settings(home=stolen, database_url=deployment.settings.database_url))
    assert not default_key_path(stolen).exists()


def test_with_the_key_izde_serves_the_images_and_matches_as_before(deployment: Deployment) -> None:
    with service(deployment.settings, "curator") as curator:
        (person,) = curator.persons()
        view = curator.person(person.id)
        shown, data = curator.photo(person.id, view.photos[0].id)
    assert data == deployment.photo_bytes and not shown.path.read_bytes().startswith(deployment.photo_bytes[:16])
    with service(deployment.settings, "op-a") as op:
        (alert,) = op.alerts()
        _, evidence = op.evidence(alert.id)
    assert evidence.startswith(b"\xff\xd8\xff")


def test_key_files_others_can_read_are_refused(deployment: Deployment) -> None:
    key = default_key_path(deployment.settings.home)
    assert key.exists() and not key.is_relative_to(deployment.settings.home)  # outside the data directory
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    try:
        key.chmod(0o640)
        with pytest.raises(ConfigError, match="readable or writable by others") as e:
            Database.open(deployment.settings)
        assert "chmod 600" in str(e.value.hint)
    finally:
        key.chmod(0o600)
    audit_key = deployment.settings.audit_key_path
    try:
        audit_key.chmod(0o644)
        with pytest.raises(ConfigError, match=r"audit key file .* readable or writable by others"):
            audit.load_key(audit_key)
    finally:
        audit_key.chmod(0o600)


def test_rotation_rewraps_the_data_keys_and_leaves_the_data_as_it_was(deployment: Deployment) -> None:
    home = deployment.settings.home
    before = {f: (home / f).read_bytes() for f in deployment.files}
    with service(deployment.settings, "op-a") as op, op.db.session(readonly=True) as session:
        old_hash = load_match_set(session, op.stack.model_name).hash
    with service(deployment.settings, "admin") as admin:
        old = admin.data_key_status()
        report = admin.rotate_keys()
        new = admin.data_key_status()
    assert report.previous == old.current != report.current == new.current
    assert report.files_rewrapped == len(deployment.files) and report.templates_rewrapped == len(deployment.descriptors)
    assert report.retired == (old.current,) and new.key_ids == (new.current,)
    assert new.objects_by_key == {new.current: len(deployment.files) + len(deployment.descriptors)}
    ring = json.loads(default_key_path(home).read_text())
    assert list(ring["keys"]) == [new.current]
    header = len(MAGIC) + 1 + len(old.current) + 12 + 48
    for f, blob in before.items():
        after = (home / f).read_bytes()
        assert Envelope.key_id_of(after) == new.current and after[header:] == blob[header:]  # only re-wrapped
    with service(deployment.settings, "op-a") as op, op.db.session(readonly=True) as session:
        assert load_match_set(session, op.stack.model_name).hash == old_hash
    with service(deployment.settings, "curator") as curator:
        (person,) = curator.persons()
        assert curator.photo(person.id, curator.person(person.id).photos[0].id)[1] == deployment.photo_bytes
    with service(deployment.settings, "auditor") as auditor:
        (entry,) = [e for e in auditor.audit_log(action="keys.rotate")]
    assert entry.subject_id == new.current and entry.details["retired"] == [old.current]


def test_data_stored_in_the_clear_is_sealed_on_upgrade_and_audited(deployment: Deployment) -> None:
    """What an izde from before encryption at rest left: plaintext files and template rows, and no marker."""
    home = deployment.settings.home
    with Database.open(deployment.settings) as db:
        for f in deployment.files:
            db.files.rewrite(f, db.files.read_bytes(f))
        with db.session() as session:
            for row in session.scalars(select(Template)):
                assert db.files.envelope is not None
                clear = db.files.envelope.open(bytes(row.descriptor), template_context(row.person_id))
                session.execute(update(Template).where(Template.id == row.id).values(descriptor=clear))
    (home / MARKER).unlink()
    assert (home / deployment.files[0]).read_bytes() == deployment.photo_bytes
    with service(deployment.settings, "auditor") as auditor:
        entries = auditor.audit_log(action="data.sealed_at_rest")
    assert entries[0].details == {"files": len(deployment.files), "templates": len(deployment.descriptors)}
    assert entries[0].actor == "system"
    assert all(is_sealed((home / f).read_bytes()) for f in deployment.files) and (home / MARKER).exists()
    with Database.open(deployment.settings) as db, db.session(readonly=True) as session:
        assert all(is_sealed(bytes(d)) for d in session.scalars(select(Template.descriptor)))
        assert session.scalar(select(AuditEntry.organisation_id).where(AuditEntry.seq == entries[0].seq)) is None


def test_a_sealed_object_opens_only_in_its_place_under_its_key(tmp_path: Path) -> None:
    ring = KeyringFile.create(tmp_path / "keys" / "data.keyring")
    envelope = Envelope(ring)
    blob = envelope.seal(b"descriptor bytes", template_context("person-a"))
    assert envelope.open(blob, template_context("person-a")) == b"descriptor bytes"
    with pytest.raises(SealBroken, match="altered or moved"):
        envelope.open(blob, template_context("person-b"))  # one person's template swapped to another
    flipped = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(SealBroken):
        envelope.open(flipped, template_context("person-a"))
    other = Envelope(KeyringFile.create(tmp_path / "other" / "data.keyring"))
    with pytest.raises(MissingKey):
        other.open(blob, template_context("person-a"))
    with pytest.raises(FileExistsError):
        KeyringFile.create(ring.path)  # never overwrites a key ring


def test_the_key_can_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = EnvironmentKeys.parse(f"k2:{'ab' * 32},k1:{'cd' * 32}")
    assert keys.current()[0] == "k2" and keys.key("k1") == bytes.fromhex("cd" * 32)
    for bad in ("k1", "k1:abcd", ":" + "ab" * 32, "k 1:" + "ab" * 32):
        with pytest.raises(ConfigError, match="IZDE_DATA_KEY"):
            EnvironmentKeys.parse(bad)
    monkeypatch.setenv("IZDE_DATA_KEY", f"k9:{os.urandom(32).hex()}")
    with Database.open(Settings(home=tmp_path / "home")) as db:
        assert db.files.envelope is not None and db.files.envelope.provider.current()[0] == "k9"
    assert not default_key_path(tmp_path / "home").exists()
