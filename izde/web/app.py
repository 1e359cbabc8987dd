"""The FastAPI application: ``create_app(settings)`` builds it; nothing happens at import time."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.staticfiles import StaticFiles

from izde.api import Izde
from izde.archive.threads import SearchThreads
from izde.config import Settings
from izde.governance.roles import Actor
from izde.runner.base import SessionRunner
from izde.runner.inprocess import InProcessRunner, ServiceFactory
from izde.web import (
    auth,
    console,
    errors,
    routes_alerts,
    routes_authorisations,
    routes_cameras,
    routes_governance,
    routes_persons,
    routes_searches,
    routes_users,
)
from izde.web.deps import WebState
from izde.web.hardening import SecurityHeaders, install_docs
from izde.web.uploads import MAX_PHOTOS, BodyLimit
from izde.web.webhooks import Dispatcher

if TYPE_CHECKING:
    from izde.fleet.server import FleetServer

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"

# Routers whose routes need no login. Everything else is behind the authenticated service dependency.
PUBLIC_PATHS = frozenset(
    {"/api/v1/auth/login", "/api/v1/health", "/metrics", "/login", "/docs", "/openapi.json", "/static"}
)


def session_runner(root: Izde, services: ServiceFactory) -> tuple[SessionRunner, FleetServer | None]:
    """Threads of this process, or with ``broker.url`` set the fleet's workers (connected now, so that a
    broker that cannot be reached stops the server at start), with the fleet connection searches use too."""
    settings = root.settings
    if settings.broker.url:
        from izde.fleet.runner import FleetRunner  # the NATS client is needed only for a fleet
        from izde.fleet.server import FleetServer as Server

        server = Server(root)
        server.start()
        return FleetRunner(server), server
    return InProcessRunner(services, settings.web.max_sessions), None


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
    state: WebState

    def services(actor: Actor, session_settings: Settings) -> Izde:
        return state.service(actor, session_settings)

    runner, fleet = session_runner(root, services)
    state = WebState(
        settings=settings,
        root=root,
        csrf_secret=secrets.token_bytes(32),
        sessions=runner,
        dispatcher=dispatcher,
    )

    searches = SearchThreads(lambda actor: state.service(actor), fleet)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if dispatcher is not None and start_workers:
            dispatcher.start()
        try:
            yield
        finally:
            state.stopping.set()
            state.sessions.shutdown()
            searches.shutdown()
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
    app.state.searches = searches
    errors.install(app, console.error_page)
    # Photos of up to MAX_PHOTOS uploads plus form fields; anything larger is refused while it arrives.
    app.add_middleware(BodyLimit, limit=settings.web.max_upload_bytes * MAX_PHOTOS + 64 * 1024)
    # HSTS only with secure cookies: they mean the console is reached over HTTPS.
    app.add_middleware(SecurityHeaders, hsts=settings.web.secure_cookies)
    install_docs(app)

    @app.get("/metrics", tags=["health"], response_class=PlainTextResponse)
    def metrics_endpoint() -> PlainTextResponse:
        """Prometheus metrics: sessions, frames, alert latency, broker reconnects. Counts and times only, no
        personal data (so no login); keep the port internal all the same."""
        from izde.fleet import metrics

        metrics.SESSIONS.set(sum(s.status in ("running", "queued") for s in state.sessions.all()))
        return PlainTextResponse(metrics.exposition().decode(), media_type="text/plain; version=0.0.4")

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
        routes_searches,
    ):
        app.include_router(module.router)
    app.include_router(console.public)
    app.include_router(console.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
