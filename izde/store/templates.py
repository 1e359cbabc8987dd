"""Descriptor bytes and the watchlist as loaded for matching."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from izde.errors import InvalidInput
from izde.store.crypto import envelope_of, is_sealed, template_context
from izde.store.models import Person, ReferencePhoto, Template
from izde.vision.types import DESCRIPTOR_DIM, F32, I32

ACTIVE = "active"
_LE_F32 = np.dtype("<f4")
_HASH_DOMAIN = b"izde-watchlist-v1\x00"
# Values per descriptor of each template model not of dlib's (128); see izde.vision.faceres.
DIMS = {"hse_faceres_v1": 1024}


def descriptor_dim(model: str) -> int:
    return DIMS.get(model, DESCRIPTOR_DIM)


def encode_descriptor(descriptor: npt.ArrayLike, dim: int = DESCRIPTOR_DIM) -> bytes:
    """``dim`` float32 values, little-endian, as stored in ``templates.descriptor``."""
    arr = np.asarray(descriptor)
    if arr.shape != (dim,):
        raise InvalidInput(f"a descriptor has {dim} values, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InvalidInput("a descriptor holds NaN or infinite values")
    return arr.astype(_LE_F32).tobytes()


def decode_descriptor(data: bytes, dim: int = DESCRIPTOR_DIM) -> F32:
    if len(data) != dim * 4:
        raise ValueError(f"a stored descriptor has {len(data)} bytes, expected {dim * 4}")
    return np.frombuffer(data, dtype=_LE_F32).astype(np.float32)


def watchlist_hash(model: str, rows: Iterable[tuple[str, bytes]]) -> str:
    """SHA-256 identifying exactly which templates a run matched against.

    Over the embedding model name, the sorted person ids and every (person id, descriptor bytes) pair in
    sorted order, so it depends on content only, not on row order or template ids.
    """
    ordered = sorted(rows)
    h = hashlib.sha256(_HASH_DOMAIN)
    h.update(model.encode() + b"\x00")
    for person_id in sorted({pid for pid, _ in ordered}):
        h.update(person_id.encode() + b"\x00")
    h.update(b"\x00")
    for person_id, descriptor in ordered:
        h.update(person_id.encode() + b"\x00")
        h.update(len(descriptor).to_bytes(4, "little"))
        h.update(descriptor)
    return h.hexdigest()


@dataclass(frozen=True)
class MatchSet:
    """Templates of the persons that may be matched now, for one embedding model.

    ``descriptors[i]`` belongs to ``person_ids[owners[i]]``. Persons without a template of this model
    are absent: they cannot be matched.
    """

    model: str
    person_ids: list[str]
    descriptors: F32  # (M, the model's dimension)
    owners: I32  # (M,)
    hash: str

    @property
    def size(self) -> int:
        return len(self.person_ids)


def combined_hash(hashes: Sequence[str]) -> str:
    """One watchlist hash over several models' (a single model's hash is kept as it is)."""
    if len(hashes) == 1:
        return hashes[0]
    h = hashlib.sha256(_HASH_DOMAIN + b"spaces\x00")
    for one in hashes:
        h.update(one.encode() + b"\x00")
    return h.hexdigest()


def photos_without(
    session: Session,
    model: str,
    *,
    matchable: bool = False,
    persons: Iterable[str] | None = None,
    today: date | None = None,
) -> list[str]:
    """Ids of reference photos with no template of ``model``: of persons who can match now, if ``matchable``,
    and only of ``persons`` where given."""
    has = select(Template.photo_id).where(Template.model == model)
    q = select(ReferencePhoto.id).where(ReferencePhoto.id.not_in(has))
    if persons is not None:
        q = q.where(ReferencePhoto.person_id.in_(list(persons)))
    if matchable:
        q = q.join(Person, Person.id == ReferencePhoto.person_id).where(
            Person.status == ACTIVE, Person.expires_on > (today or utc_today())
        )
    return list(session.scalars(q.order_by(ReferencePhoto.id)))


def utc_today() -> date:
    return datetime.now(UTC).date()


def load_match_set(session: Session, model: str, *, today: date | None = None) -> MatchSet:
    """Active persons whose entry has not expired (``expires_on`` > today, UTC), with their templates."""
    day = today or utc_today()
    envelope = envelope_of(session.info)
    # Opened before hashing: the hash names the descriptors, not how they happen to be sealed.
    rows = [
        (pid, envelope.open(bytes(desc), template_context(pid)) if is_sealed(bytes(desc)) else bytes(desc))
        for pid, desc in session.execute(
            select(Template.person_id, Template.descriptor)
            .join(Person, Person.id == Template.person_id)
            .where(Template.model == model, Person.status == ACTIVE, Person.expires_on > day)
        )
    ]
    rows.sort()
    person_ids = sorted({pid for pid, _ in rows})
    index = {pid: i for i, pid in enumerate(person_ids)}
    dim = descriptor_dim(model)
    descriptors = np.zeros((len(rows), dim), np.float32)
    for i, (_, desc) in enumerate(rows):
        descriptors[i] = decode_descriptor(desc, dim)
    owners = np.fromiter((index[pid] for pid, _ in rows), dtype=np.int32, count=len(rows))
    return MatchSet(model, person_ids, descriptors, owners, watchlist_hash(model, rows))
