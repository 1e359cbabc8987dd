"""Every record belongs to one organisation; camera names are unique within one.

Existing rows go to the organisation of the user who created them (proposer, requester, starter, ...), else to
the first organisation (the one ``izde init`` created): a deployment that had one organisation keeps all of its
data, now marked as that organisation's. Audit entries go to their actor's organisation, else the first.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.String(32)
_FIRST = "(SELECT id FROM organisations ORDER BY created_at, id LIMIT 1)"


def _user_org(column: str) -> str:
    return f"(SELECT organisation_id FROM users WHERE users.id = {column})"


def _parent_org(parent: str, column: str) -> str:
    return f"(SELECT organisation_id FROM {parent} WHERE {parent}.id = {column})"


# (table, how its existing rows find their organisation), parents before children.
BACKFILL: list[tuple[str, str]] = [
    ("persons", f"COALESCE({_user_org('persons.proposed_by')}, {_user_org('persons.approved_by')}, {_FIRST})"),
    ("reference_photos", _parent_org("persons", "reference_photos.person_id")),
    ("templates", _parent_org("persons", "templates.person_id")),
    ("authorisations", f"COALESCE({_user_org('authorisations.requested_by')}, {_FIRST})"),
    ("fria_records", _parent_org("authorisations", "fria_records.authorisation_id")),
    ("cameras", f"COALESCE({_user_org('cameras.created_by')}, {_FIRST})"),
    (
        "watch_runs",
        f"COALESCE({_user_org('watch_runs.started_by')}, "
        f"{_parent_org('authorisations', 'watch_runs.authorisation_id')}, {_FIRST})",
    ),
    ("alerts", _parent_org("watch_runs", "alerts.run_id")),
    ("alert_reviews", _parent_org("alerts", "alert_reviews.alert_id")),
    ("setting_changes", f"COALESCE({_user_org('setting_changes.proposed_by')}, {_FIRST})"),
    (
        "face_counts",
        f"COALESCE((SELECT organisation_id FROM cameras WHERE cameras.name = face_counts.camera), {_FIRST})",
    ),
]
OWNED = [table for table, _ in BACKFILL]


def _fk(table: str) -> str:
    return f"fk_{table}_organisation_id_organisations"


def upgrade() -> None:
    for table in OWNED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("organisation_id", _ID, nullable=True))
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("organisation_id", _ID, nullable=True))
    for table, source in BACKFILL:
        op.execute(f"UPDATE {table} SET organisation_id = {source}")
    op.execute(
        "UPDATE audit_log SET organisation_id = COALESCE("
        f"(SELECT organisation_id FROM users WHERE users.username = audit_log.actor), {_FIRST})"
    )
    for table in OWNED:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("organisation_id", existing_type=_ID, nullable=False)
            batch.create_foreign_key(_fk(table), "organisations", ["organisation_id"], ["id"], ondelete="RESTRICT")
            if table == "face_counts":
                batch.drop_constraint("pk_face_counts", type_="primary")
                batch.create_primary_key("pk_face_counts", ["organisation_id", "camera", "hour"])
            else:
                batch.create_index(f"ix_{table}_organisation_id", ["organisation_id"])
            if table == "cameras":
                batch.drop_constraint("uq_cameras_name", type_="unique")
                batch.create_unique_constraint("uq_cameras_organisation_id_name", ["organisation_id", "name"])
    with op.batch_alter_table("audit_log") as batch:
        batch.create_foreign_key(_fk("audit_log"), "organisations", ["organisation_id"], ["id"], ondelete="RESTRICT")
        batch.create_index("ix_audit_log_organisation_id", ["organisation_id"])


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_index("ix_audit_log_organisation_id")
        batch.drop_constraint(_fk("audit_log"), type_="foreignkey")
        batch.drop_column("organisation_id")
    for table in reversed(OWNED):
        with op.batch_alter_table(table) as batch:
            if table == "cameras":
                batch.drop_constraint("uq_cameras_organisation_id_name", type_="unique")
                batch.create_unique_constraint("uq_cameras_name", ["name"])
            if table == "face_counts":
                batch.drop_constraint("pk_face_counts", type_="primary")
                batch.create_primary_key("pk_face_counts", ["camera", "hour"])
            else:
                batch.drop_index(f"ix_{table}_organisation_id")
            batch.drop_constraint(_fk(table), type_="foreignkey")
            batch.drop_column("organisation_id")
