"""Alerts: a watchlisted person recognised on a camera, with one evidence image."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from izde.errors import InvalidInput
from izde.store.files import Stage, evidence_path
from izde.store.lookup import by_id_or_prefix, not_found
from izde.store.models import Alert, Person, WatchRun, new_id, utcnow

_JPEG_MAGIC = b"\xff\xd8\xff"


class AlertStatus(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


def describe(alert: Alert) -> str:
    return f"{alert.id} {alert.camera} {alert.created_at.isoformat(timespec='seconds')} person {alert.person_id}"


def lock_alert(session: Session, alert_id: str) -> Alert:
    """The alert, re-read and row-locked (SELECT ... FOR UPDATE on PostgreSQL) for the rest of the transaction."""
    q = select(Alert).where(Alert.id == alert_id).with_for_update().execution_options(populate_existing=True)
    return session.execute(q).scalar_one()


def add_alert(
    session: Session,
    stage: Stage,
    *,
    run_id: str,
    person_id: str,
    track_id: int,
    frame_time: datetime,
    position_s: float,
    distance: float,
    threshold: float,
    quality: float,
    evidence_jpeg: bytes | None,
    seen: tuple[datetime, datetime] | None = None,
) -> Alert:
    """A pending alert on the run's camera; the evidence JPEG is staged and put in place on commit."""
    run = session.get(WatchRun, run_id)
    if run is None:
        raise not_found("watch run", run_id)
    if session.get(Person, person_id) is None:
        raise not_found("person", person_id)
    if evidence_jpeg is not None and not evidence_jpeg.startswith(_JPEG_MAGIC):
        raise InvalidInput("evidence must be a JPEG image")
    alert_id = new_id()
    rel = evidence_path(run.id, alert_id) if evidence_jpeg is not None else None
    alert = Alert(
        id=alert_id,
        run_id=run.id,
        person_id=person_id,
        camera=run.camera,
        track_id=track_id,
        created_at=utcnow(),
        frame_time=frame_time,
        position_s=position_s,
        seen_from=seen[0] if seen else None,
        seen_to=seen[1] if seen else None,
        distance=distance,
        threshold=threshold,
        quality=quality,
        evidence_file=rel,
        status=AlertStatus.PENDING.value,
    )
    session.add(alert)
    session.flush()
    if rel is not None and evidence_jpeg is not None:
        stage.put(rel, evidence_jpeg)
    return alert


def get_alert(session: Session, ref: str) -> Alert:
    """By id or unique id prefix (at least 6 characters)."""
    alert = by_id_or_prefix(session, Alert, Alert.id, ref, what="alert", describe=describe)
    if alert is None:
        raise not_found("alert", ref)
    return alert


def list_alerts(
    session: Session,
    *,
    camera: str | None = None,
    person_id: str | None = None,
    status: AlertStatus | str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = 100,
) -> list[Alert]:
    """Newest first; ``since``/``until`` bound the time the alert was raised (since <= t < until)."""
    query = select(Alert).order_by(Alert.created_at.desc(), Alert.id)
    if camera is not None:
        query = query.where(Alert.camera == camera)
    if person_id is not None:
        query = query.where(Alert.person_id == person_id)
    if status is not None:
        query = query.where(Alert.status == str(status))
    if since is not None:
        query = query.where(Alert.created_at >= since)
    if until is not None:
        query = query.where(Alert.created_at < until)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))
