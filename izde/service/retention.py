"""Retention: delete what is no longer needed, on a schedule of configured periods; every purge audited."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select

from izde.archive.purge import purge_ungranted_searches
from izde.governance.review import AlertState
from izde.governance.roles import Action
from izde.service.core import Core
from izde.store import persons as person_store
from izde.store import runs
from izde.store.db import Database
from izde.store.files import sweep_uploads
from izde.store.models import Alert, AuditEntry, Organisation, Person, WatchRun


@dataclass(frozen=True, slots=True)
class PurgeReport:
    rejected_alerts: int
    unconfirmed_alerts: int
    confirmed_alerts: int
    expired_persons: int
    runs: int
    audit_entries: int
    ungranted_searches: int  # searches purged by the post-event rule (izde.archive.purge)


STALE_RUN_ERROR = "the process reading it ended without finishing the run (killed or crashed)"


class RetentionService(Core):
    def purge(self, *, now: datetime | None = None) -> PurgeReport:
        """Apply the retention periods now (administrators)."""
        self.require(Action.PURGE)
        return self._apply_retention(as_system=False, now=now)

    def sweep_leftovers(self) -> tuple[int, int]:
        """What a killed process leaves behind, cleaned at every start, purge and watch: runs still marked
        running whose process is gone become failed (with their watch.stop entry), and staged uploads older than
        any request are removed. Returns (runs, upload folders)."""
        # Every organisation's: a killed process may have run anyone's sessions. Each entry is its run's
        # organisation's.
        with self._deployment_db.session() as session:
            stale = runs.stale_runs(session)
            for run in stale:
                runs.finish_run(session, run.id, runs.RunStatus.FAILED, error=STALE_RUN_ERROR)
                entry = self.audit(
                    session,
                    "watch.stop",
                    "run",
                    run.id,
                    actor="system",
                    status=runs.RunStatus.FAILED.value,
                    reason=None,
                    error=STALE_RUN_ERROR,
                    runner=run.runner,
                )
                entry.organisation_id = run.organisation_id
        return len(stale), sweep_uploads(self.settings.home)

    def _apply_retention(self, *, as_system: bool, now: datetime | None = None) -> PurgeReport:
        # ``watch`` applies retention as the system before each session; that path is not public, so no caller
        # can skip the permission check by claiming to be the system.
        self.sweep_leftovers()
        # The periods are deployment-wide, so every organisation's data is purged by them, each in its own
        # scoped transaction with its own audit entry; the caller hears only of their own organisation's.
        now = now or datetime.now(UTC)
        own = self.actor.organisation_id if self.actor is not None else None
        with self._deployment_db.session(readonly=True) as session:
            others = [o for o in session.scalars(select(Organisation.id).order_by(Organisation.id)) if o != own]
        report = self._purge(self.db, as_system=as_system, now=now, audit_chain=True)
        for org in others:
            self._purge(self._deployment_db.scoped(org), as_system=True, now=now, audit_chain=False)
        return report

    def _purge(self, db: Database, *, as_system: bool, now: datetime, audit_chain: bool) -> PurgeReport:
        r = self.settings.retention
        with db.transaction() as (session, stage):
            counts: dict[str, int] = {}
            for name, states, days in (
                ("rejected_alerts", [AlertState.REJECTED], r.rejected_alerts_days),
                ("unconfirmed_alerts", [AlertState.PENDING], r.unconfirmed_alerts_days),
                (
                    "confirmed_alerts",
                    [AlertState.CONFIRMED, AlertState.CONFIRMED_TRUE, AlertState.CONFIRMED_FALSE],
                    r.confirmed_alerts_days,
                ),
            ):
                where = (Alert.status.in_([s.value for s in states]), Alert.created_at < now - timedelta(days=days))
                files = [f for f in session.scalars(select(Alert.evidence_file).where(*where)) if f]
                counts[name] = session.execute(delete(Alert).where(*where)).rowcount or 0  # type: ignore[attr-defined]
                stage.delete_on_commit(files)
            expired = list(session.scalars(select(Person).where(Person.expires_on <= now.date())))
            for p in expired:
                person_store.remove_person(session, stage, p)
            counts["expired_persons"] = len(expired)
            has_alerts = select(func.count(Alert.id)).where(Alert.run_id == WatchRun.id).scalar_subquery()
            old_runs = (
                WatchRun.ended_at.is_not(None),
                WatchRun.ended_at < now - timedelta(days=r.runs_days),
                has_alerts == 0,
            )
            counts["runs"] = session.execute(delete(WatchRun).where(*old_runs)).rowcount or 0  # type: ignore[attr-defined]
            cutoff = now - timedelta(days=r.audit_log_days)
            # The chain is one across organisations: its old prefix goes once, not per organisation.
            counts["audit_entries"] = (
                session.execute(delete(AuditEntry).where(AuditEntry.at < cutoff)).rowcount or 0  # type: ignore[attr-defined]
                if audit_chain
                else 0
            )
            grace = timedelta(hours=self.settings.archive.urgent_grace_h)
            counts["ungranted_searches"] = purge_ungranted_searches(session, stage, self.audit, grace, now)
            report = PurgeReport(**counts)
            if any(counts.values()) or not as_system:
                first = session.scalar(select(func.min(AuditEntry.seq)))
                self.audit(
                    session,
                    "retention.purge",
                    "retention",
                    None,
                    actor="system" if as_system else None,
                    audit_chain_starts_at=first,
                    **asdict(report),
                )
            return report
