"""Authorisations: requested by curators, decided by a different approver, with their impact assessment."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import ValidationError

from izde.governance.authorisations import AuthorisationSpec
from izde.web.deps import Service
from izde.web.routes_persons import invalid
from izde.web.schemas import AuthorisationIn, AuthorisationOut, DecisionIn, FriaIn

router = APIRouter(prefix="/api/v1/authorisations", tags=["authorisations"])


@router.get("", response_model=list[AuthorisationOut])
def list_authorisations(
    service: Service, status: Literal["requested", "granted", "rejected"] | None = None
) -> list[AuthorisationOut]:
    return [AuthorisationOut.of(a) for a in service.authorisations(status)]


@router.post("", response_model=AuthorisationOut, status_code=201)
def request_authorisation(body: AuthorisationIn, service: Service) -> AuthorisationOut:
    """Record a request for an authorisation (curator); it allows nothing until granted."""
    try:
        spec = AuthorisationSpec(**body.model_dump())
    except ValidationError as e:
        raise invalid(e) from None
    return AuthorisationOut.of(service.request_authorisation(spec))


@router.get("/{authorisation_id}", response_model=AuthorisationOut)
def show_authorisation(authorisation_id: str, service: Service) -> AuthorisationOut:
    return AuthorisationOut.of(service.authorisation(authorisation_id))


@router.post("/{authorisation_id}/decision", response_model=AuthorisationOut)
def decide(authorisation_id: str, body: DecisionIn, service: Service) -> AuthorisationOut:
    """Record the competent authority's decision (an approver other than the requester)."""
    return AuthorisationOut.of(service.decide_authorisation(authorisation_id, body.grant, body.note))


@router.post("/{authorisation_id}/fria", response_model=AuthorisationOut)
def record_fria(authorisation_id: str, body: FriaIn, service: Service) -> AuthorisationOut:
    """Record that the fundamental-rights impact assessment was done."""
    return AuthorisationOut.of(service.record_fria(authorisation_id, body.summary))
