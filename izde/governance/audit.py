"""The tamper-evident audit chain: every action on personal data, keyed and hash-chained.

Each entry's hash is HMAC-SHA256 over its own fields and the previous entry's hash, with a key read
from a secret file. Editing, deleting, inserting or reordering entries breaks the chain at that point,
and nobody without the key can forge a consistent replacement.

The chain never restarts: each entry also moves a MAC'd head row in the database (and, after the commit, the
head file), and a new entry continues after the newest head it can find. Deleting the newest entries, or all of
them, therefore leaves a gap that every later verification reports, instead of a fresh chain from seq 1.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from izde.errors import ConfigError
from izde.governance.roles import Actor
from izde.store.models import AuditEntry, AuditHead

HEAD_ROW = 1  # the one row of the audit_head table

GENESIS = "0" * 64
KEY_BYTES = 32
_PLACEHOLDERS = {"changeme", "change-me", "secret", "password", "placeholder", "todo", "xxx", "test"}


def create_key(path: Path) -> None:
    """Write a new random key (hex) readable by the owner only. Refuses to overwrite one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(KEY_BYTES) + "\n")


def load_key(path: Path) -> bytes:
    """The audit key; placeholder or short keys are refused so a deployment cannot run with a guessable one."""
    try:
        raw = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ConfigError(
            f"the audit key file {path} does not exist", "run 'izde init' once, or point audit_key_file at the key"
        ) from None
    except OSError as e:
        raise ConfigError(f"cannot read the audit key file {path}: {e.strerror}") from None
    if raw.lower() in _PLACEHOLDERS or len(set(raw)) < 8:
        raise ConfigError(f"the audit key in {path} is a placeholder", "generate one with 'izde init'")
    if len(raw.encode()) < KEY_BYTES:
        raise ConfigError(f"the audit key in {path} is shorter than {KEY_BYTES} bytes", "generate one with 'izde init'")
    return raw.encode()


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    at: datetime
    actor: str
    action: str
    subject_type: str | None
    subject_id: str | None
    details: str  # canonical JSON
    prev_hash: str
    hash: str

    @staticmethod
    def of(row: AuditEntry) -> Entry:
        return Entry(
            row.seq,
            row.at,
            row.actor,
            row.action,
            row.subject_type,
            row.subject_id,
            row.details,
            row.prev_hash,
            row.hash,
        )


def canonical(details: dict[str, Any]) -> str:
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(
    key: bytes,
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject_type: str | None,
    subject_id: str | None,
    details: str,
    prev_hash: str,
) -> str:
    payload = canonical(
        {
            "seq": seq,
            "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "details": details,
            "prev": prev_hash,
        }
    )
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class HeadRecord:
    """An entry's position and hash as recorded by a head anchor (database row, file, export manifest)."""

    seq: int
    hash: str


def head_mac(key: bytes, seq: int, entry_hash: str) -> str:
    return hmac.new(key, f"head:{seq}:{entry_hash}".encode(), hashlib.sha256).hexdigest()


def read_db_head(session: Session, key: bytes) -> HeadRecord | None:
    """The head recorded in the database; None when there is none. Raises ValueError when its MAC is wrong."""
    row = session.get(AuditHead, HEAD_ROW)
    if row is None:
        return None
    if not hmac.compare_digest(row.mac, head_mac(key, row.seq, row.hash)):
        raise ValueError("the audit head recorded in the database does not match the audit key: it was rewritten")
    return HeadRecord(row.seq, row.hash)


def _write_db_head(session: Session, key: bytes, seq: int, entry_hash: str, at: datetime) -> None:
    row = session.get(AuditHead, HEAD_ROW)
    mac = head_mac(key, seq, entry_hash)
    if row is None:
        session.add(AuditHead(id=HEAD_ROW, seq=seq, hash=entry_hash, mac=mac, at=at))
    else:
        row.seq, row.hash, row.mac, row.at = seq, entry_hash, mac, at


def _lock_chain(session: Session) -> None:
    # SQLite write transactions already start with BEGIN IMMEDIATE (one writer); PostgreSQL needs a lock so
    # two processes cannot both append after the same last entry.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(7426001)"))


def record(
    session: Session,
    key: bytes,
    actor: Actor | str,
    action: str,
    subject_type: str | None = None,
    subject_id: str | None = None,
    floor: HeadRecord | None = None,
    **details: Any,
) -> AuditEntry:
    """Append one entry in the caller's transaction, so the action and its record commit together.

    The entry follows the newest of: the last stored entry, the head recorded in the database, and ``floor`` (a
    head recorded elsewhere, e.g. the head file). A head ahead of the stored chain means its newest entries were
    deleted; continuing after the head keeps that gap in the chain for every verification to see."""
    _lock_chain(session)
    last = session.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    try:
        heads = [h for h in (read_db_head(session, key), floor) if h is not None]
    except ValueError:
        heads = [floor] if floor is not None else []  # a forged row is not followed; verification reports it
    for h in heads:
        if h.seq >= seq:
            seq, prev = h.seq + 1, h.hash
    name = actor if isinstance(actor, str) else actor.username
    # Microsecond precision survives both databases, so the hash recomputes identically after a round trip.
    at = datetime.now(UTC)
    fields: dict[str, Any] = {
        "seq": seq,
        "at": at,
        "actor": name,
        "action": action,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "details": canonical(details),
        "prev_hash": prev,
    }
    row = AuditEntry(**fields, hash=entry_hash(key, **fields))
    session.add(row)
    _write_db_head(session, key, seq, row.hash, at)
    session.flush()
    return row
