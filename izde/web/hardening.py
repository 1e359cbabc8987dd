"""HTTP hardening: security headers on every response, the API docs served from the installed package, and
which peers may set X-Forwarded-For."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from izde.config import Settings

SWAGGER_PREFIX = "/static/swagger"
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'{style}; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI sets style attributes from its scripts; only its page allows inline styles (never inline scripts).
CSP = _CSP.format(style="")
DOCS_CSP = _CSP.format(style=" 'unsafe-inline'")
HSTS = "max-age=31536000; includeSubDomains"


class SecurityHeaders:
    """Adds the headers to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp, hsts: bool) -> None:
        self.app, self.hsts = app, hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope.get("path", "") == "/docs"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                extra = [
                    (b"content-security-policy", (DOCS_CSP if docs else CSP).encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                if self.hsts:
                    extra.append((b"strict-transport-security", HSTS.encode()))
                headers += [(k, v) for k, v in extra if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def install_docs(app: FastAPI) -> None:
    """``/docs`` from swagger-ui-bundle's files, so the docs page loads nothing from outside the server."""
    app.mount(SWAGGER_PREFIX, StaticFiles(directory=Path(swagger_ui_bundle.swagger_ui_path)), name="swagger")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(
            "<!doctype html><html><head><meta charset='utf-8'><title>izde API</title>"
            f"<link rel='stylesheet' href='{SWAGGER_PREFIX}/swagger-ui.css'></head><body>"
            "<div id='swagger-ui'></div>"
            f"<script src='{SWAGGER_PREFIX}/swagger-ui-bundle.js'></script>"
            "<script src='/static/swagger-init.js'></script></body></html>"
        )


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn options: X-Forwarded-For is honoured only from ``web.trusted_proxies``; from anyone else it
    would let a client pick the address the login limit counts."""
    proxies = settings.web.trusted_proxies
    return {
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": list(proxies) if proxies else [],
        "server_header": False,
    }
