"""Authorisation service: curators request, a different approver grants or rejects; FRIAs are recorded."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from izde.errors import Conflict, InvalidInput
from izde.governance.authorisations import AuthorisationSpec, Scope, Status
from izde.governance.roles import Action
from izde.service.core import Core
from izde.service.watchlist import four_eyes
from izde.store import persons as person_store
from izde.store.lookup import by_id_or_prefix, not_found
from izde.store.models import (
    Alert,
    Authorisation,
    AuthorisationCamera,
    AuthorisationPerson,
    FriaRecord,
    User,
    WatchRun,
)


@dataclass(frozen=True, slots=True)
class FriaView:
    """The newest recorded impact assessment of an authorisation: what it says, who recorded it and when."""

    summary: str
    document_sha256: str | None
    recorded_by: str  # user name
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class AuthorisationView:
    id: str
    objective: str
    offence_code: str | None
    issuing_authority: str
    reference: str
    starts_at: datetime
    ends_at: datetime
    covers_live: bool
    covers_recorded: bool
    status: str
    urgent_reason: str | None
    requested_at: datetime
    decided_at: datetime | None
    persons: tuple[str, ...]
    cameras: tuple[str, ...]
    fria_recorded: bool
    fria: FriaView | None = None


def latest_fria(session: Session, authorisation_id: str) -> FriaView | None:
    row = session.execute(
        select(FriaRecord, User.username)
        .outerjoin(User, User.id == FriaRecord.recorded_by)
        .where(FriaRecord.authorisation_id == authorisation_id)
        .order_by(FriaRecord.recorded_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    record, username = row
    return FriaView(record.summary, record.document_sha256, username or record.recorded_by, record.recorded_at)


def find_authorisation(session: Session, ref: str) -> Authorisation:
    row = by_id_or_prefix(
        session, Authorisation, Authorisation.id, ref, what="authorisation", describe=lambda a: f"{a.id} {a.reference}"
    )
    if row is None:
        raise not_found("authorisation", ref, "list them with 'izde auth list'")
    return row


def scope_of(session: Session, a: Authorisation) -> Scope:
    cams = session.scalars(select(AuthorisationCamera.camera).where(AuthorisationCamera.authorisation_id == a.id))
    people = session.scalars(select(AuthorisationPerson.person_id).where(AuthorisationPerson.authorisation_id == a.id))
    fria = session.scalar(select(FriaRecord.id).where(FriaRecord.authorisation_id == a.id).limit(1))
    return Scope(
        a.id,
        Status(a.status),
        a.starts_at,
        a.ends_at,
        a.covers_live,
        a.covers_recorded,
        frozenset(cams),
        frozenset(people),
        a.urgent_reason,
        a.requested_at,
        fria is not None,
    )


class AuthorisationService(Core):
    def request_authorisation(self, spec: AuthorisationSpec) -> AuthorisationView:
        actor = self.require(Action.AUTHORISATION_REQUEST)
        with self.db.session() as session:
            person_ids = sorted({person_store.find_person(session, ref).id for ref in spec.persons})
            a = Authorisation(
                objective=spec.objective.value,
                offence_code=spec.offence_code,
                issuing_authority=spec.issuing_authority,
                reference=spec.reference,
                starts_at=spec.starts_at,
                ends_at=spec.ends_at,
                covers_live=spec.covers_live,
                covers_recorded=spec.covers_recorded,
                status=Status.REQUESTED.value,
                urgent_reason=spec.urgent_reason,
                requested_by=actor.user_id,
                requested_at=datetime.now(UTC),
            )
            session.add(a)
            session.flush()
            session.add_all(AuthorisationPerson(authorisation_id=a.id, person_id=p) for p in person_ids)
            session.add_all(AuthorisationCamera(authorisation_id=a.id, camera=c.strip()) for c in set(spec.cameras))
            self.audit(
                session,
                "authorisation.request",
                "authorisation",
                a.id,
                objective=a.objective,
                reference=a.reference,
                persons=person_ids,
                cameras=sorted(set(spec.cameras)),
                window=[a.starts_at.isoformat(), a.ends_at.isoformat()],
                live=a.covers_live,
                recorded=a.covers_recorded,
                urgent=bool(a.urgent_reason),
            )
            auth_id = a.id
        return self.authorisation(auth_id)

    def decide_authorisation(self, ref: str, grant: bool, note: str | None = None) -> AuthorisationView:
        """Record the competent authority's decision. A rejection of an urgent start deletes everything its
        sessions produced: alerts and evidence."""
        actor = self.require(Action.AUTHORISATION_DECIDE)
        with self.db.transaction() as (session, stage):
            a = find_authorisation(session, ref)
            if a.status != Status.REQUESTED.value:
                raise Conflict(f"authorisation {a.id} is already {a.status}")
            four_eyes(a.requested_by, actor.user_id)
            a.status = (Status.GRANTED if grant else Status.REJECTED).value
            a.decided_by, a.decided_at, a.decision_note = actor.user_id, datetime.now(UTC), note
            purged = 0
            if not grant:
                run_ids = list(session.scalars(select(WatchRun.id).where(WatchRun.authorisation_id == a.id)))
                files = [f for f in session.scalars(select(Alert.evidence_file).where(Alert.run_id.in_(run_ids))) if f]
                purged = session.execute(delete(Alert).where(Alert.run_id.in_(run_ids))).rowcount or 0  # type: ignore[attr-defined]
                stage.delete_on_commit(files)
            self.audit(
                session,
                "authorisation.grant" if grant else "authorisation.reject",
                "authorisation",
                a.id,
                note=note,
                alerts_deleted=purged,
            )
            auth_id = a.id
        return self.authorisation(auth_id)

    def record_fria(self, ref: str, summary: str, document: Path | None = None) -> AuthorisationView:
        """Record that the fundamental-rights impact assessment for this deployment was done."""
        actor = self.require(Action.FRIA_RECORD)
        if not summary.strip():
            raise InvalidInput("the impact assessment needs a summary")
        digest = None
        if document is not None:
            try:
                digest = hashlib.sha256(document.read_bytes()).hexdigest()
            except OSError as e:
                raise InvalidInput(f"cannot read {document}: {e.strerror}") from None
        with self.db.session() as session:
            a = find_authorisation(session, ref)
            row = FriaRecord(
                authorisation_id=a.id,
                summary=summary.strip(),
                document_sha256=digest,
                recorded_by=actor.user_id,
                recorded_at=datetime.now(UTC),
            )
            session.add(row)
            session.flush()
            self.audit(session, "fria.record", "authorisation", a.id, document_sha256=digest)
            auth_id = a.id
        return self.authorisation(auth_id)

    def authorisation(self, ref: str) -> AuthorisationView:
        self.require(Action.AUTHORISATION_READ)
        with self.db.session(readonly=True) as session:
            return self._view(session, find_authorisation(session, ref))

    def authorisations(self, status: str | None = None) -> list[AuthorisationView]:
        self.require(Action.AUTHORISATION_READ)
        with self.db.session(readonly=True) as session:
            q = select(Authorisation).order_by(Authorisation.requested_at.desc())
            if status:
                q = q.where(Authorisation.status == status)
            return [self._view(session, a) for a in session.scalars(q)]

    def _view(self, session: Session, a: Authorisation) -> AuthorisationView:
        s = scope_of(session, a)
        return AuthorisationView(
            a.id,
            a.objective,
            a.offence_code,
            a.issuing_authority,
            a.reference,
            a.starts_at,
            a.ends_at,
            a.covers_live,
            a.covers_recorded,
            a.status,
            a.urgent_reason,
            a.requested_at,
            a.decided_at,
            tuple(sorted(s.persons)),
            tuple(sorted(s.cameras)),
            s.has_fria,
            latest_fria(session, a.id) if s.has_fria else None,
        )
