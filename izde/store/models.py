"""Database rows. These never leave izde as they are: commands and APIs map them to their own views.

Only watchlist data, alerts about watchlisted persons and aggregate counters are stored. There is
deliberately no table that could hold a face of someone who matched nobody.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import (
    Date,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from izde.store.sqltypes import UtcDateTime

# Explicit constraint names keep migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Person(Base):
    __tablename__ = "persons"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    display_name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(20))
    legal_basis: Mapped[str] = mapped_column(String(500))
    issuing_authority: Mapped[str] = mapped_column(String(200))
    expires_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    photos: Mapped[list[ReferencePhoto]] = relationship(
        back_populates="person",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ReferencePhoto.created_at",
    )


class ReferencePhoto(Base):
    __tablename__ = "reference_photos"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    file_name: Mapped[str] = mapped_column(String(200))  # relative to the data directory
    sha256: Mapped[str] = mapped_column(String(64))
    provenance: Mapped[str] = mapped_column(String(40))
    capture_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    face_left: Mapped[int] = mapped_column(Integer)
    face_top: Mapped[int] = mapped_column(Integer)
    face_right: Mapped[int] = mapped_column(Integer)
    face_bottom: Mapped[int] = mapped_column(Integer)
    quality: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    person: Mapped[Person] = relationship(back_populates="photos")
    templates: Mapped[list[Template]] = relationship(
        back_populates="photo", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (UniqueConstraint("person_id", "sha256", name="uq_reference_photos_person_sha256"),)


class Template(Base):
    """A 128-d descriptor of one reference photo, for one embedding model."""

    __tablename__ = "templates"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    photo_id: Mapped[str] = mapped_column(ForeignKey("reference_photos.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    model: Mapped[str] = mapped_column(String(40))
    descriptor: Mapped[bytes] = mapped_column(LargeBinary)  # float32 little-endian, 128 values

    photo: Mapped[ReferencePhoto] = relationship(back_populates="templates")


class WatchRun(Base):
    """One run of ``izde watch`` over one source on one camera, with aggregate counters only."""

    __tablename__ = "watch_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    camera: Mapped[str] = mapped_column(String(100), index=True)
    source: Mapped[str] = mapped_column(Text)
    source_kind: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running, completed, failed, stopped
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    threshold: Mapped[float] = mapped_column(Float)
    watchlist_hash: Mapped[str] = mapped_column(String(64))
    watchlist_size: Mapped[int] = mapped_column(Integer)
    frames_read: Mapped[int] = mapped_column(Integer, default=0)
    frames_analysed: Mapped[int] = mapped_column(Integer, default=0)
    frames_dropped: Mapped[int] = mapped_column(Integer, default=0)
    faces_seen: Mapped[int] = mapped_column(Integer, default=0)
    tracks_seen: Mapped[int] = mapped_column(Integer, default=0)
    alerts_raised: Mapped[int] = mapped_column(Integer, default=0)


class Alert(Base):
    __tablename__ = "alerts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    run_id: Mapped[str] = mapped_column(ForeignKey("watch_runs.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    camera: Mapped[str] = mapped_column(String(100), index=True)
    track_id: Mapped[int] = mapped_column(Integer)
    # Indexed because alerts are listed newest first and filtered by time.
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    frame_time: Mapped[datetime] = mapped_column(UtcDateTime())
    position_s: Mapped[float] = mapped_column(Float)
    distance: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    quality: Mapped[float] = mapped_column(Float)
    evidence_file: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)


class FaceCount(Base):
    """Faces and tracks seen per camera per hour: the only trace left by people who match nobody."""

    __tablename__ = "face_counts"

    camera: Mapped[str] = mapped_column(String(100), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    faces: Mapped[int] = mapped_column(Integer, default=0)
    tracks: Mapped[int] = mapped_column(Integer, default=0)
