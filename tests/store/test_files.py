"""The file store: private files, no escape from the data directory, nothing half-written."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from izde.errors import InvalidInput
from izde.store.crypto import Envelope, KeyringFile
from izde.store.files import FileStore, UnsafePath, evidence_path, photo_path


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def all_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    home = tmp_path / "home"
    home.mkdir()
    return FileStore(home, Envelope(KeyringFile.create(tmp_path / "keys" / "data.keyring")))


@pytest.mark.parametrize(
    "bad",
    [
        "../outside.jpg",
        "photos/../../outside.jpg",
        "/etc/passwd",
        "photos/./x.jpg",
        "",
        ".",
        "photos/.hidden.tmp",
        "photos/a b.jpg",
        "photos\\..\\x.jpg",
        "photos//x.jpg/..",
    ],
)
def test_paths_escaping_or_unusual_are_refused(store: FileStore, bad: str) -> None:
    with pytest.raises(UnsafePath):
        store.path(bad)
    with pytest.raises(UnsafePath), store.staged() as stage:
        stage.put(bad, b"x")
    assert all_files(store.home) == []


def test_symlink_leading_out_is_refused(store: FileStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (store.home / "photos").symlink_to(outside)
    with pytest.raises(UnsafePath):
        store.path("photos/p1/x.jpg")
    assert not any(outside.iterdir())


def test_path_helpers() -> None:
    assert photo_path("p1", "f1", ".JPG") == "photos/p1/f1.jpg"
    assert evidence_path("r1", "a1") == "evidence/r1/a1.jpg"
    with pytest.raises(InvalidInput):
        photo_path("p1", "f1", "j/pg")


def test_commit_puts_private_files_in_place(store: FileStore) -> None:
    with store.staged() as stage:
        stage.put("photos/p1/f1.jpg", b"one")
        stage.put("evidence/r1/a1.jpg", b"two")
        assert all_files(store.home) != ["evidence/r1/a1.jpg", "photos/p1/f1.jpg"]  # only temporary names yet
        stage.commit()
    assert all_files(store.home) == ["evidence/r1/a1.jpg", "photos/p1/f1.jpg"]
    assert store.read_bytes("photos/p1/f1.jpg") == b"one"
    assert mode(store.path("photos/p1/f1.jpg")) == 0o600
    assert mode(store.home / "photos") == 0o700
    assert mode(store.home / "photos" / "p1") == 0o700


def test_exception_removes_temporary_files_and_new_folders(store: FileStore) -> None:
    with pytest.raises(RuntimeError, match="boom"), store.staged() as stage:
        stage.put("photos/p1/f1.jpg", b"one")
        raise RuntimeError("boom")
    assert list(store.home.iterdir()) == []


def test_forgetting_commit_removes_files_and_says_so(store: FileStore) -> None:
    with pytest.raises(RuntimeError, match="neither committed"), store.staged() as stage:
        stage.put("photos/p1/f1.jpg", b"one")
    assert list(store.home.iterdir()) == []


def test_discard_is_allowed_and_an_empty_stage_is_fine(store: FileStore) -> None:
    with store.staged() as stage:
        stage.put("photos/p1/f1.jpg", b"one")
        stage.discard()
    with store.staged():
        pass
    assert list(store.home.iterdir()) == []


def test_existing_file_is_never_overwritten(store: FileStore) -> None:
    with store.staged() as stage:
        stage.put("photos/p1/f1.jpg", b"one")
        stage.commit()
    with pytest.raises(FileExistsError), store.staged() as stage:
        stage.put("photos/p1/f1.jpg", b"other")
    assert store.read_bytes("photos/p1/f1.jpg") == b"one"


def test_stage_cannot_be_reused(store: FileStore) -> None:
    with store.staged() as stage:
        stage.commit()
    with pytest.raises(RuntimeError, match="already committed"):
        stage.put("photos/p1/f1.jpg", b"x")


def test_deletion_waits_for_commit_and_prunes_empty_folders(store: FileStore) -> None:
    with store.staged() as stage:
        stage.put("photos/p1/f1.jpg", b"1")
        stage.put("photos/p1/f2.jpg", b"2")
        stage.put("photos/p2/f3.jpg", b"3")
        stage.commit()
    with pytest.raises(RuntimeError), store.staged() as stage:
        stage.delete_on_commit(["photos/p1/f1.jpg", "photos/p1/f2.jpg"])
        raise RuntimeError("rolled back")
    assert store.exists("photos/p1/f1.jpg")
    with store.staged() as stage:
        stage.delete_on_commit(["photos/p1/f1.jpg", "photos/p1/f2.jpg", "photos/p1/missing.jpg"])
        assert stage.commit() == 2
    assert not (store.home / "photos" / "p1").exists()
    assert all_files(store.home) == ["photos/p2/f3.jpg"]
    assert store.delete(["photos/p2/f3.jpg"]) == 1
    assert list(store.home.iterdir()) == []  # folders pruned up to, not including, home


def test_delete_checks_every_path_before_deleting(store: FileStore) -> None:
    with store.staged() as stage:
        stage.put("photos/p1/f1.jpg", b"1")
        stage.commit()
    with pytest.raises(UnsafePath):
        store.delete(["photos/p1/f1.jpg", "../x"])
    assert store.exists("photos/p1/f1.jpg")


def test_sweep_removes_only_stale_temporary_files(store: FileStore) -> None:
    folder = store.home / "evidence" / "r1"
    folder.mkdir(parents=True)
    stale, fresh, kept = folder / ".a.jpg.1.tmp", folder / ".b.jpg.2.tmp", folder / "c.jpg"
    for p in (stale, fresh, kept):
        p.write_bytes(b"x")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    assert store.sweep(older_than_s=3600) == 1
    assert not stale.exists() and fresh.exists() and kept.exists()
