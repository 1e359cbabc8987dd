"""Operational settings that need a second person: the match threshold."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from izde.errors import Conflict, InvalidInput
from izde.governance.roles import Action
from izde.service.core import Core
from izde.service.watchlist import four_eyes
from izde.store.lookup import by_id_or_prefix, not_found
from izde.store.models import SettingChange

THRESHOLD_KEY = "match.threshold"


@dataclass(frozen=True, slots=True)
class ChangeView:
    id: str
    key: str
    value: float
    reason: str
    status: str
    proposed_at: datetime
    decided_at: datetime | None


def _view(c: SettingChange) -> ChangeView:
    return ChangeView(c.id, c.key, float(json.loads(c.value)), c.reason, c.status, c.proposed_at, c.decided_at)


class SettingsService(Core):
    def threshold(self) -> float:
        """The threshold in force: the last approved change, else the configured value."""
        with self.db.session(readonly=True) as session:
            # The value, not the row: a read-only session rolls back, which expires the rows it loaded.
            value = session.scalar(
                select(SettingChange.value)
                .where(SettingChange.key == THRESHOLD_KEY, SettingChange.status == "approved")
                .order_by(SettingChange.decided_at.desc())
                .limit(1)
            )
        return float(json.loads(value)) if value is not None else self.settings.match.threshold

    def watchlist_size(self) -> int:
        """How many entries can match now (active, unexpired): a count, for operational threshold figures."""
        from sqlalchemy import func

        from izde.store.models import Person

        with self.db.session(readonly=True) as session:
            today = datetime.now(UTC).date()
            q = select(func.count(Person.id)).where(Person.status == "active", Person.expires_on > today)
            return int(session.scalar(q) or 0)

    def propose_threshold(self, value: float, reason: str) -> ChangeView:
        self.require(Action.THRESHOLD_PROPOSE)
        if not 0.0 < value < 2.0:
            raise InvalidInput(f"threshold {value} is outside (0, 2)")
        if not reason.strip():
            raise InvalidInput("say why the threshold should change", "pass --reason")
        assert self.actor is not None
        with self.db.session() as session:
            row = SettingChange(
                key=THRESHOLD_KEY,
                value=json.dumps(value),
                reason=reason.strip(),
                status="proposed",
                proposed_by=self.actor.user_id,
                proposed_at=datetime.now(UTC),
            )
            session.add(row)
            session.flush()
            self.audit(session, "threshold.propose", "setting", row.id, value=value, current=self.threshold())
            return _view(row)

    def decide_threshold(self, ref: str, approve: bool) -> ChangeView:
        actor = self.require(Action.THRESHOLD_APPROVE)
        with self.db.session() as session:
            row = by_id_or_prefix(session, SettingChange, SettingChange.id, ref, what="change", describe=lambda c: c.id)
            if row is None:
                raise not_found("threshold change", ref)
            if row.status != "proposed":
                raise Conflict(f"change {row.id} is already {row.status}")
            four_eyes(row.proposed_by, actor.user_id)
            row.status = "approved" if approve else "rejected"
            row.decided_by, row.decided_at = actor.user_id, datetime.now(UTC)
            self.audit(
                session,
                "threshold.approve" if approve else "threshold.reject",
                "setting",
                row.id,
                value=json.loads(row.value),
            )
            return _view(row)

    def threshold_changes(self) -> list[ChangeView]:
        self.require(Action.THRESHOLD_READ)
        with self.db.session(readonly=True) as session:
            rows = session.scalars(select(SettingChange).order_by(SettingChange.proposed_at.desc()))
            return [_view(r) for r in rows]
