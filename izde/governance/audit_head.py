"""The head anchor: the newest audit entry's seq and hash, kept in a file outside the database.

A chain whose newest entries were deleted is still internally consistent; comparing it with the head
recorded after the last commit shows the truncation. The anchor is MAC'd with the audit key, so it cannot be
rewritten to match a truncated chain by someone who cannot read the key, and it is written atomically
(temporary file, then rename) so a crash never leaves half a file.

The same head is also kept in the database (:func:`izde.governance.audit.read_db_head`), where a host-level
rollback of this file cannot reach it, and in every export manifest, which the oversight body keeps.

It protects a deployment whose writers share one file system; writers on several hosts need an external
anchor (e.g. a write-once store), which this file can be copied to.
"""

from __future__ import annotations

import contextlib
import fcntl
import hmac
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from izde.config import Settings
from izde.governance.audit import HeadRecord, head_mac
from izde.store.models import AuditEntry

log = logging.getLogger(__name__)
HEAD_FILE = "audit.head"


Head = HeadRecord


def head_path(settings: Settings) -> Path:
    """Next to the audit key (HOME/secrets/audit.head by default): both belong in protected storage."""
    return settings.audit_key_path.parent / HEAD_FILE


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One writer at a time, so a slower process cannot move the head back behind a faster one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path.with_suffix(".lock"), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _read_unchecked(path: Path) -> dict[str, object] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def store(path: Path, key: bytes, seq: int, entry_hash: str, prev_hash: str) -> None:
    """Record ``seq``/``entry_hash`` as the head unless a newer one is recorded. A chain that restarted lower
    (its rows wiped) never moves the head back: the recorded head then shows the wipe."""
    with _locked(path):
        old = _read_unchecked(path)
        old_seq = old.get("seq") if old else None
        if isinstance(old_seq, int) and old_seq >= seq:
            return
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"seq": seq, "hash": entry_hash, "mac": head_mac(key, seq, entry_hash)}, f)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)


def read_quietly(settings: Settings, key: bytes) -> Head | None:
    """The recorded head for a new entry to follow, or None when it is missing or unreadable (verification
    reports those; an ordinary action must not fail because of them)."""
    try:
        return read(head_path(settings), key)
    except (ValueError, OSError) as e:
        log.warning("the audit head anchor is unusable: %s", e)
        return None


def read(path: Path, key: bytes) -> Head | None:
    """The recorded head; None if there is no anchor file. Raises ValueError if it is malformed or forged."""
    if not path.exists():
        return None
    data = _read_unchecked(path)
    if data is None:
        raise ValueError(f"the head anchor {path} is not readable JSON")
    seq, entry_hash, mac = data.get("seq"), data.get("hash"), data.get("mac")
    if not (isinstance(seq, int) and isinstance(entry_hash, str) and isinstance(mac, str)):
        raise ValueError(f"the head anchor {path} lacks seq, hash or mac")
    if not hmac.compare_digest(mac, head_mac(key, seq, entry_hash)):
        raise ValueError(f"the head anchor {path} does not match the audit key: it was rewritten")
    return Head(seq, entry_hash)


def write_head(settings: Settings, session: Session, key: bytes) -> Head | None:
    """Anchor the newest committed entry of ``session``'s database; None when the chain is empty."""
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.hash, AuditEntry.prev_hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    if last is None:
        return None
    store(head_path(settings), key, last[0], last[1], last[2])
    return Head(last[0], last[1])


def anchor_after_commit(session: Session, settings: Settings, key: bytes, row: AuditEntry) -> None:
    """Write the head once ``session`` commits the entry ``row``; never before, since a rolled-back entry
    must not become the head. A failure to write is logged, not raised: the action itself has committed."""
    from sqlalchemy import event

    # Several entries in one transaction: the last one counts.
    session.info["izde_audit_head"] = (row.seq, row.hash, row.prev_hash)
    if session.info.get("izde_audit_head_listening"):
        return
    session.info["izde_audit_head_listening"] = True

    def committed(s: Session) -> None:
        head = s.info.pop("izde_audit_head", None)
        if head is None:
            return
        try:
            store(head_path(settings), key, *head)
        except OSError as e:
            log.warning("could not update the audit head anchor: %s", e)

    def rolled_back(s: Session) -> None:
        s.info.pop("izde_audit_head", None)

    event.listen(session, "after_commit", committed)
    event.listen(session, "after_rollback", rolled_back)
