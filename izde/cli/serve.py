"""``izde serve``: the REST API, live alerts, webhooks and the review console."""

from __future__ import annotations

import typer

from izde.cli.common import err_console, settings, user_errors


def serve(
    ctx: typer.Context,
    host: str | None = typer.Option(None, help="Address to listen on (default: web.host)."),
    port: int | None = typer.Option(None, min=1, max=65535, help="Port (default: web.port)."),
) -> None:
    """Serve the API (OpenAPI at /docs) and the review console until interrupted.

    Watch sessions started through the API run as workers of this process; stopping the server stops them
    (each records its run as stopped)."""
    import uvicorn

    from izde.web.app import create_app
    from izde.web.hardening import server_options

    with user_errors():
        s = settings(ctx)
        app = create_app(s)
    bind_host, bind_port = host or s.web.host, port or s.web.port
    err_console.print(f"izde serving {s.home} at http://{bind_host}:{bind_port} (API docs at /docs)")
    uvicorn.run(app, host=bind_host, port=bind_port, log_level="info", **server_options(s))
