"""Logging in: bearer tokens for machine clients, the session cookie for the console; both are the tokens
``Izde.login`` issues. Failed logins are rate-limited per user name and client address."""

from __future__ import annotations

import threading
import time
from collections import deque

from fastapi import APIRouter, Request, Response

from izde.governance.users import AuthenticationFailed
from izde.web.deps import COOKIE, Service, State, WebState, credentials
from izde.web.errors import TooManyRequests
from izde.web.schemas import LoginIn, LoginOut, MeOut


class LoginLimiter:
    """Failed attempts per (user name, address) in a sliding window.

    Kept in memory: it resets when the server restarts and is not shared between server processes, which is
    enough to stop password guessing against one server; several servers would need a shared store."""

    def __init__(self, attempts: int, window_s: float) -> None:
        self.attempts, self.window_s = attempts, window_s
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, username: str, address: str) -> None:
        key, now = (username.strip().lower(), address), time.monotonic()
        with self._lock:
            q = self._failures.get(key)
            if q is None:
                return
            while q and now - q[0] > self.window_s:
                q.popleft()
            if len(q) >= self.attempts:
                wait = int(self.window_s - (now - q[0])) + 1
                raise TooManyRequests(
                    f"too many failed logins for {key[0]} from this address", f"try again in {wait} s", wait
                )

    def failed(self, username: str, address: str) -> None:
        with self._lock:
            self._failures.setdefault((username.strip().lower(), address), deque()).append(time.monotonic())

    def succeeded(self, username: str, address: str) -> None:
        with self._lock:
            self._failures.pop((username.strip().lower(), address), None)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def login(state: WebState, request: Request, username: str, password: str) -> tuple[str, MeOut]:
    """Check the limit, then the password (through the service, which audits failures too)."""
    address = client_address(request)
    state.limiter.check(username, address)
    service = state.service()
    try:
        token = service.login(username, password)
    except AuthenticationFailed:
        state.limiter.failed(username, address)
        raise
    state.limiter.succeeded(username, address)
    assert service.actor is not None
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
