"""The audit log, the match threshold (changed only with a second person's approval) and reports."""

from __future__ import annotations

from fastapi import APIRouter

from izde.web.deps import Service
from izde.web.schemas import (
    AuditOut,
    ChangeOut,
    ReportLink,
    ReportsOut,
    ThresholdChangeIn,
    ThresholdDecisionIn,
    ThresholdOut,
)

router = APIRouter(prefix="/api/v1", tags=["governance"])


@router.get("/audit", response_model=list[AuditOut])
def audit_log(
    service: Service, before: int | None = None, action: str | None = None, actor: str | None = None, limit: int = 100
) -> list[AuditOut]:
    """Audit entries newest first; page back with ``before`` (a sequence number). Reading is audited."""
    return [AuditOut.of(e) for e in service.audit_log(before=before, action=action, actor=actor, limit=limit)]


@router.get("/threshold", response_model=ThresholdOut)
def threshold(service: Service) -> ThresholdOut:
    changes = service.threshold_changes()  # the permission check
    return ThresholdOut(value=service.threshold(), changes=[ChangeOut.of(c) for c in changes])


@router.post("/threshold/changes", response_model=ChangeOut, status_code=201)
def propose_threshold(body: ThresholdChangeIn, service: Service) -> ChangeOut:
    """Propose a new threshold; it applies once someone else approves it."""
    return ChangeOut.of(service.propose_threshold(body.value, body.reason))


@router.post("/threshold/changes/{change_id}/decision", response_model=ChangeOut)
def decide_threshold(change_id: str, body: ThresholdDecisionIn, service: Service) -> ChangeOut:
    return ChangeOut.of(service.decide_threshold(change_id, body.approve))


@router.get("/reports", response_model=ReportsOut)
def reports(service: Service) -> ReportsOut:
    """Aggregate figures and links to the reports this version can produce."""
    links = [
        ReportLink(name="summary", url="/api/v1/reports", description="alerts, runs and faces counted (this page)"),
        ReportLink(name="audit log", url="/api/v1/audit", description="every action, hash-chained"),
        ReportLink(name="runs", url="/api/v1/runs", description="watch runs with their counters"),
    ]
    return ReportsOut.of(service.summary_report(), links)
