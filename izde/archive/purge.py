"""The post-event rule for searches: a search whose authorisation was rejected, or whose urgent start was not
granted within ``archive.urgent_grace_h`` (48 hours at most), loses every alert and evidence file it produced.

Applied whenever searches are listed or run, and by the retention sweep (``izde purge`` and each session's
start), so it holds even when nobody looks at searches."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from izde.archive.ledger import SearchStatus
from izde.governance.authorisations import standing
from izde.runner.recorder import AuditWriter
from izde.service.authorisations import find_authorisation, scope_of
from izde.store.files import Stage
from izde.store.models import Alert, ArchiveChunk, ArchiveSearch


def purge_ungranted_searches(
    session: Session, stage: Stage, audit: AuditWriter, grace: timedelta, now: datetime
) -> int:
    """Purge, in the caller's transaction, every search whose authorisation no longer stands; returns how many."""
    purged = 0
    for search in session.scalars(select(ArchiveSearch).where(ArchiveSearch.status != SearchStatus.PURGED)):
        scope = scope_of(session, find_authorisation(session, search.authorisation_id))
        d = standing(scope, now, grace)
        if d.allowed:
            continue
        run_ids = select(ArchiveChunk.run_id).where(ArchiveChunk.search_id == search.id)
        files = [f for f in session.scalars(select(Alert.evidence_file).where(Alert.run_id.in_(run_ids))) if f]
        n = session.execute(delete(Alert).where(Alert.run_id.in_(run_ids))).rowcount or 0  # type: ignore[attr-defined]
        stage.delete_on_commit(files)
        search.status, search.stop_reason = SearchStatus.PURGED, d.reason
        search.finished_at = search.finished_at or now
        audit(session, "search.purged", "search", search.id, actor="system", reason=d.reason, alerts_deleted=n)
        purged += 1
    return purged
