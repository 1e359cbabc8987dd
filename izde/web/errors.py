"""Errors as JSON ``{"error": ..., "hint": ...}`` with the status code that says what kind of failure it is."""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from izde.errors import Conflict, ImageError, ImageTooLarge, InvalidInput, IzdeError, NotFound, SourceError
from izde.governance.login_limit import TooManyFailedLogins
from izde.governance.roles import PermissionDenied
from izde.governance.users import AuthenticationFailed
from izde.redact import redact

log = logging.getLogger(__name__)


class PayloadTooLarge(IzdeError):
    status = 413


class UnsupportedMediaType(IzdeError):
    status = 415


class CsrfFailed(PermissionDenied):
    """A state-changing request authenticated by the session cookie came without the page's CSRF token."""


# Most specific first: the first class an error is an instance of decides its status.
STATUS: list[tuple[type[Exception], int]] = [
    (TooManyFailedLogins, 429),
    (AuthenticationFailed, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (Conflict, 409),
    (PayloadTooLarge, 413),
    (ImageTooLarge, 413),
    (UnsupportedMediaType, 415),
    (ImageError, 415),
    (InvalidInput, 422),
    (SourceError, 422),
    (IzdeError, 400),
]


def status_of(e: Exception) -> int:
    return next((code for cls, code in STATUS if isinstance(e, cls)), 500)


def error_response(status: int, message: str, hint: str | None = None) -> JSONResponse:
    # Most messages come from IzdeError, already redacted; this also covers framework and HTTP errors.
    return JSONResponse({"error": redact(message), "hint": redact(hint) if hint else hint}, status_code=status)


def _is_page(request: Request) -> bool:
    """A console page (not the API, not a script): unauthenticated visitors are sent to the login page."""
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


PageError = Callable[[Request, IzdeError], Response]


async def _izde_error(request: Request, e: Exception) -> Response:
    assert isinstance(e, IzdeError)
    status = status_of(e)
    if _is_page(request):
        if status == 401:
            return RedirectResponse("/login?next=" + quote(request.url.path), status_code=303)
        page_error: PageError | None = getattr(request.app.state, "page_error", None)
        if page_error is not None:
            return page_error(request, e)
    response = error_response(status, e.message, e.hint)
    if isinstance(e, TooManyFailedLogins):
        response.headers["Retry-After"] = str(e.retry_after)
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


async def _validation_error(request: Request, e: Exception) -> Response:
    assert isinstance(e, RequestValidationError)
    errors = e.errors()
    if any(err.get("type") == "json_invalid" for err in errors):
        return error_response(400, "the request body is not valid JSON", "send a JSON object")
    parts = [f"{'.'.join(str(x) for x in err.get('loc', ()))}: {err.get('msg', 'invalid')}" for err in errors[:10]]
    return error_response(422, "invalid request: " + "; ".join(parts), "see the schema at /docs")


async def _http_error(request: Request, e: Exception) -> Response:
    assert isinstance(e, StarletteHTTPException)
    response = error_response(e.status_code, str(e.detail))
    for k, v in (e.headers or {}).items():
        response.headers[k] = v
    return response


async def _unexpected(request: Request, e: Exception) -> Response:
    log.exception("unexpected error in %s %s", request.method, request.url.path)
    return error_response(500, "internal error", "the server log has the details")


def install(app: FastAPI, page_error: PageError | None = None) -> None:
    """JSON errors for the API; for console pages, ``page_error`` renders them (and 401 goes to the login page)."""
    app.state.page_error = page_error
    app.add_exception_handler(IzdeError, _izde_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
