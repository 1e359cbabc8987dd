"""Photo and evidence files under the data directory, written so that nothing is ever half-stored.

Files belong to database rows, and the two cannot be committed atomically together. The order chosen:
write each file to a hidden temporary name beside its final place, commit the database, then rename the
files into place (a rename within a directory is atomic). If anything fails before the database
commit, the temporary files are removed and no trace is left. Deletions are likewise done only after
the database commit, so a rolled-back removal never loses a file that a row still names.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from izde.errors import InvalidInput

PHOTOS_DIR = "photos"
EVIDENCE_DIR = "evidence"
DIR_MODE = 0o700
FILE_MODE = 0o600
TEMP_SUFFIX = ".tmp"

# Path components izde itself generates: ids, extensions. No leading dot (temporary files are hidden
# names, so they can never be addressed), no separators, nothing a shell or another OS would mangle.
_PART = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}")
_EXT = re.compile(r"[a-z0-9]{1,5}")


class UnsafePath(InvalidInput):
    """A relative path that would leave the data directory or is not one izde would generate."""


def photo_path(person_id: str, photo_id: str, ext: str) -> str:
    """``photos/<person_id>/<photo_id>.<ext>``, relative to the data directory."""
    ext = ext.lower().lstrip(".")
    if not _EXT.fullmatch(ext):
        raise InvalidInput(f"unsupported photo file extension {ext!r}")
    return f"{PHOTOS_DIR}/{person_id}/{photo_id}.{ext}"


def evidence_path(run_id: str, alert_id: str) -> str:
    """``evidence/<run_id>/<alert_id>.jpg``, relative to the data directory."""
    return f"{EVIDENCE_DIR}/{run_id}/{alert_id}.jpg"


class FileStore:
    """Files under ``home``; every path given to it is relative to ``home`` and checked."""

    def __init__(self, home: Path | str) -> None:
        self.home = Path(home)

    def path(self, rel_path: str) -> Path:
        """The absolute path of ``rel_path``; :class:`UnsafePath` unless it stays inside ``home``."""
        pure = PurePosixPath(rel_path)
        if ".." in pure.parts or ".." in rel_path.split("\\"):
            raise UnsafePath(f"refused file path {rel_path!r}: it would leave the data directory")
        # Canonical form only ("a/./b" and "a//b" are refused): the database stores the exact string.
        canonical = str(pure) == rel_path
        if not canonical or pure.is_absolute() or not pure.parts or not all(_PART.fullmatch(p) for p in pure.parts):
            raise UnsafePath(f"refused file path {rel_path!r}: not a plain path inside the data directory")
        home = self.home.resolve()
        full = home.joinpath(*pure.parts)
        # Symbolic links inside the data directory must not lead out of it either.
        if not full.resolve().is_relative_to(home):
            raise UnsafePath(f"refused file path {rel_path!r}: it resolves outside the data directory")
        return full

    def read_bytes(self, rel_path: str) -> bytes:
        return self.path(rel_path).read_bytes()

    def exists(self, rel_path: str) -> bool:
        return self.path(rel_path).is_file()

    @contextmanager
    def staged(self) -> Iterator[Stage]:
        """A set of file writes and deletions applied by :meth:`Stage.commit`, else undone.

        Call ``commit()`` after the database commit. On an exception, or if the block ends without
        ``commit()`` or ``discard()``, the temporary files are removed; the latter also raises, since
        it means rows may name files that were never put in place.
        """
        stage = Stage(self)
        try:
            yield stage
        except BaseException:
            stage.discard()
            raise
        if stage.state == "open":
            stage.discard()
            if stage.had_work:
                raise RuntimeError("staged files were neither committed nor discarded; they were removed")

    def delete(self, rel_paths: Iterable[str]) -> int:
        """Delete files (missing ones are skipped) and then their emptied folders; returns files removed."""
        targets = [self.path(p) for p in rel_paths]  # check every path before deleting anything
        removed = 0
        for target in targets:
            try:
                target.unlink()
                removed += 1
            except FileNotFoundError:
                pass
        self.prune({t.parent for t in targets})
        return removed

    def prune(self, folders: Iterable[Path]) -> None:
        """Remove the given folders and their parents while empty, never ``home`` itself."""
        home = self.home.resolve()
        for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
            current = folder
            while current != home and current.is_relative_to(home):
                try:
                    current.rmdir()
                except OSError:  # not empty (or already gone): stop climbing
                    break
                current = current.parent

    def sweep(self, older_than_s: float = 3600.0) -> int:
        """Remove temporary files left by a crash between the database commit and the renames."""
        cutoff = time.time() - older_than_s
        removed = 0
        for top in (PHOTOS_DIR, EVIDENCE_DIR):
            root = self.home / top
            if not root.is_dir():
                continue
            for tmp in root.rglob(f".*{TEMP_SUFFIX}"):
                if tmp.is_file() and tmp.stat().st_mtime < cutoff:
                    tmp.unlink(missing_ok=True)
                    removed += 1
        return removed

    def make_dirs(self, folder: Path) -> list[Path]:
        """Create ``folder`` and missing parents with mode 0700; returns those created, deepest last."""
        missing: list[Path] = []
        current = folder
        while not current.exists():
            missing.append(current)
            current = current.parent
        created: list[Path] = []
        for d in reversed(missing):
            try:
                d.mkdir(mode=DIR_MODE)
            except FileExistsError:  # made concurrently by another process: fine
                continue
            created.append(d)
        return created


class Stage:
    """Pending file writes and deletions; see :meth:`FileStore.staged`."""

    def __init__(self, store: FileStore) -> None:
        self._store = store
        self._writes: dict[str, tuple[Path, Path]] = {}  # rel path -> (temporary, final)
        self._deletes: list[str] = []
        self._new_dirs: list[Path] = []
        self.state = "open"  # open, committed, discarded

    @property
    def had_work(self) -> bool:
        return bool(self._writes or self._deletes)

    @property
    def pending(self) -> list[str]:
        """Relative paths that will be written on commit."""
        return list(self._writes)

    def put(self, rel_path: str, data: bytes) -> None:
        """Write ``data`` to a temporary file beside ``rel_path``; it takes that name on commit."""
        self._check_open()
        final = self._store.path(rel_path)
        if rel_path in self._writes or final.exists():
            # Paths are made from fresh ids, so a clash is a bug; never overwrite stored evidence.
            raise FileExistsError(f"{rel_path} already exists in the data directory")
        self._new_dirs.extend(self._store.make_dirs(final.parent))
        tmp = final.with_name(f".{final.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                # Durable before the database row that names it is committed.
                os.fsync(f.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self._writes[rel_path] = (tmp, final)

    def delete_on_commit(self, rel_paths: Iterable[str]) -> None:
        """Delete these files (and emptied folders) on commit; nothing is deleted on discard."""
        self._check_open()
        for rel in rel_paths:
            self._store.path(rel)  # refuse a bad path now, not after the database commit
            self._deletes.append(rel)

    def commit(self) -> int:
        """Rename written files into place, then delete; returns the number of files deleted."""
        self._check_open()
        self.state = "committed"
        failures: list[str] = []
        for rel, (tmp, final) in self._writes.items():
            try:
                tmp.replace(final)
            except OSError as e:
                tmp.unlink(missing_ok=True)
                failures.append(f"{rel}: {e}")
        for folder in {final.parent for _, final in self._writes.values()}:
            _fsync_dir(folder)
        removed = self._store.delete(self._deletes)
        if failures:
            raise OSError("could not put files in place after the database commit: " + "; ".join(failures))
        return removed

    def discard(self) -> None:
        """Remove the temporary files and the folders made for them. Safe to call twice."""
        if self.state != "open":
            return
        self.state = "discarded"
        for tmp, _ in self._writes.values():
            tmp.unlink(missing_ok=True)
        self._store.prune(self._new_dirs)

    def _check_open(self) -> None:
        if self.state != "open":
            raise RuntimeError(f"this file stage is already {self.state}")


def _fsync_dir(folder: Path) -> None:
    # Makes the renames durable; not possible on every platform or file system, hence best effort.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


UPLOAD_PREFIX = ".upload-"  # private folders of HOME where the web app stages uploaded photos
UPLOAD_STALE_AFTER_S = 3600.0  # older than any request can last: left behind by a process that died mid-upload


def sweep_uploads(home: Path, stale_after_s: float = UPLOAD_STALE_AFTER_S, now: float | None = None) -> int:
    """Remove staged upload folders left behind (by a killed server); returns how many. Younger ones may belong
    to a request of another server process on this data directory and are kept."""
    import shutil
    import time

    now = time.time() if now is None else now
    removed = 0
    for folder in home.glob(UPLOAD_PREFIX + "*"):
        try:
            if folder.is_dir() and not folder.is_symlink() and now - folder.stat().st_mtime >= stale_after_s:
                shutil.rmtree(folder)
                removed += 1
        except OSError:
            continue  # gone already, or not ours to remove: the next sweep tries again
    return removed
