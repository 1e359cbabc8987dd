"""Logging in: bearer tokens for machine clients, the session cookie for the console; both are the tokens
``Izde.login`` issues. The service limits failed logins per user name and client address."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from izde.web.deps import COOKIE, Service, State, WebState, credentials
from izde.web.schemas import LoginIn, LoginOut, MeOut


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def login(state: WebState, request: Request, username: str, password: str) -> tuple[str, MeOut]:
    """Log in through the service, which checks the limit for this address, then the password, and audits."""
    service = state.service()
    token = service.login(username, password, address=client_address(request))
    return token, me_of(service)


def me_of(service: Service) -> MeOut:
    a = service.actor
    assert a is not None
    return MeOut(
        username=a.username,
        roles=sorted(r.value for r in a.roles),
        organisation=a.organisation,
        law_enforcement=a.law_enforcement,
    )


def set_session_cookie(response: Response, state: WebState, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(state.settings.security.session_hours * 3600),
        httponly=True,  # scripts never read it, so an injected script cannot steal it
        secure=state.settings.web.secure_cookies,
        samesite="strict",  # never sent on requests started by another site
        path="/",
    )


public = APIRouter(prefix="/api/v1/auth", tags=["auth"])
router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@public.post("/login", response_model=LoginOut, responses={401: {}, 429: {}})
def api_login(body: LoginIn, request: Request, state: State) -> LoginOut:
    """Exchange a user name and password for a bearer token."""
    token, me = login(state, request, body.username, body.password)
    return LoginOut(token=token, **me.model_dump())


@router.post("/logout", status_code=204)
def api_logout(request: Request, service: Service) -> Response:
    """End the session whose token made this request."""
    token, _ = credentials(request)
    if token:
        service.logout(token)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/me", response_model=MeOut)
def api_me(service: Service) -> MeOut:
    """Who this token acts as."""
    return me_of(service)
