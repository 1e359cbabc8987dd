"""Faces and tracks seen per camera per hour: aggregate counts, no trace of who was seen."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from izde.errors import InvalidInput
from izde.store.models import FaceCount
from izde.store.scope import require_organisation


def hour_of(t: datetime) -> datetime:
    """The UTC hour containing ``t``."""
    if t.tzinfo is None:
        raise ValueError("face counts need a timezone-aware time")
    return t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def add_face_counts(session: Session, camera: str, at: datetime, *, faces: int, tracks: int) -> None:
    """Add to the (camera, hour of ``at``) counter, creating it if needed."""
    if faces < 0 or tracks < 0:
        raise InvalidInput("face and track counts cannot be negative")
    hour = hour_of(at)
    org = require_organisation(session)
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        # One atomic statement: two processes counting for the same camera and hour cannot collide.
        insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        stmt = insert(FaceCount).values(organisation_id=org, camera=camera, hour=hour, faces=faces, tracks=tracks)
        stmt = stmt.on_conflict_do_update(
            index_elements=[FaceCount.organisation_id, FaceCount.camera, FaceCount.hour],
            set_={
                "faces": FaceCount.faces + stmt.excluded.faces,
                "tracks": FaceCount.tracks + stmt.excluded.tracks,
            },
        )
        session.execute(stmt)
    else:
        add_face_counts_generic(session, camera, hour, faces=faces, tracks=tracks)


def add_face_counts_generic(session: Session, camera: str, hour: datetime, *, faces: int, tracks: int) -> None:
    """Update-then-insert, for databases without ON CONFLICT; safe within one transaction."""
    require_organisation(session)  # the update is scoped to it; the new row is stamped with it
    result = session.execute(
        update(FaceCount)
        .where(FaceCount.camera == camera, FaceCount.hour == hour)
        .values(faces=FaceCount.faces + faces, tracks=FaceCount.tracks + tracks)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) == 0:
        session.add(FaceCount(camera=camera, hour=hour, faces=faces, tracks=tracks))
        session.flush()


def list_face_counts(
    session: Session,
    *,
    camera: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[FaceCount]:
    """Oldest hour first; ``since``/``until`` bound the hour (since <= hour < until)."""
    query = select(FaceCount).order_by(FaceCount.hour, FaceCount.camera)
    if camera is not None:
        query = query.where(FaceCount.camera == camera)
    if since is not None:
        query = query.where(FaceCount.hour >= since)
    if until is not None:
        query = query.where(FaceCount.hour < until)
    return list(session.scalars(query))
