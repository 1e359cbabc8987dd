"""The audit log, the match threshold (changed only with a second person's approval) and reports."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from izde.governance.fria import DEFAULT_COMPLAINTS
from izde.governance.report_html import render
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

SEQ_MAX = 2**63 - 1


@router.get("/audit", response_model=list[AuditOut])
def audit_log(
    service: Service,
    # Bounded by the largest integer the databases store: a larger one is a client error, not a server one.
    before: int | None = Query(None, ge=1, le=SEQ_MAX, description="Entries before this sequence number."),
    action: str | None = None,
    actor: str | None = None,
    limit: int = 100,
) -> list[AuditOut]:
    """Audit entries newest first; page back with ``before`` (a sequence number). Reading is audited."""
    return [AuditOut.of(e) for e in service.audit_log(before=before, action=action, actor=actor, limit=limit)]


def _plain(value: Any) -> Any:
    """Dataclass reports as JSON-ready values (dates as ISO text)."""
    return json.loads(json.dumps(value, default=lambda o: o.isoformat() if isinstance(o, date | datetime) else str(o)))


@router.get("/audit/verify")
def verify_audit(service: Service, head: bool = False) -> dict[str, Any]:
    """Check the whole audit chain; ``ok`` is false with the entries where it breaks. Auditors only; audited."""
    r = service.verify_audit(head=head)
    return {
        "ok": r.ok,
        "count": r.count,
        "first_seq": r.first_seq,
        "last_seq": r.last_seq,
        "problems": [{"seq": p.seq, "kind": p.kind, "message": p.message} for p in r.problems],
    }


@router.get("/reports/use-log")
def use_log(
    service: Service,
    run: str | None = None,
    since: datetime | None = Query(None, alias="from"),
    until: datetime | None = Query(None, alias="to"),
) -> list[dict[str, Any]]:
    """The use record of watch sessions: period, watchlist version, threshold, matches and who verified them."""
    return [_plain(asdict(r)) for r in service.use_log(run, since, until)]


@router.get("/reports/transparency")
def transparency(
    service: Service, first: date = Query(..., alias="from"), last: date = Query(..., alias="to")
) -> dict[str, Any]:
    """Aggregate figures for the public, per camera and month; no personal data."""
    figures: dict[str, Any] = _plain(service.transparency(first, last).as_dict())
    return figures


@router.get("/reports/transparency.html", response_class=HTMLResponse)
def transparency_html(
    service: Service, first: date = Query(..., alias="from"), last: date = Query(..., alias="to")
) -> HTMLResponse:
    """The same report as a page with charts."""
    return HTMLResponse(render(service.transparency(first, last)))


@router.get("/reports/fria")
def fria(service: Service, authorisation: str, complaints: str = DEFAULT_COMPLAINTS) -> dict[str, Any]:
    """The fundamental-rights impact assessment data pack for one deployment (authorisation)."""
    pack: dict[str, Any] = _plain(service.fria_pack(authorisation, complaints))
    return pack


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
        ReportLink(name="audit verification", url="/api/v1/audit/verify", description="the chain checked end to end"),
        ReportLink(
            name="transparency",
            url="/api/v1/reports/transparency.html?from=2026-01-01&to=2026-12-31",
            description="public figures with charts (also as JSON at /api/v1/reports/transparency)",
        ),
        ReportLink(
            name="use record", url="/api/v1/reports/use-log", description="per session: what matched, who verified"
        ),
        ReportLink(name="impact assessment", url="/api/v1/reports/fria?authorisation=ID", description="FRIA data pack"),
    ]
    return ReportsOut.of(service.summary_report(), links)
