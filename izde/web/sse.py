"""The live alert feed as Server-Sent Events.

The feed polls the database rather than listening inside this process, so alerts raised by any process
(a worker of this server, ``izde watch`` on the command line) reach every console.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from izde.governance.roles import PermissionDenied
from izde.governance.users import AuthenticationFailed
from izde.web.deps import RequestIzde, WebState
from izde.web.schemas import AlertOut

POLL_S = 1.0
KEEPALIVE_S = 15.0  # a comment line now and then keeps proxies from closing an idle stream


def parse_last_event_id(value: str | None) -> int | None:
    """Event ids are the alert's feed position, so a reconnecting browser resumes where it left off. Anything
    else (an id from an older server) starts the feed from now."""
    if not value or not value.strip().isdigit():
        return None
    return int(value.strip())


def event(name: str, data: str, event_id: str | None = None) -> str:
    lines = [f"event: {name}"]
    if event_id:
        lines.append(f"id: {event_id}")
    lines += [f"data: {line}" for line in data.splitlines() or [""]]
    return "\n".join(lines) + "\n\n"


async def alert_events(request: Request, state: WebState, service: RequestIzde, after: int) -> AsyncIterator[str]:
    yield "retry: 3000\n\n"
    last_sent = time.monotonic()
    while not state.stopping.is_set():
        if await request.is_disconnected():
            return
        try:
            # The service re-reads its token every few seconds (Core.require), so a logged-out, disabled or
            # expired user, or one whose role was taken away, is refused here within seconds.
            alerts = await run_in_threadpool(service.alert_feed, after)
        except (AuthenticationFailed, PermissionDenied) as e:
            # Say why and close the stream cleanly: an exception here would leave the response half-sent and
            # the connection open.
            yield json_event("end", {"reason": str(e)})
            return
        for alert in alerts:
            after = alert.seq if alert.seq is not None else after
            payload = AlertOut.of(alert).model_dump_json()
            yield event("alert", payload, str(after))
            last_sent = time.monotonic()
        if time.monotonic() - last_sent > KEEPALIVE_S:
            yield ": keepalive\n\n"
            last_sent = time.monotonic()
        await asyncio.sleep(POLL_S)


def json_event(name: str, value: object) -> str:
    return event(name, json.dumps(value))
