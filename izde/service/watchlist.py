"""Watchlist service: curators propose, a different approver approves; every step audited."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from izde.errors import Conflict, NotFound
from izde.governance.roles import Action, PermissionDenied
from izde.service.core import Core
from izde.service.views import PersonView, PhotoView
from izde.store import persons as person_store
from izde.store.models import Person, ReferencePhoto
from izde.store.templates import photos_without
from izde.vision.images import decode_image, read_image_file
from izde.vision.types import Faces
from izde.watchlist.enrol import reference_descriptors, reference_face
from izde.watchlist.types import PersonSpec, PhotoSpec

PROPOSED, ACTIVE, REJECTED = "proposed", "active", "rejected"


def four_eyes(proposer: str | None, approver: str) -> None:
    """Pure rule: nobody approves their own proposal."""
    if proposer is not None and proposer == approver:
        raise PermissionDenied(
            "an entry must be approved by someone other than the person who proposed it",
            "ask a second approver to review it",
        )


class WatchlistService(Core):
    def _prepare(self, photos: Sequence[PhotoSpec]) -> list[person_store.NewPhoto]:
        """Every photo through the quality gate before anything is stored: one refusal stores nothing."""
        out = []
        for spec in photos:
            image, data = read_image_file(Path(spec.path), self.settings.security.max_image_pixels)
            ref = reference_face(image, Path(spec.path).name, self.stack, self.settings.enrolment, spec.face)
            ext = Path(spec.path).suffix.lower().lstrip(".")
            out.append(
                person_store.NewPhoto(
                    data=data,
                    ext=ext if ext.isalnum() and len(ext) <= 5 else "img",
                    provenance=spec.provenance,
                    box=ref.box,
                    quality=ref.quality,
                    descriptors=ref.descriptors,
                    capture_date=spec.capture_date,
                )
            )
        return out

    def propose(self, person: PersonSpec, photos: Sequence[PhotoSpec]) -> PersonView:
        """A curator proposes a person with reference photos; it matches nobody until approved."""
        actor = self.require(Action.WATCHLIST_PROPOSE)
        prepared = self._prepare(photos)
        with self.db.transaction() as (session, stage):
            row = person_store.add_person(session, stage, person, prepared)
            row.status, row.proposed_by = PROPOSED, actor.user_id
            self.audit(
                session,
                "watchlist.propose",
                "person",
                row.id,
                category=row.category,
                legal_basis=row.legal_basis,
                expires_on=row.expires_on.isoformat(),
                photos=[{"provenance": str(p.provenance), "quality": round(p.quality, 3)} for p in prepared],
            )
            person_id = row.id
        return self._person_view(person_id)

    def approve(self, ref: str) -> PersonView:
        """A different approver makes a proposed entry active: from now on it can match."""
        actor = self.require(Action.WATCHLIST_APPROVE)
        with self.db.session() as session:
            p = person_store.find_person(session, ref)
            if p.status != PROPOSED:
                raise Conflict(f"{p.display_name} is {p.status}, not awaiting approval")
            four_eyes(p.proposed_by, actor.user_id)
            p.status, p.approved_by, p.approved_at = ACTIVE, actor.user_id, datetime.now(UTC)
            self.audit(session, "watchlist.approve", "person", p.id, proposed_by=p.proposed_by)
            person_id = p.id
        return self._person_view(person_id)

    def reject(self, ref: str, note: str | None = None) -> PersonView:
        """An approver turns a proposal down; it never matches (and the curator may remove it)."""
        self.require(Action.WATCHLIST_APPROVE)
        with self.db.session() as session:
            p = person_store.find_person(session, ref)
            if p.status != PROPOSED:
                raise Conflict(f"{p.display_name} is {p.status}, not awaiting approval")
            p.status = REJECTED
            self.audit(session, "watchlist.reject", "person", p.id, note=note)
            person_id = p.id
        return self._person_view(person_id)

    def photo(self, person_ref: str, photo_id: str) -> tuple[PhotoView, bytes]:
        """One reference photo and its image (decrypted), for showing it; each view is audited."""
        self.require(Action.PHOTO_VIEW)
        view = self._person_view(person_ref)
        for ph in view.photos:
            if ph.id == photo_id:
                data = self.db.files.read_at(ph.path)
                with self.db.session() as session:
                    self.audit(session, "photo.view", "photo", ph.id, person=view.id)
                return ph, data
        raise NotFound(f"person {view.id} has no photo {photo_id}")

    def add_photos(self, ref: str, photos: Sequence[PhotoSpec]) -> PersonView:
        """More reference photos (appearance changes over years). They change what matches, so the entry
        goes back to 'proposed' until a second person approves it again."""
        actor = self.require(Action.WATCHLIST_PROPOSE)
        with self.db.session(readonly=True) as session:
            person_id = person_store.find_person(session, ref).id
        prepared = self._prepare(photos)
        with self.db.transaction() as (session, stage):
            person_store.add_photos(session, stage, person_id, prepared)
            p = session.get(Person, person_id)
            assert p is not None
            p.status, p.proposed_by, p.approved_by, p.approved_at = PROPOSED, actor.user_id, None, None
            self.audit(
                session,
                "watchlist.add_photos",
                "person",
                person_id,
                photos=[{"provenance": str(x.provenance), "quality": round(x.quality, 3)} for x in prepared],
            )
        return self._person_view(person_id)

    def persons(self) -> list[person_store.PersonSummary]:
        self.require(Action.WATCHLIST_READ)
        with self.db.session() as session:
            rows = person_store.list_persons(session)
            self.audit(session, "watchlist.list", "person", None, count=len(rows))
            return rows

    def person(self, ref: str) -> PersonView:
        """One entry with its photos' metadata and file paths (a view of the photos: audited)."""
        self.require(Action.PHOTO_VIEW)
        view = self._person_view(ref)
        with self.db.session() as session:
            self.audit(session, "photo.view", "person", view.id, photos=len(view.photos))
        return view

    def _person_view(self, ref: str) -> PersonView:
        with self.db.session(readonly=True) as session:
            p = person_store.find_person(session, ref)
            return PersonView(
                p.id,
                p.display_name,
                p.category,
                p.legal_basis,
                p.issuing_authority,
                p.expires_on,
                p.status,
                p.created_at,
                tuple(
                    PhotoView(
                        ph.id,
                        ph.provenance,
                        ph.capture_date,
                        ph.quality,
                        (ph.face_left, ph.face_top, ph.face_right, ph.face_bottom),
                        self.db.files.path(ph.file_name),
                        ph.created_at,
                    )
                    for ph in p.photos
                ),
            )

    def recompute_templates(self) -> int:
        """Templates that stored reference photos lack for a network of ``vision.descriptors`` (photos enrolled
        before it was configured), computed from the photo itself at the face box chosen at enrolment. The photo
        and its approval are unchanged, so the entry's status is too; each computed template is audited.
        Returns how many were computed."""
        self.require(Action.WATCHLIST_PROPOSE)
        models = self.stack.template_models
        with self.db.session(readonly=True) as session:
            todo: dict[str, list[str]] = {}
            for model in models.values():
                for photo_id in photos_without(session, model):
                    todo.setdefault(photo_id, []).append(model)
        for photo_id, missing in todo.items():
            with self.db.session() as session:
                ph = session.get(ReferencePhoto, photo_id)
                if ph is None:  # removed meanwhile
                    continue
                data = self.db.files.read_bytes(ph.file_name)
                image = decode_image(data, photo_id, self.settings.security.max_image_pixels)
                box = (ph.face_left, ph.face_top, ph.face_right, ph.face_bottom)
                aligned = self.stack.aligner.align(image, Faces.from_boxes([box], [1.0]))
                computed = reference_descriptors(image, aligned, self.stack)
                added = {m: computed[m] for m in missing}
                person_store.add_templates(session, ph, added)
                for model in added:
                    self.audit(session, "template.recompute", "photo", ph.id, person=ph.person_id, model=model)
        return sum(len(m) for m in todo.values())

    def remove(self, ref: str) -> person_store.Removal:
        """Delete a person with their photos, templates, alerts and evidence, from disk and database."""
        self.require(Action.WATCHLIST_REMOVE)
        with self.db.transaction() as (session, stage):
            removal = person_store.remove_person(session, stage, ref)
            self.audit(
                session,
                "watchlist.remove",
                "person",
                removal.person_id,
                photos=removal.photos,
                templates=removal.templates,
                alerts=removal.alerts,
            )
            return removal
