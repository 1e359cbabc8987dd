"""Audit service: verify the chain (and its head anchor) and export it for an oversight body; both audited."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from izde.errors import InvalidInput
from izde.governance import audit_head
from izde.governance.audit import Entry, read_db_head
from izde.governance.audit_verify import Problem, VerifyResult, Witness, check_head, check_witness, verify
from izde.governance.roles import Action
from izde.service.core import Core
from izde.store.models import AuditEntry

EXPORT_FORMAT = "izde-audit-export/1"


@dataclass(frozen=True, slots=True)
class ExportManifest:
    format: str
    file: str
    sha256: str
    exported_at: datetime
    exported_by: str
    range_from: datetime | None
    range_to: datetime | None
    count: int
    first_seq: int | None
    first_hash: str | None
    last_seq: int | None
    last_hash: str | None
    links_ok: bool  # each exported entry names the previous exported entry's hash (checkable without the key)
    chain: VerifyResult  # the whole chain, verified with the key at export time
    # The chain's head (newest entry) at export time: kept by the oversight body, out of reach of a host-level
    # rollback of the database and the head file, it shows when the chain later ends before it.
    head_seq: int | None = None
    head_hash: str | None = None


def entries(session: Session, since: datetime | None = None, until: datetime | None = None) -> list[Entry]:
    q = select(AuditEntry).order_by(AuditEntry.seq)
    if since is not None:
        q = q.where(AuditEntry.at >= since)
    if until is not None:
        q = q.where(AuditEntry.at < until)
    return [Entry.of(r) for r in session.scalars(q.execution_options(yield_per=2000))]


def entry_dict(e: Entry) -> dict[str, Any]:
    d = asdict(e)
    d["at"] = e.at.astimezone(UTC).isoformat(timespec="microseconds")
    return d


def manifest_path(out: Path) -> Path:
    return out.parent / f"{out.stem}.manifest.json"


def _write_private(path: Path, lines: list[str]) -> str:
    """Write atomically, readable by the owner only (the log names people's actions); returns the SHA-256."""
    tmp = path.with_name(path.name + ".tmp")
    digest = hashlib.sha256()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(line)
            digest.update(line.encode())
    tmp.replace(path)
    return digest.hexdigest()


class AuditService(Core):
    def verify_audit(self, *, head: bool = False, witnesses: Sequence[Witness] = ()) -> VerifyResult:
        """Verify the whole chain; with ``head``, also compare its end with the head anchor file; each witness
        (an entry's position and hash recorded elsewhere, e.g. an export's manifest) must still match."""
        actor = self.require(Action.AUDIT_READ)
        extra: list[Problem] = []
        path = audit_head.head_path(self.settings)
        anchor: audit_head.Head | None = None
        if head:
            # Read the anchor before the chain: a commit in between then only makes the chain longer.
            try:
                anchor = audit_head.read(path, self.audit_key)
            except ValueError as e:
                extra.append(Problem(None, "anchor", str(e)))
            if anchor is None and not extra:
                extra.append(Problem(None, "anchor", f"there is no head anchor at {path}; was it deleted?"))
        db_head = None
        with self.db.session(readonly=True) as session:
            if head:
                try:
                    db_head = read_db_head(session, self.audit_key)
                except ValueError as e:
                    extra.append(Problem(None, "anchor", str(e)))
            rows = entries(session)
        result = verify(rows, self.audit_key)
        if anchor is not None:
            extra += check_head(rows, anchor.seq, anchor.hash)
        if db_head is not None:
            extra += check_head(rows, db_head.seq, db_head.hash, "the database's head record")
        elif head and rows and not any(p.kind == "anchor" for p in extra):
            extra.append(Problem(None, "anchor", "the database holds no audit head record; was it deleted?"))
        extra = _distinct(extra)
        for w in witnesses:
            extra += check_witness(rows, w)
        if extra:
            result = replace(result, ok=False, problems=[*result.problems, *extra])
        with self.db.session() as session:
            self.audit(
                session,
                "audit.verify",
                "audit",
                None,
                actor=actor,
                ok=result.ok,
                count=result.count,
                problems=len(result.problems),
                head=head,
                witnesses=len(witnesses),
            )
        return result

    def export_audit(self, out: Path, since: datetime | None = None, until: datetime | None = None) -> ExportManifest:
        """Write the entries in [since, until) as JSON Lines to ``out`` and a manifest next to it."""
        actor = self.require(Action.AUDIT_READ)
        if since is not None and until is not None and until <= since:
            raise InvalidInput("--to is not after --from")
        if out.is_dir():
            raise InvalidInput(f"{out} is a folder", "give a file name, e.g. audit.jsonl")
        if not out.parent.is_dir():
            raise InvalidInput(f"the folder {out.parent} does not exist")
        with self.db.session(readonly=True) as session:
            chain = entries(session)
            try:
                db_head = read_db_head(session, self.audit_key)
            except ValueError:
                db_head = None  # reported by the verification below (chain_ok) and by 'verify --head'
        selected = [e for e in chain if (since is None or e.at >= since) and (until is None or e.at < until)]
        result = verify(chain, self.audit_key)
        links_ok = all(b.prev_hash == a.hash for a, b in itertools.pairwise(selected))
        lines = [json.dumps(entry_dict(e), ensure_ascii=False, sort_keys=True) + "\n" for e in selected]
        digest = _write_private(out, lines)
        first, last = (selected[0], selected[-1]) if selected else (None, None)
        manifest = ExportManifest(
            EXPORT_FORMAT,
            out.name,
            digest,
            datetime.now(UTC),
            actor.username,
            since,
            until,
            len(selected),
            first.seq if first else None,
            first.hash if first else None,
            last.seq if last else None,
            last.hash if last else None,
            links_ok,
            result,
            db_head.seq if db_head else (chain[-1].seq if chain else None),
            db_head.hash if db_head else (chain[-1].hash if chain else None),
        )
        _write_private(manifest_path(out), [json.dumps(manifest_dict(manifest), indent=2, ensure_ascii=False) + "\n"])
        with self.db.session() as session:
            self.audit(
                session,
                "audit.export",
                "audit",
                None,
                actor=actor,
                count=manifest.count,
                first_seq=manifest.first_seq,
                last_seq=manifest.last_seq,
                sha256=digest,
                chain_ok=result.ok,
                to=out.name,
            )
        return manifest


def _distinct(problems: list[Problem]) -> list[Problem]:
    """The head file and the database's head usually see the same truncation: report it once."""
    seen: set[tuple[int | None, str]] = set()
    out = []
    for p in problems:
        if (p.seq, p.kind) not in seen:
            seen.add((p.seq, p.kind))
            out.append(p)
    return out


def manifest_dict(m: ExportManifest) -> dict[str, Any]:
    d = asdict(m)
    for k in ("exported_at", "range_from", "range_to"):
        v = d[k]
        d[k] = v.isoformat() if isinstance(v, datetime) else v
    return d
