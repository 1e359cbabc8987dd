"""Alerts: list with filters, one alert with its reviews, the evidence image, reviews, and the live feed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from izde.governance.roles import Role
from izde.web.deps import Service, State
from izde.web.schemas import AlertDetailOut, AlertOut, ReviewIn, ReviewOut
from izde.web.sse import alert_events, parse_last_event_id

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])

AlertStatus = Literal["pending", "confirmed", "rejected", "confirmed_true", "confirmed_false"]


@router.get("", response_model=list[AlertOut])
def list_alerts(
    service: Service,
    camera: str | None = None,
    person: str | None = None,
    status: AlertStatus | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[AlertOut]:
    """Alerts newest first, filtered by camera, person id, status and the time they were raised."""
    since, until = (t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t for t in (since, until))
    rows = service.alerts(
        camera=camera, person=person, status=status, since=since, until=until, limit=max(1, min(limit, 1000))
    )
    return [AlertOut.of(a) for a in rows]


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "alert events"}},
)
async def stream(request: Request, service: Service, state: State) -> StreamingResponse:
    """New alerts as Server-Sent Events (event 'alert', data: the alert as JSON, id: its feed position)."""
    after = parse_last_event_id(request.headers.get("last-event-id"))
    if after is None:
        after = await run_in_threadpool(service.alert_feed_position)  # also the permission check
    else:
        await run_in_threadpool(service.alert_feed, after)  # the permission check, before the stream opens
    return StreamingResponse(
        alert_events(request, state, service, after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/{alert_id}", response_model=AlertDetailOut)
def show_alert(alert_id: str, service: Service) -> AlertDetailOut:
    """One alert and its reviews; operators also get the evidence link (the view is audited)."""
    view = service.alert(alert_id)
    assert service.actor is not None
    reviews = [ReviewOut(user_id=u, decision=d, at=at, note=n) for u, d, at, n in service.reviews(view.id)]
    base = AlertOut.of(view, evidence=Role.OPERATOR in service.actor.roles)
    return AlertDetailOut(**base.model_dump(), reviews=reviews)


@router.get(
    "/{alert_id}/evidence",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "The evidence crop"}},
)
def evidence(alert_id: str, service: Service) -> Response:
    """The evidence image (roles allowed to see evidence; every view audited)."""
    _, data = service.evidence(alert_id)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.post("/{alert_id}/review", response_model=AlertOut)
def review(alert_id: str, body: ReviewIn, service: Service) -> AlertOut:
    """Confirm or reject a pending alert (two different operators must confirm), or record the outcome."""
    view = service.review(alert_id, body.decision, body.note)
    return AlertOut.of(view, evidence=True)
