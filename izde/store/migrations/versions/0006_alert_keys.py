"""Alerts get a unique (run, track, person) key, so a recorder that sees the same alert event twice (a
redelivered broker message, a restarted process) stores it once; and a committed sequence number, the seq of
their ``alert.raised`` audit entry, by which the live feed pages without missing an alert committed late.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("seq", sa.Integer(), nullable=True))
    # Alerts raised before this revision take the seq of the audit entry that recorded them.
    op.execute(
        "UPDATE alerts SET seq = (SELECT MAX(a.seq) FROM audit_log a "
        "WHERE a.action = 'alert.raised' AND a.subject_type = 'alert' AND a.subject_id = alerts.id)"
    )
    with op.batch_alter_table("alerts") as batch:
        batch.create_unique_constraint("uq_alerts_run_track_person", ["run_id", "track_id", "person_id"])
    op.create_index("ix_alerts_seq", "alerts", ["seq"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_alerts_seq", table_name="alerts")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint("uq_alerts_run_track_person", type_="unique")
        batch.drop_column("seq")
