"""The audit head kept in the database, one review per person and alert, and the process reading each run.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("mac", sa.String(64), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
    )
    with op.batch_alter_table("alert_reviews") as batch:
        batch.add_column(sa.Column("stage", sa.String(10), nullable=True))
    op.execute("UPDATE alert_reviews SET stage = CASE WHEN decision LIKE 'outcome%' THEN 'outcome' ELSE 'review' END")
    with op.batch_alter_table("alert_reviews") as batch:
        batch.alter_column("stage", existing_type=sa.String(10), nullable=False)
        batch.create_unique_constraint("uq_alert_reviews_alert_user_stage", ["alert_id", "user_id", "stage"])
    with op.batch_alter_table("watch_runs") as batch:
        batch.add_column(sa.Column("runner", sa.String(120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("watch_runs") as batch:
        batch.drop_column("runner")
    with op.batch_alter_table("alert_reviews") as batch:
        batch.drop_constraint("uq_alert_reviews_alert_user_stage", type_="unique")
        batch.drop_column("stage")
    op.drop_table("audit_head")
