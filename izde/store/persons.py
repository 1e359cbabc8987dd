"""Watchlist persons with their reference photos and templates.

Writes take a :class:`~izde.store.files.Stage` as well as the session: photo files are staged with the
rows and put in place only after the database commit (see :meth:`izde.store.db.Database.transaction`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy.typing as npt
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from izde.errors import Conflict, InvalidInput
from izde.store.crypto import envelope_of, template_context
from izde.store.files import Stage, photo_path
from izde.store.lookup import ambiguous, by_id_or_prefix, not_found
from izde.store.models import Alert, Person, ReferencePhoto, Template, new_id
from izde.store.templates import ACTIVE, descriptor_dim, encode_descriptor
from izde.watchlist.types import PersonSpec, Provenance

_PERSON_HINT = "list the watchlist to see ids and names"


@dataclass(frozen=True)
class NewPhoto:
    """A reference photo accepted by enrolment, ready to store."""

    data: bytes  # the image file as enrolled; kept as the reference
    ext: str  # file extension without the dot, e.g. "jpg"
    provenance: Provenance
    box: tuple[int, int, int, int]  # left, top, right, bottom of the face used, in image pixels
    quality: float
    descriptors: Mapping[str, npt.ArrayLike]  # template model name -> its descriptor (one per network)
    capture_date: date | None = None


@dataclass(frozen=True, slots=True)
class PersonSummary:
    id: str
    display_name: str
    category: str
    status: str
    expires_on: date
    created_at: datetime
    photo_count: int


@dataclass(frozen=True, slots=True)
class Removal:
    """What removing a person deleted (files: scheduled for deletion after the commit)."""

    person_id: str
    display_name: str
    photos: int
    templates: int
    alerts: int
    files: list[str] = field(default_factory=list)


def describe(person: Person) -> str:
    return f"{person.id} {person.display_name} ({person.category}, expires {person.expires_on.isoformat()})"


def add_person(session: Session, stage: Stage, spec: PersonSpec, photos: Sequence[NewPhoto]) -> Person:
    """A new active person with its photos (files staged) and templates."""
    if not photos:
        raise InvalidInput("a person needs at least one reference photo")
    person = Person(
        id=new_id(),
        display_name=spec.display_name,
        category=str(spec.category),
        legal_basis=spec.legal_basis,
        issuing_authority=spec.issuing_authority,
        expires_on=spec.expires_on,
        status=ACTIVE,
    )
    session.add(person)
    _attach_photos(session, stage, person, photos, known=set())
    session.flush()
    return person


def add_photos(
    session: Session, stage: Stage, person: Person | str, photos: Sequence[NewPhoto]
) -> list[ReferencePhoto]:
    """More reference photos for an existing person (a Person row or a reference to find one)."""
    target = find_person(session, person) if isinstance(person, str) else person
    if not photos:
        raise InvalidInput("no photos given")
    known = set(session.scalars(select(ReferencePhoto.sha256).where(ReferencePhoto.person_id == target.id)))
    added = _attach_photos(session, stage, target, photos, known=known)
    session.flush()
    return added


def _attach_photos(
    session: Session, stage: Stage, person: Person, photos: Sequence[NewPhoto], *, known: set[str]
) -> list[ReferencePhoto]:
    added: list[ReferencePhoto] = []
    for number, photo in enumerate(photos, start=1):
        digest = hashlib.sha256(photo.data).hexdigest()
        if digest in known:
            # Enrolling the same image twice would weight that one shot double in matching.
            raise Conflict(f"photo {number} is already enrolled for {person.display_name}")
        known.add(digest)
        if not photo.descriptors:
            raise InvalidInput(f"photo {number} has no descriptor")
        left, top, right, bottom = photo.box
        if right <= left or bottom <= top:
            raise InvalidInput(f"photo {number} has an empty face box {photo.box}")
        photo_id = new_id()
        rel = photo_path(person.id, photo_id, photo.ext)
        row = ReferencePhoto(
            id=photo_id,
            person_id=person.id,
            file_name=rel,
            sha256=digest,
            provenance=str(photo.provenance),
            capture_date=photo.capture_date,
            face_left=left,
            face_top=top,
            face_right=right,
            face_bottom=bottom,
            quality=float(photo.quality),
        )
        session.add(row)
        add_templates(session, row, photo.descriptors)
        stage.put(rel, photo.data)
        added.append(row)
    return added


def add_templates(session: Session, photo: ReferencePhoto, descriptors: Mapping[str, npt.ArrayLike]) -> None:
    """One template per model of ``photo``'s face, sealed like every template at rest."""
    envelope = envelope_of(session.info)
    for model, descriptor in descriptors.items():
        sealed = envelope.seal(encode_descriptor(descriptor, descriptor_dim(model)), template_context(photo.person_id))
        photo.templates.append(Template(id=new_id(), person_id=photo.person_id, model=model, descriptor=sealed))


def get_person(session: Session, person_id: str) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise not_found("person", person_id, _PERSON_HINT)
    return person


def find_person(session: Session, ref: str) -> Person:
    """By id, unique id prefix (at least 6 characters) or exact display name."""
    person = by_id_or_prefix(session, Person, Person.id, ref, what="person", describe=describe)
    if person is not None:
        return person
    named = list(session.scalars(select(Person).where(Person.display_name == ref.strip()).order_by(Person.id)))
    if len(named) > 1:
        raise ambiguous("person", ref, [describe(p) for p in named], "name the person by id instead")
    if not named:
        raise not_found("person", ref, _PERSON_HINT)
    return named[0]


def list_persons(session: Session) -> list[PersonSummary]:
    """Every person (expired ones too), by name, with their number of reference photos."""
    count = func.count(ReferencePhoto.id)
    query = (
        select(Person, count)
        .outerjoin(ReferencePhoto, ReferencePhoto.person_id == Person.id)
        .group_by(Person.id)
        .order_by(Person.display_name, Person.id)
    )
    return [
        PersonSummary(p.id, p.display_name, p.category, p.status, p.expires_on, p.created_at, int(n))
        for p, n in session.execute(query)
    ]


def remove_person(session: Session, stage: Stage, person: Person | str) -> Removal:
    """Delete a person, their photos, templates and alerts; their files go when the stage commits."""
    target = find_person(session, person) if isinstance(person, str) else person
    photo_files = list(session.scalars(select(ReferencePhoto.file_name).where(ReferencePhoto.person_id == target.id)))
    templates = session.scalar(select(func.count(Template.id)).where(Template.person_id == target.id)) or 0
    alerts = list(session.execute(select(Alert.id, Alert.evidence_file).where(Alert.person_id == target.id)))
    evidence = [f for _, f in alerts if f]
    removal = Removal(
        target.id, target.display_name, len(photo_files), int(templates), len(alerts), photo_files + evidence
    )
    # Photos, templates and alerts go by ON DELETE CASCADE, in the same statement.
    session.delete(target)
    session.flush()
    stage.delete_on_commit(removal.files)
    return removal
