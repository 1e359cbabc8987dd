"""Retrospective searches of recorded footage and their chunks of work; where each camera is, for their map.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.String(32)
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("cameras") as batch:
        batch.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch.add_column(sa.Column("longitude", sa.Float(), nullable=True))
    op.create_table(
        "archive_searches",
        sa.Column("id", _ID, nullable=False),
        sa.Column("organisation_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name="fk_archive_searches_organisation_id_organisations",
            ondelete="RESTRICT",
        ),
        sa.Column("case_ref", sa.String(200), nullable=False),
        sa.Column("authorisation_id", _ID, nullable=False),
        sa.Column("started_by", _ID, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("stop_reason", sa.Text(), nullable=True),
        sa.Column("persons", sa.Text(), nullable=False),
        sa.Column("analysis_fps", sa.Float(), nullable=False),
        sa.Column("footage_from", _TS, nullable=False),
        sa.Column("footage_to", _TS, nullable=False),
        sa.Column("footage_s", sa.Float(), nullable=False),
        sa.Column("recordings", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["authorisation_id"],
            ["authorisations.id"],
            name="fk_archive_searches_authorisation_id_authorisations",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_archive_searches"),
    )
    op.create_index("ix_archive_searches_authorisation_id", "archive_searches", ["authorisation_id"])
    op.create_index("ix_archive_searches_organisation_id", "archive_searches", ["organisation_id"])
    op.create_table(
        "archive_chunks",
        sa.Column("id", _ID, nullable=False),
        sa.Column("organisation_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name="fk_archive_chunks_organisation_id_organisations",
            ondelete="RESTRICT",
        ),
        sa.Column("search_id", _ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("camera", sa.String(100), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("recording_start", _TS, nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("end_s", sa.Float(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(100), nullable=True),
        sa.Column("claimed_at", _TS, nullable=True),
        sa.Column("finished_at", _TS, nullable=True),
        sa.Column("run_id", _ID, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["search_id"],
            ["archive_searches.id"],
            name="fk_archive_chunks_search_id_archive_searches",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["watch_runs.id"], name="fk_archive_chunks_run_id_watch_runs", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", "search_id", name="pk_archive_chunks"),
    )

    op.create_index("ix_archive_chunks_organisation_id", "archive_chunks", ["organisation_id"])


def downgrade() -> None:
    op.drop_index("ix_archive_chunks_organisation_id", table_name="archive_chunks")
    op.drop_table("archive_chunks")
    op.drop_index("ix_archive_searches_organisation_id", table_name="archive_searches")
    op.drop_index("ix_archive_searches_authorisation_id", table_name="archive_searches")
    op.drop_table("archive_searches")
    with op.batch_alter_table("cameras") as batch:
        batch.drop_column("longitude")
        batch.drop_column("latitude")
