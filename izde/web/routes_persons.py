"""Watchlist persons and their reference photos."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import FileResponse
from pydantic import ValidationError

from izde.errors import InvalidInput
from izde.governance.roles import Action
from izde.watchlist.types import Category, PersonSpec, PhotoSpec, Provenance
from izde.web.deps import Service
from izde.web.schemas import NoteIn, PersonOut, PersonSummaryOut, RemovalOut
from izde.web.uploads import MAX_PHOTOS, read_image, staged_files

router = APIRouter(prefix="/api/v1/persons", tags=["watchlist"])


def invalid(e: ValidationError) -> InvalidInput:
    parts = [f"{'.'.join(str(x) for x in err['loc']) or 'value'}: {err['msg']}" for err in e.errors()]
    return InvalidInput("; ".join(parts))


async def _photos(
    service: Service, photos: list[UploadFile], provenance: str, capture_date: date | None
) -> list[tuple[bytes, str]]:
    if not photos:
        raise InvalidInput("a person needs at least one reference photo")
    if len(photos) > MAX_PHOTOS:
        raise InvalidInput(f"at most {MAX_PHOTOS} photos at a time")
    limit = service.settings.web.max_upload_bytes
    max_pixels = service.settings.security.max_image_pixels
    return [await read_image(p, limit, max_pixels) for p in photos]


def _specs(paths: list[object], provenance: str, capture_date: date | None) -> list[PhotoSpec]:
    try:
        return [PhotoSpec(path=p, provenance=provenance, capture_date=capture_date) for p in paths]
    except ValidationError as e:
        raise invalid(e) from None


@router.get("", response_model=list[PersonSummaryOut])
def list_persons(service: Service) -> list[PersonSummaryOut]:
    return [PersonSummaryOut.of(p) for p in service.persons()]


@router.post("", response_model=PersonOut, status_code=201, responses={413: {}, 415: {}, 422: {}})
async def propose(
    service: Service,
    display_name: Annotated[str, Form(min_length=1, max_length=200)],
    category: Annotated[Category, Form()],
    legal_basis: Annotated[str, Form(min_length=1, max_length=500)],
    issuing_authority: Annotated[str, Form(min_length=1, max_length=200)],
    expires_on: Annotated[date, Form()],
    provenance: Annotated[Provenance, Form()],
    photos: Annotated[list[UploadFile], File(description="One or more reference photos.")],
    capture_date: Annotated[date | None, Form()] = None,
) -> PersonOut:
    """Propose a person (curator); it matches nobody until a different approver approves it."""
    from starlette.concurrency import run_in_threadpool

    # Refuse people without the right before their uploads are even read.
    service.require(Action.WATCHLIST_PROPOSE)
    try:
        spec = PersonSpec(
            display_name=display_name,
            category=category,
            legal_basis=legal_basis,
            issuing_authority=issuing_authority,
            expires_on=expires_on,
        )
    except ValidationError as e:
        raise invalid(e) from None
    files = await _photos(service, photos, provenance, capture_date)
    with staged_files(service.settings.home, files) as paths:
        specs = _specs(list(paths), provenance, capture_date)
        view = await run_in_threadpool(service.propose, spec, specs)
    return PersonOut.of(view)


@router.get("/{person_id}", response_model=PersonOut)
def show_person(person_id: str, service: Service) -> PersonOut:
    """One entry with its photos' metadata (viewing it is audited)."""
    return PersonOut.of(service.person(person_id))


@router.post("/{person_id}/photos", response_model=PersonOut, responses={413: {}, 415: {}, 422: {}})
async def add_photos(
    person_id: str,
    service: Service,
    provenance: Annotated[Provenance, Form()],
    photos: Annotated[list[UploadFile], File()],
    capture_date: Annotated[date | None, Form()] = None,
) -> PersonOut:
    """More reference photos; the entry needs approval again."""
    from starlette.concurrency import run_in_threadpool

    service.require(Action.WATCHLIST_PROPOSE)
    files = await _photos(service, photos, provenance, capture_date)
    with staged_files(service.settings.home, files) as paths:
        specs = _specs(list(paths), provenance, capture_date)
        view = await run_in_threadpool(service.add_photos, person_id, specs)
    return PersonOut.of(view)


@router.get(
    "/{person_id}/photos/{photo_id}",
    response_class=FileResponse,
    responses={200: {"content": {"image/*": {}}, "description": "The photo"}},
)
def photo(person_id: str, photo_id: str, service: Service) -> FileResponse:
    """The reference photo itself (roles allowed to see photos; every view audited)."""
    view = service.photo(person_id, photo_id)
    return FileResponse(view.path, headers={"Cache-Control": "no-store"}, media_type=_media_type(view.path.suffix))


def _media_type(suffix: str) -> str:
    ext = suffix.lower().lstrip(".")
    return {"jpg": "image/jpeg", "jpeg": "image/jpeg", "tif": "image/tiff"}.get(ext, f"image/{ext or 'jpeg'}")


@router.post("/{person_id}/approve", response_model=PersonOut)
def approve(person_id: str, service: Service) -> PersonOut:
    """Make a proposed entry active (an approver other than the proposer)."""
    return PersonOut.of(service.approve(person_id))


@router.post("/{person_id}/reject", response_model=PersonOut)
def reject(person_id: str, service: Service, body: NoteIn | None = None) -> PersonOut:
    return PersonOut.of(service.reject(person_id, body.note if body else None))


@router.delete("/{person_id}", response_model=RemovalOut)
def remove(person_id: str, service: Service) -> RemovalOut:
    """Delete the person with photos, templates, alerts and evidence."""
    r = service.remove(person_id)
    return RemovalOut(person_id=r.person_id, photos=r.photos, templates=r.templates, alerts=r.alerts)
