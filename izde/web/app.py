"""The FastAPI application: ``create_app(settings)`` builds it; nothing happens at import time."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from izde.api import Izde
from izde.config import Settings
from izde.web import (
    auth,
    console,
    errors,
    routes_alerts,
    routes_authorisations,
    routes_cameras,
    routes_governance,
    routes_persons,
    routes_users,
)
from izde.web.deps import WebState
from izde.web.hardening import SecurityHeaders, install_docs
from izde.web.sessions import SessionManager
from izde.web.uploads import MAX_PHOTOS, BodyLimit
from izde.web.webhooks import Dispatcher

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"

# Routers whose routes need no login. Everything else is behind the authenticated service dependency.
PUBLIC_PATHS = frozenset({"/api/v1/auth/login", "/api/v1/health", "/login", "/docs", "/openapi.json", "/static"})


def create_app(settings: Settings, *, start_workers: bool = True) -> FastAPI:
    """The app over the data directory of ``settings``: it opens (and migrates) the database, checks the audit
    key and webhook secrets, and starts the webhook dispatcher; shutting down stops sessions and dispatcher."""
    root = Izde(settings)
    root.db  # noqa: B018  (open and migrate now: a broken database should stop the server at start)
    root.audit_key  # noqa: B018
    swept_runs, swept_uploads = root.sweep_leftovers()  # a previous server on this host may have been killed
    if swept_runs or swept_uploads:
        log.warning("marked %d stale run(s) failed, removed %d staged upload(s)", swept_runs, swept_uploads)
    dispatcher = Dispatcher(root.db, settings.web) if settings.web.webhooks else None
    state = WebState(
        settings=settings,
        root=root,
        csrf_secret=secrets.token_bytes(32),
        sessions=SessionManager(),
        dispatcher=dispatcher,
    )
    state.sessions.state = state

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if dispatcher is not None and start_workers:
            dispatcher.start()
        try:
            yield
        finally:
            state.stopping.set()
            state.sessions.shutdown()
            if dispatcher is not None:
                dispatcher.stop()
            root.close()

    app = FastAPI(
        title="izde",
        version="1",
        summary="Targeted search for wanted and missing persons, with safeguards in the data path.",
        description=(
            "Every route except login and health needs a bearer token (from /api/v1/auth/login) or the console's "
            "session cookie, and goes through the same permission check as the command line. A match is a "
            "candidate for human review, never an identification."
        ),
        lifespan=lifespan,
        redoc_url=None,
        docs_url=None,  # served by install_docs from the installed package, never a CDN
    )
    app.state.izde = state
    errors.install(app, console.error_page)
    # Photos of up to MAX_PHOTOS uploads plus form fields; anything larger is refused while it arrives.
    app.add_middleware(BodyLimit, limit=settings.web.max_upload_bytes * MAX_PHOTOS + 64 * 1024)
    # HSTS only with secure cookies: they mean the console is reached over HTTPS.
    app.add_middleware(SecurityHeaders, hsts=settings.web.secure_cookies)
    install_docs(app)

    @app.get("/api/v1/health", tags=["health"])
    def health() -> dict[str, str]:
        """Liveness for load balancers; says nothing about data."""
        return {"status": "ok"}

    app.include_router(auth.public)
    app.include_router(auth.router)
    for module in (
        routes_persons,
        routes_authorisations,
        routes_cameras,
        routes_alerts,
        routes_governance,
        routes_users,
    ):
        app.include_router(module.router)
    app.include_router(console.public)
    app.include_router(console.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
