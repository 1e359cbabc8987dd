"""One template per reference photo and network: FaceRes templates are stored beside dlib's, and recomputing
them (``izde watchlist recompute``) can never store a second one for the same photo.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("templates") as batch:
        batch.create_unique_constraint("uq_templates_photo_model", ["photo_id", "model"])


def downgrade() -> None:
    with op.batch_alter_table("templates") as batch:
        batch.drop_constraint("uq_templates_photo_model", type_="unique")
