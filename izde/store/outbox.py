"""The webhook outbox: notifications written with the alert, delivered (and retried) by the server."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from izde.store.models import Alert, WebhookDelivery, utcnow

ALERT_RAISED = "alert.raised"


def alert_payload(alert: Alert, public_url: str) -> dict[str, object]:
    """What a receiver learns about an alert: identifiers, scores and a link. No image, no descriptor, no name."""
    return {
        "event": ALERT_RAISED,
        "alert_id": alert.id,
        "camera": alert.camera,
        "person_id": alert.person_id,
        "time": alert.frame_time.isoformat(),
        "raised_at": alert.created_at.isoformat(),
        "distance": round(alert.distance, 4),
        "threshold": alert.threshold,
        "candidate_only": True,
        "link": f"{public_url.rstrip('/')}/alerts/{alert.id}",
    }


def enqueue_alert(session: Session, alert: Alert, urls: Sequence[str], public_url: str) -> int:
    """One outbox row per receiver, in the caller's transaction."""
    body = json.dumps(alert_payload(alert, public_url), sort_keys=True, separators=(",", ":"))
    now = utcnow()
    session.add_all(
        WebhookDelivery(
            alert_id=alert.id,
            url=url,
            event=ALERT_RAISED,
            payload=body,
            created_at=now,
            attempts=0,
            next_attempt_at=now,
        )
        for url in urls
    )
    session.flush()
    return len(urls)


def due(session: Session, now: datetime, limit: int = 50) -> list[WebhookDelivery]:
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.delivered_at.is_(None), WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def next_due(session: Session) -> datetime | None:
    query = select(WebhookDelivery.next_attempt_at).where(WebhookDelivery.delivered_at.is_(None))
    return session.scalar(query.order_by(WebhookDelivery.next_attempt_at).limit(1))


def backoff(attempts: int, first_s: float, max_s: float) -> timedelta:
    """Delay before the next try after ``attempts`` failures: first_s, 2*first_s, 4*first_s ... at most max_s."""
    return timedelta(seconds=min(max_s, first_s * 2 ** max(0, attempts - 1)))


def claim(session: Session, delivery_id: str, now: datetime, lease: timedelta) -> bool:
    """Take a due row for ``lease`` by moving its next attempt past now; False when another process has it.

    The check and the write are one UPDATE, so of several dispatchers exactly one wins: SQLite runs writers one
    at a time, and PostgreSQL re-checks the WHERE on the row a concurrent claim has just committed."""
    result = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.delivered_at.is_(None),
            WebhookDelivery.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + lease)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


def mark_delivered(session: Session, delivery_id: str, now: datetime) -> None:
    row = session.get(WebhookDelivery, delivery_id)
    if row is not None:  # the alert (and with it the row) may have been deleted meanwhile
        row.attempts += 1
        row.delivered_at, row.last_error = now, None


def mark_failed(session: Session, delivery_id: str, now: datetime, error: str, first_s: float, max_s: float) -> None:
    row = session.get(WebhookDelivery, delivery_id)
    if row is not None:
        row.attempts += 1
        row.last_error = error[:500]
        row.next_attempt_at = now + backoff(row.attempts, first_s, max_s)
