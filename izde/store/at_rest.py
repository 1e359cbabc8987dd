"""Sealing what is stored in the clear (data from before encryption at rest) and re-wrapping on key rotation.

Both walk every reference photo, evidence file and template of every organisation: the data key is the
deployment's, not an organisation's.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select

from izde.store.crypto import Envelope, is_sealed, template_context
from izde.store.db import Database
from izde.store.models import Alert, ReferencePhoto, Template

MARKER = ".sealed-at-rest"  # in the data directory: the upgrade has sealed everything once


@dataclass
class SealReport:
    files_sealed: int = 0  # were in the clear
    files_rewrapped: int = 0  # were under an older master key
    templates_sealed: int = 0
    templates_rewrapped: int = 0
    missing_files: int = 0  # named by a row but not on disk (removed by hand, or a crash before the rename)
    by_key: Counter[str] = field(default_factory=Counter)  # objects per master key id, afterwards

    @property
    def changed(self) -> int:
        return self.files_sealed + self.files_rewrapped + self.templates_sealed + self.templates_rewrapped


def seal_all(db: Database, *, rewrap: bool, apply: bool = True) -> SealReport:
    """Seal every object stored in the clear; with ``rewrap``, also re-wrap every object whose data key is
    wrapped by a master key other than the current one. Each file is replaced atomically; templates change in
    one transaction. Safe to run again after an interruption. Without ``apply``, only counts (objects in the
    clear are counted under the key id "clear")."""
    envelope = db.files.envelope
    assert envelope is not None and db.organisation_id is None, "sealing needs the whole deployment's database"
    current, _ = envelope.provider.current()
    report = SealReport()
    with db.session(readonly=True) as session:
        names = list(session.scalars(select(ReferencePhoto.file_name)))
        names += [f for f in session.scalars(select(Alert.evidence_file)) if f]
    for rel in names:
        if not db.files.exists(rel):
            report.missing_files += 1
            continue
        raw = db.files.path(rel).read_bytes()
        new = _resealed(envelope, raw, rel, current, rewrap, report, "files") if apply else None
        if new is not None:
            db.files.rewrite(rel, new)
        report.by_key[_key_of(new or raw)] += 1
    with db.session() as session:
        for row in session.scalars(select(Template)):
            raw = bytes(row.descriptor)
            context = template_context(row.person_id)
            new = _resealed(envelope, raw, context, current, rewrap, report, "templates") if apply else None
            if new is not None:
                row.descriptor = new
            report.by_key[_key_of(new or raw)] += 1
    return report


def _key_of(blob: bytes) -> str:
    return Envelope.key_id_of(blob) if is_sealed(blob) else "clear"


def _resealed(
    envelope: Envelope, raw: bytes, context: str, current: str, rewrap: bool, report: SealReport, kind: str
) -> bytes | None:
    if not is_sealed(raw):
        setattr(report, f"{kind}_sealed", getattr(report, f"{kind}_sealed") + 1)
        return envelope.seal(raw, context)
    if rewrap and Envelope.key_id_of(raw) != current:
        setattr(report, f"{kind}_rewrapped", getattr(report, f"{kind}_rewrapped") + 1)
        return envelope.rewrap(raw)
    return None
