"""Initial schema: watchlist persons, reference photos, templates, watch runs, alerts, face counts.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Written against izde.store.models but self-contained (plain SQLAlchemy types, explicit constraint
names) so that later model changes never alter what this revision creates. Only portable DDL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "persons",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("legal_basis", sa.String(500), nullable=False),
        sa.Column("issuing_authority", sa.String(200), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_persons"),
    )
    op.create_table(
        "reference_photos",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("person_id", sa.String(32), nullable=False),
        sa.Column("file_name", sa.String(200), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("provenance", sa.String(40), nullable=False),
        sa.Column("capture_date", sa.Date(), nullable=True),
        sa.Column("face_left", sa.Integer(), nullable=False),
        sa.Column("face_top", sa.Integer(), nullable=False),
        sa.Column("face_right", sa.Integer(), nullable=False),
        sa.Column("face_bottom", sa.Integer(), nullable=False),
        sa.Column("quality", sa.Float(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reference_photos"),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name="fk_reference_photos_person_id_persons", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("person_id", "sha256", name="uq_reference_photos_person_sha256"),
    )
    op.create_index("ix_reference_photos_person_id", "reference_photos", ["person_id"])
    op.create_table(
        "templates",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("photo_id", sa.String(32), nullable=False),
        sa.Column("person_id", sa.String(32), nullable=False),
        sa.Column("model", sa.String(40), nullable=False),
        sa.Column("descriptor", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_templates"),
        sa.ForeignKeyConstraint(
            ["photo_id"],
            ["reference_photos.id"],
            name="fk_templates_photo_id_reference_photos",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name="fk_templates_person_id_persons", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_templates_photo_id", "templates", ["photo_id"])
    op.create_index("ix_templates_person_id", "templates", ["person_id"])
    op.create_table(
        "watch_runs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("camera", sa.String(100), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_kind", sa.String(20), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("ended_at", _TS, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("watchlist_hash", sa.String(64), nullable=False),
        sa.Column("watchlist_size", sa.Integer(), nullable=False),
        sa.Column("frames_read", sa.Integer(), nullable=False),
        sa.Column("frames_analysed", sa.Integer(), nullable=False),
        sa.Column("frames_dropped", sa.Integer(), nullable=False),
        sa.Column("faces_seen", sa.Integer(), nullable=False),
        sa.Column("tracks_seen", sa.Integer(), nullable=False),
        sa.Column("alerts_raised", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_watch_runs"),
    )
    op.create_index("ix_watch_runs_camera", "watch_runs", ["camera"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("person_id", sa.String(32), nullable=False),
        sa.Column("camera", sa.String(100), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("frame_time", _TS, nullable=False),
        sa.Column("position_s", sa.Float(), nullable=False),
        sa.Column("distance", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("quality", sa.Float(), nullable=False),
        sa.Column("evidence_file", sa.String(200), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.ForeignKeyConstraint(["run_id"], ["watch_runs.id"], name="fk_alerts_run_id_watch_runs", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name="fk_alerts_person_id_persons", ondelete="CASCADE"),
    )
    op.create_index("ix_alerts_run_id", "alerts", ["run_id"])
    op.create_index("ix_alerts_person_id", "alerts", ["person_id"])
    op.create_index("ix_alerts_camera", "alerts", ["camera"])
    op.create_index("ix_alerts_created_at", "alerts", ["created_at"])
    op.create_index("ix_alerts_status", "alerts", ["status"])
    op.create_table(
        "face_counts",
        sa.Column("camera", sa.String(100), nullable=False),
        sa.Column("hour", _TS, nullable=False),
        sa.Column("faces", sa.Integer(), nullable=False),
        sa.Column("tracks", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("camera", "hour", name="pk_face_counts"),
    )


def downgrade() -> None:
    # Children first; dropping a table drops its indexes on both SQLite and PostgreSQL.
    for table in ("face_counts", "alerts", "watch_runs", "templates", "reference_photos", "persons"):
        op.drop_table(table)
