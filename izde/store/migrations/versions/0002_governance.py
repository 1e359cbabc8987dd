"""Governance: organisations, users, tokens, authorisations, reviews, the audit chain, setting changes, FRIAs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)
_ID = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("law_enforcement", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_organisations"),
        sa.UniqueConstraint("name", name="uq_organisations_name"),
    )
    op.create_table(
        "users",
        sa.Column("id", _ID, nullable=False),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("organisation_id", _ID, nullable=False),
        sa.Column("roles", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name="fk_users_organisation_id_organisations",
            ondelete="RESTRICT",
        ),
    )
    op.create_index("ix_users_organisation_id", "users", ["organisation_id"])
    op.create_table(
        "tokens",
        sa.Column("id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_tokens_token_hash"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_tokens_user_id_users", ondelete="CASCADE"),
    )
    op.create_index("ix_tokens_user_id", "tokens", ["user_id"])
    op.create_table(
        "authorisations",
        sa.Column("id", _ID, nullable=False),
        sa.Column("objective", sa.String(40), nullable=False),
        sa.Column("offence_code", sa.String(50), nullable=True),
        sa.Column("issuing_authority", sa.String(200), nullable=False),
        sa.Column("reference", sa.String(200), nullable=False),
        sa.Column("starts_at", _TS, nullable=False),
        sa.Column("ends_at", _TS, nullable=False),
        sa.Column("covers_live", sa.Boolean(), nullable=False),
        sa.Column("covers_recorded", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("urgent_reason", sa.Text(), nullable=True),
        sa.Column("requested_by", _ID, nullable=False),
        sa.Column("requested_at", _TS, nullable=False),
        sa.Column("decided_by", _ID, nullable=True),
        sa.Column("decided_at", _TS, nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_authorisations"),
    )
    op.create_index("ix_authorisations_status", "authorisations", ["status"])
    op.create_table(
        "authorisation_persons",
        sa.Column("authorisation_id", _ID, nullable=False),
        sa.Column("person_id", _ID, nullable=False),
        sa.PrimaryKeyConstraint("authorisation_id", "person_id", name="pk_authorisation_persons"),
        sa.ForeignKeyConstraint(
            ["authorisation_id"],
            ["authorisations.id"],
            name="fk_authorisation_persons_authorisation_id_authorisations",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name="fk_authorisation_persons_person_id_persons", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "authorisation_cameras",
        sa.Column("authorisation_id", _ID, nullable=False),
        sa.Column("camera", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("authorisation_id", "camera", name="pk_authorisation_cameras"),
        sa.ForeignKeyConstraint(
            ["authorisation_id"],
            ["authorisations.id"],
            name="fk_authorisation_cameras_authorisation_id_authorisations",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "alert_reviews",
        sa.Column("id", _ID, nullable=False),
        sa.Column("alert_id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_reviews"),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name="fk_alert_reviews_alert_id_alerts", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_alert_reviews_alert_id", "alert_reviews", ["alert_id"])
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("subject_type", sa.String(40), nullable=True),
        sa.Column("subject_id", sa.String(64), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_action", "audit_log", ["action"])
    op.create_table(
        "setting_changes",
        sa.Column("id", _ID, nullable=False),
        sa.Column("key", sa.String(60), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("proposed_by", _ID, nullable=False),
        sa.Column("proposed_at", _TS, nullable=False),
        sa.Column("decided_by", _ID, nullable=True),
        sa.Column("decided_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_setting_changes"),
    )
    op.create_index("ix_setting_changes_key", "setting_changes", ["key"])
    op.create_table(
        "fria_records",
        sa.Column("id", _ID, nullable=False),
        sa.Column("authorisation_id", _ID, nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("document_sha256", sa.String(64), nullable=True),
        sa.Column("recorded_by", _ID, nullable=False),
        sa.Column("recorded_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fria_records"),
        sa.ForeignKeyConstraint(
            ["authorisation_id"],
            ["authorisations.id"],
            name="fk_fria_records_authorisation_id_authorisations",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_fria_records_authorisation_id", "fria_records", ["authorisation_id"])

    with op.batch_alter_table("persons") as batch:
        batch.add_column(sa.Column("proposed_by", _ID, nullable=True))
        batch.add_column(sa.Column("approved_by", _ID, nullable=True))
        batch.add_column(sa.Column("approved_at", _TS, nullable=True))
    with op.batch_alter_table("watch_runs") as batch:
        batch.add_column(sa.Column("authorisation_id", _ID, nullable=True))
        batch.add_column(sa.Column("started_by", _ID, nullable=True))
        batch.add_column(sa.Column("recorded_at", _TS, nullable=True))
        batch.add_column(sa.Column("stop_reason", sa.Text(), nullable=True))
        batch.create_foreign_key(
            "fk_watch_runs_authorisation_id_authorisations",
            "authorisations",
            ["authorisation_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch.create_index("ix_watch_runs_authorisation_id", ["authorisation_id"])


def downgrade() -> None:
    with op.batch_alter_table("watch_runs") as batch:
        batch.drop_index("ix_watch_runs_authorisation_id")
        batch.drop_constraint("fk_watch_runs_authorisation_id_authorisations", type_="foreignkey")
        for col in ("stop_reason", "recorded_at", "started_by", "authorisation_id"):
            batch.drop_column(col)
    with op.batch_alter_table("persons") as batch:
        for col in ("approved_at", "approved_by", "proposed_by"):
            batch.drop_column(col)
    for table in (
        "fria_records",
        "setting_changes",
        "audit_log",
        "alert_reviews",
        "authorisation_cameras",
        "authorisation_persons",
        "authorisations",
        "tokens",
        "users",
        "organisations",
    ):
        op.drop_table(table)
