"""Reading the audit chain (auditors), and aggregate reports."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from izde.governance.roles import Action
from izde.service.core import Core
from izde.store.models import Alert, AuditEntry, FaceCount, Organisation, WatchRun


@dataclass(frozen=True, slots=True)
class AuditView:
    seq: int
    at: datetime
    actor: str
    action: str
    subject_type: str | None
    subject_id: str | None
    details: dict[str, Any]
    hash: str


@dataclass(frozen=True, slots=True)
class SummaryReport:
    """Aggregate figures only: counts, never persons or faces."""

    alerts_by_status: dict[str, int]
    runs_by_status: dict[str, int]
    faces_seen: int
    tracks_seen: int
    cameras: int


def visible_to(session: Session, organisation_id: str) -> ColumnElement[bool]:
    """The audit entries an organisation's auditors read: their organisation's own. Deployment-level entries
    (initialisation, failed logins of names nobody has) go to the first organisation, the deployment's
    operator, which ``izde init`` created. Verifying still reads the whole chain (it is one chain)."""
    first = session.scalar(select(Organisation.id).order_by(Organisation.created_at, Organisation.id).limit(1))
    own = AuditEntry.organisation_id == organisation_id
    return or_(own, AuditEntry.organisation_id.is_(None)) if organisation_id == first else own


class AuditLogService(Core):
    def audit_log(
        self, *, before: int | None = None, action: str | None = None, actor: str | None = None, limit: int = 100
    ) -> list[AuditView]:
        """Entries newest first; ``before`` pages back from a sequence number. Reading the log is itself logged."""
        reader = self.require(Action.AUDIT_READ)
        limit = max(1, min(limit, 1000))
        with self.db.session() as session:
            q = select(AuditEntry).where(visible_to(session, reader.organisation_id))
            q = q.order_by(AuditEntry.seq.desc()).limit(limit)
            if before is not None:
                q = q.where(AuditEntry.seq < before)
            if action:
                q = q.where(AuditEntry.action == action)
            if actor:
                q = q.where(AuditEntry.actor == actor)
            rows = [
                AuditView(r.seq, r.at, r.actor, r.action, r.subject_type, r.subject_id, json.loads(r.details), r.hash)
                for r in session.scalars(q)
            ]
            self.audit(session, "audit.read", "audit", None, count=len(rows), before=before, filter_action=action)
        return rows

    def summary_report(self) -> SummaryReport:
        self.require(Action.REPORT_READ)
        with self.db.session() as session:
            alerts = {
                status: n for status, n in session.execute(select(Alert.status, func.count()).group_by(Alert.status))
            }
            runs = {
                status: n
                for status, n in session.execute(select(WatchRun.status, func.count()).group_by(WatchRun.status))
            }
            faces, tracks, cams = session.execute(
                select(
                    func.coalesce(func.sum(FaceCount.faces), 0),
                    func.coalesce(func.sum(FaceCount.tracks), 0),
                    func.count(func.distinct(FaceCount.camera)),
                )
            ).one()
            self.audit(session, "report.summary", "report", None)
        return SummaryReport(
            {str(k): int(v) for k, v in alerts.items()},
            {str(k): int(v) for k, v in runs.items()},
            int(faces),
            int(tracks),
            int(cams),
        )
