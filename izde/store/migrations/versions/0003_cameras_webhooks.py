"""Registered cameras and the webhook outbox.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)
_ID = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "cameras",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("created_by", _ID, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cameras"),
        sa.UniqueConstraint("name", name="uq_cameras_name"),
    )
    op.create_table(
        "webhook_outbox",
        sa.Column("id", _ID, nullable=False),
        sa.Column("alert_id", _ID, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("delivered_at", _TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_outbox"),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name="fk_webhook_outbox_alert_id_alerts", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_webhook_outbox_alert_id", "webhook_outbox", ["alert_id"])
    op.create_index("ix_webhook_outbox_next_attempt_at", "webhook_outbox", ["next_attempt_at"])
    op.create_index("ix_webhook_outbox_delivered_at", "webhook_outbox", ["delivered_at"])


def downgrade() -> None:
    op.drop_table("webhook_outbox")
    op.drop_table("cameras")
