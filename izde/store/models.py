"""Database rows. These never leave izde as they are: commands and APIs map them to their own views.

Only watchlist data, alerts about watchlisted persons and aggregate counters are stored. There is
deliberately no table that could hold a face of someone who matched nobody.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
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


class Owned:
    """A row that belongs to one organisation. Sessions opened for an organisation see and write only its rows
    (:mod:`izde.store.scope`), so no query can forget the filter."""

    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="RESTRICT"), index=True)


class Person(Owned, Base):
    __tablename__ = "persons"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    display_name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(20))
    legal_basis: Mapped[str] = mapped_column(String(500))
    issuing_authority: Mapped[str] = mapped_column(String(200))
    expires_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="active")  # proposed, active, rejected
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    proposed_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    approved_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)

    photos: Mapped[list[ReferencePhoto]] = relationship(
        back_populates="person",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ReferencePhoto.created_at",
    )


class ReferencePhoto(Owned, Base):
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


class Template(Owned, Base):
    """One network's descriptor of one reference photo (dlib's 128 values, FaceRes's 1024): a photo has at most
    one template per model, and one for each network that ``vision.descriptors`` fuses."""

    __tablename__ = "templates"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    photo_id: Mapped[str] = mapped_column(ForeignKey("reference_photos.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    model: Mapped[str] = mapped_column(String(40))
    descriptor: Mapped[bytes] = mapped_column(LargeBinary)  # float32 little-endian, the model's dimension

    photo: Mapped[ReferencePhoto] = relationship(back_populates="templates")

    __table_args__ = (UniqueConstraint("photo_id", "model", name="uq_templates_photo_model"),)


class WatchRun(Owned, Base):
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
    authorisation_id: Mapped[str | None] = mapped_column(
        ForeignKey("authorisations.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    started_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    recorded_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)  # files: recording start
    stop_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # host:pid of the process reading it: a later start on that host can tell a run whose process was killed.
    runner: Mapped[str | None] = mapped_column(String(120), nullable=True)


class Alert(Owned, Base):
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
    # When the matched track was seen: its first frame and the frame it matched in (None for older alerts).
    seen_from: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    seen_to: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    distance: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    quality: Mapped[float] = mapped_column(Float)
    evidence_file: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    # The seq of the alert's ``alert.raised`` audit entry. Audit entries commit in seq order (the chain is
    # appended under one lock), so the live feed pages by it without missing an alert committed late.
    seq: Mapped[int | None] = mapped_column(Integer, nullable=True, unique=True, index=True)

    # One alert per person per track of a run: a recorder that sees the same event twice stores it once.
    __table_args__ = (UniqueConstraint("run_id", "track_id", "person_id", name="uq_alerts_run_track_person"),)


class FaceCount(Owned, Base):
    """Faces and tracks seen per camera per hour: the only trace left by people who match nobody."""

    __tablename__ = "face_counts"

    # Part of the key: two organisations may each have a camera of the same name.
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="RESTRICT"), primary_key=True)
    camera: Mapped[str] = mapped_column(String(100), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    faces: Mapped[int] = mapped_column(Integer, default=0)
    tracks: Mapped[int] = mapped_column(Integer, default=0)


class Organisation(Base):
    """Who operates izde. Only law-enforcement authorities may run real-time identification."""

    __tablename__ = "organisations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    law_enforcement: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="RESTRICT"), index=True)
    roles: Mapped[str] = mapped_column(String(200))  # comma-separated role names
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Token(Base):
    """A login session or API token; only its SHA-256 is stored."""

    __tablename__ = "tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # session, api
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class LoginFailure(Base):
    """One failed login, counted against the user name it named from the address it came from.

    Nothing else about the attempt is kept (never the password tried). Rows older than the login window are
    deleted whenever a failure is written, and a key's rows when it logs in successfully."""

    __tablename__ = "login_failures"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(100))  # as typed, normalised; it need not be a user's
    address: Mapped[str] = mapped_column(String(64))  # the client's IP address, or "local" for the command line
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)

    __table_args__ = (Index("ix_login_failures_username_address", "username", "address"),)


class Authorisation(Owned, Base):
    """A competent authority's authorisation: the legal scope of watching (who, where, when, live/recorded)."""

    __tablename__ = "authorisations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    objective: Mapped[str] = mapped_column(String(40))
    offence_code: Mapped[str | None] = mapped_column(String(50), nullable=True)
    issuing_authority: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    covers_live: Mapped[bool] = mapped_column(Boolean)
    covers_recorded: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(20), index=True)  # requested, granted, rejected
    urgent_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    requested_by: Mapped[str] = mapped_column(String(32))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    decision_note: Mapped[str | None] = mapped_column(Text, nullable=True)


class AuthorisationPerson(Base):
    __tablename__ = "authorisation_persons"

    authorisation_id: Mapped[str] = mapped_column(ForeignKey("authorisations.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True)


class AuthorisationCamera(Base):
    __tablename__ = "authorisation_cameras"

    authorisation_id: Mapped[str] = mapped_column(ForeignKey("authorisations.id", ondelete="CASCADE"), primary_key=True)
    camera: Mapped[str] = mapped_column(String(100), primary_key=True)


class AlertReview(Owned, Base):
    """One person's decision on an alert: confirm, reject, or the outcome after engagement."""

    __tablename__ = "alert_reviews"
    # One review and one outcome per person and alert: a repeated or racing request cannot count twice.
    __table_args__ = (UniqueConstraint("alert_id", "user_id", "stage", name="uq_alert_reviews_alert_user_stage"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(String(32))
    decision: Mapped[str] = mapped_column(String(20))
    stage: Mapped[str] = mapped_column(String(10), default="review")  # review (confirm/reject) or outcome
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class AuditEntry(Base):
    """One link of the keyed hash chain. ``details`` is JSON and never holds biometric data."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60), index=True)
    subject_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    subject_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # Whose entry it is, for reading; None for deployment-level entries (initialisation, failed logins of
    # unknown names). Not Owned: the chain is appended and verified as one, across organisations.
    organisation_id: Mapped[str | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), nullable=True, index=True
    )


class AuditHead(Base):
    """The newest audit entry's seq and hash, MAC'd with the audit key and written in the entry's own transaction.

    A separate row (always id 1) so that deleting the newest ``audit_log`` rows, or all of them, leaves a head
    the shorter chain no longer reaches; new entries continue after it instead of restarting the chain."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class SettingChange(Owned, Base):
    """A proposed change of an operational setting (the match threshold); it applies once approved."""

    __tablename__ = "setting_changes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(60), index=True)
    value: Mapped[str] = mapped_column(Text)  # JSON
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # proposed, approved, rejected
    proposed_by: Mapped[str] = mapped_column(String(32))
    proposed_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class FriaRecord(Owned, Base):
    """A recorded fundamental-rights impact assessment for a deployment (an authorisation)."""

    __tablename__ = "fria_records"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    authorisation_id: Mapped[str] = mapped_column(ForeignKey("authorisations.id", ondelete="CASCADE"), index=True)
    summary: Mapped[str] = mapped_column(Text)
    document_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Camera(Owned, Base):
    """A registered camera: a name authorisations and sessions refer to, and the source it is read from.

    Registered by an administrator so that a session can only read sources someone chose to connect, never an
    arbitrary path or URL typed into a request."""

    __tablename__ = "cameras"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))  # unique within its organisation
    source: Mapped[str] = mapped_column(Text)  # file, folder, stream URL or webcam index; never shown to clients
    description: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # Where the camera is (WGS 84), for the map of a search's sightings; optional.
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)

    __table_args__ = (UniqueConstraint("organisation_id", "name", name="uq_cameras_organisation_id_name"),)


class WebhookDelivery(Base):
    """One alert notification waiting for (or done with) delivery to one webhook URL: the durable outbox.

    Written in the alert's own transaction, so an alert is never raised without its notifications. Deleted with
    the alert (retention, person removal), so nothing is sent about an alert that no longer exists."""

    __tablename__ = "webhook_outbox"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    event: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)  # JSON; never images or descriptors
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True, index=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class ArchiveSearch(Owned, Base):
    """A retrospective search of a case's recorded footage under one authorisation: what was searched, by whom,
    and how far it got. Its chunks' runs hold the counters and its alerts; nothing about anyone else is kept."""

    __tablename__ = "archive_searches"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    case_ref: Mapped[str] = mapped_column(String(200))
    authorisation_id: Mapped[str] = mapped_column(ForeignKey("authorisations.id", ondelete="RESTRICT"), index=True)
    started_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # running, stopping, stopped, completed, failed, purged
    status: Mapped[str] = mapped_column(String(20), default="running")
    stop_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    persons: Mapped[str] = mapped_column(Text)  # JSON list of person ids searched for
    analysis_fps: Mapped[float] = mapped_column(Float)
    footage_from: Mapped[datetime] = mapped_column(UtcDateTime())
    footage_to: Mapped[datetime] = mapped_column(UtcDateTime())
    footage_s: Mapped[float] = mapped_column(Float)
    recordings: Mapped[int] = mapped_column(Integer)
    refused: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of {path, reason}: files not searched


class ArchiveChunk(Owned, Base):
    """One segment of one recording: the unit of work a search worker claims, runs and marks done."""

    __tablename__ = "archive_chunks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # derived from what it covers (chunks.chunk_id)
    search_id: Mapped[str] = mapped_column(ForeignKey("archive_searches.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)  # order of work: camera, then time
    camera: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(Text)
    recording_start: Mapped[datetime] = mapped_column(UtcDateTime())
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending, running, done, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(100), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    run_id: Mapped[str | None] = mapped_column(ForeignKey("watch_runs.id", ondelete="SET NULL"), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
