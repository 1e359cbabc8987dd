"""Per-request service objects and who is acting. Every route reaches personal data only through an
:class:`~izde.api.Izde` acting as the authenticated user, whose methods make the one permission check."""

from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass, field
from hashlib import sha256
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from izde.api import Izde
from izde.config import Settings
from izde.governance.roles import Actor
from izde.governance.users import AuthenticationFailed
from izde.runner.base import SessionRunner
from izde.vision.batching import BatchingEmbedder
from izde.vision.stack import VisionStack, build_stack
from izde.web.errors import CsrfFailed

if TYPE_CHECKING:
    from izde.web.webhooks import Dispatcher

COOKIE = "izde_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class WebState:
    """What the app holds for its lifetime: the shared database and audit key, workers, the dispatcher."""

    settings: Settings
    root: Izde
    csrf_secret: bytes
    sessions: SessionRunner
    dispatcher: Dispatcher | None
    stopping: threading.Event = field(default_factory=threading.Event)
    _stack: VisionStack | None = None
    _stack_lock: threading.Lock = field(default_factory=threading.Lock)

    def stack(self) -> VisionStack:
        # Built on first use (enrolment or a session) and shared: loading the networks takes seconds. The
        # sessions' watchers run in threads, so their descriptor requests are merged into shared batches.
        with self._stack_lock:
            if self._stack is None:
                s = build_stack(self.settings.vision)
                self._stack = s.with_embedder(BatchingEmbedder(s.embedder))
            return self._stack

    def service(self, actor: Actor | None = None, settings: Settings | None = None) -> RequestIzde:
        return RequestIzde(self, actor, settings)

    def csrf_token(self, session_token: str) -> str:
        return hmac.new(self.csrf_secret, session_token.encode(), sha256).hexdigest()


class RequestIzde(Izde):
    """The service for one request (or one watch worker): shares the app's database, key and networks, and
    has its own acting user, so concurrent requests never see each other's identity."""

    def __init__(self, state: WebState, actor: Actor | None, settings: Settings | None = None) -> None:
        super().__init__(settings or state.settings)
        self._web = state
        self._db = state.root.db
        self._key = state.root.audit_key
        self.actor = actor

    @property
    def stack(self) -> VisionStack:
        return self._web.stack()

    def close(self) -> None:
        """The database belongs to the app, not to the request."""


def web_state(request: Request) -> WebState:
    state = request.app.state.izde
    assert isinstance(state, WebState)
    return state


def credentials(request: Request) -> tuple[str | None, bool]:
    """The token and whether it came from the session cookie (which needs CSRF protection) or a bearer header."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed("unsupported Authorization header", "send 'Authorization: Bearer <token>'")
        return token.strip(), False
    cookie = request.cookies.get(COOKIE)
    return (cookie, True) if cookie else (None, False)


async def _check_csrf(request: Request, state: WebState, token: str) -> None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, state.csrf_token(token)):
        raise CsrfFailed("the request lacks this page's CSRF token", "reload the page and try again")


async def izde_service(request: Request) -> RequestIzde:
    """Deny by default: a route that takes this dependency runs only for an authenticated user."""
    state = web_state(request)
    token, via_cookie = credentials(request)
    if token is None:
        raise AuthenticationFailed("not logged in", "log in at /login, or send 'Authorization: Bearer <token>'")
    service = state.service()
    await run_in_threadpool(service.use_token, token)
    if via_cookie and request.method not in SAFE_METHODS:
        await _check_csrf(request, state, token)
    return service


Service = Annotated[RequestIzde, Depends(izde_service)]
State = Annotated[WebState, Depends(web_state)]
