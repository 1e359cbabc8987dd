"""Alert service: operators read and review alerts; a match is acted on only after two confirmations."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from izde.errors import Conflict, InvalidInput, NotFound
from izde.governance.review import AlertState, Decision, PriorReview, next_state
from izde.governance.roles import Action, Role
from izde.service.core import Core
from izde.service.views import AlertView
from izde.store import alerts as alert_store
from izde.store import persons as person_store
from izde.store.models import Alert, AlertReview, Person


class AlertService(Core):
    def _alert_view(self, a: Alert, name: str, with_evidence: bool) -> AlertView:
        return AlertView(
            a.id,
            a.camera,
            a.person_id,
            name,
            a.run_id,
            a.track_id,
            a.created_at,
            a.frame_time,
            a.position_s,
            a.distance,
            a.threshold,
            a.quality,
            a.status,
            self.db.files.path(a.evidence_file) if a.evidence_file and with_evidence else None,
        )

    def _alert_view_unchecked(self, alert_id: str) -> AlertView:
        """For the watch session's own alert feed and for reviewers: operators, who may see evidence."""
        with self.db.session(readonly=True) as session:
            a = alert_store.get_alert(session, alert_id)
            return self._alert_view(a, person_store.get_person(session, a.person_id).display_name, True)

    def alerts(
        self,
        *,
        camera: str | None = None,
        person: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = 100,
    ) -> list[AlertView]:
        """Alerts, newest first; no evidence paths in lists (showing one alert is the audited view)."""
        self.require(Action.ALERT_READ)
        with self.db.session() as session:
            person_id = person_store.find_person(session, person).id if person else None
            rows = alert_store.list_alerts(
                session, camera=camera, person_id=person_id, status=status, since=since, until=until, limit=limit
            )
            names = {pid: name for pid, name in session.execute(select(Person.id, Person.display_name))}
            self.audit(session, "alert.list", "alert", None, count=len(rows), camera=camera, status=status)
            return [self._alert_view(a, names.get(a.person_id, "?"), False) for a in rows]

    def alert(self, ref: str) -> AlertView:
        """One alert; its evidence is shown to roles that may see it, and that view is audited."""
        actor = self.require(Action.ALERT_READ)
        evidence = Role.OPERATOR in actor.roles
        with self.db.session() as session:
            a = alert_store.get_alert(session, ref)
            view = self._alert_view(a, person_store.get_person(session, a.person_id).display_name, evidence)
            self.audit(session, "evidence.view" if evidence else "alert.view", "alert", a.id)
        return view

    def evidence(self, ref: str) -> tuple[str, Path]:
        """The alert's id and evidence file, for showing it; each view is audited."""
        self.require(Action.EVIDENCE_VIEW)
        with self.db.session() as session:
            a = alert_store.get_alert(session, ref)
            if not a.evidence_file:
                raise NotFound(f"alert {a.id} has no evidence file")
            self.audit(session, "evidence.view", "alert", a.id, served=True)
            return a.id, self.db.files.path(a.evidence_file)

    def alert_feed(self, after: datetime | None, limit: int = 50) -> list[AlertView]:
        """Alerts raised after ``after`` (oldest first), for the live feed. Only a poll that returns alerts is
        audited, so an idle feed does not flood the log."""
        self.require(Action.ALERT_READ)
        with self.db.session() as session:
            q = select(Alert).order_by(Alert.created_at, Alert.id).limit(limit)
            if after is not None:
                q = q.where(Alert.created_at > after)
            rows = list(session.scalars(q))
            if not rows:
                return []
            names = {pid: name for pid, name in session.execute(select(Person.id, Person.display_name))}
            self.audit(session, "alert.feed", "alert", None, alerts=[a.id for a in rows])
            return [self._alert_view(a, names.get(a.person_id, "?"), False) for a in rows]

    def export_evidence(self, ref: str, out: Path) -> Path:
        self.require(Action.EVIDENCE_VIEW)
        with self.db.session() as session:
            a = alert_store.get_alert(session, ref)
            if not a.evidence_file:
                raise InvalidInput(f"alert {a.id} has no evidence file")
            src = self.db.files.path(a.evidence_file)
            target = out / f"{a.id}.jpg" if out.is_dir() else out
            shutil.copyfile(src, target)
            self.audit(session, "evidence.export", "alert", a.id, to=str(target))
        return target

    def reviews(self, ref: str) -> list[tuple[str, str, datetime, str | None]]:
        self.require(Action.ALERT_READ)
        with self.db.session(readonly=True) as session:
            a = alert_store.get_alert(session, ref)
            q = select(AlertReview).where(AlertReview.alert_id == a.id).order_by(AlertReview.at)
            return [(r.user_id, r.decision, r.at, r.note) for r in session.scalars(q)]

    def review(self, ref: str, decision: Decision | str, note: str | None = None) -> AlertView:
        """Confirm or reject a pending alert, or record the outcome of a confirmed one."""
        actor = self.require(Action.ALERT_REVIEW)
        decision = Decision(decision)
        try:
            alert_id = self._record_review(ref, actor.user_id, decision, note)
        except IntegrityError:
            # The unique (alert, user, stage) key: a second review by the same person that raced past the lock.
            raise Conflict(
                "you already reviewed this alert", "the second review must come from another operator"
            ) from None
        # The reviewer saw the evidence to decide; the review entry records that, not a second "view" entry.
        return self._alert_view_unchecked(alert_id)

    def _record_review(self, ref: str, user_id: str, decision: Decision, note: str | None) -> str:
        with self.db.session() as session:
            # Locked until the review commits, so a racing review waits and then decides on this one's result
            # (SQLite transactions already take the write lock at their start).
            a = alert_store.lock_alert(session, alert_store.get_alert(session, ref).id)
            prior = [
                PriorReview(r.user_id, Decision(r.decision))
                for r in session.scalars(select(AlertReview).where(AlertReview.alert_id == a.id))
            ]
            new = next_state(AlertState(a.status), prior, user_id, decision)
            session.add(
                AlertReview(
                    alert_id=a.id,
                    user_id=user_id,
                    decision=decision.value,
                    stage="outcome" if decision in (Decision.OUTCOME_TRUE, Decision.OUTCOME_FALSE) else "review",
                    note=note,
                    at=datetime.now(UTC),
                )
            )
            old, a.status = a.status, new.value
            self.audit(session, "alert.review", "alert", a.id, decision=decision.value, before=old, after=new.value)
            alert_id = a.id
        return alert_id
