"""Alert review: nobody acts alone. Pure rules over the alert's status and its earlier reviews."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from izde.errors import Conflict
from izde.governance.roles import PermissionDenied


class AlertState(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"  # two different operators confirmed
    REJECTED = "rejected"  # a false alert
    CONFIRMED_TRUE = "confirmed_true"  # after engagement: it was the person
    CONFIRMED_FALSE = "confirmed_false"  # after engagement: it was not


class Decision(enum.StrEnum):
    CONFIRM = "confirm"
    REJECT = "reject"
    OUTCOME_TRUE = "outcome_true"
    OUTCOME_FALSE = "outcome_false"


CONFIRMATIONS_NEEDED = 2


@dataclass(frozen=True, slots=True)
class PriorReview:
    user_id: str
    decision: Decision


def next_state(state: AlertState, prior: list[PriorReview], reviewer: str, decision: Decision) -> AlertState:
    """The alert's state after ``reviewer`` decides; raises when the decision is not allowed."""
    if decision in (Decision.CONFIRM, Decision.REJECT):
        if state is not AlertState.PENDING:
            raise Conflict(f"the alert is already {state.value}")
        if any(r.user_id == reviewer for r in prior if r.decision in (Decision.CONFIRM, Decision.REJECT)):
            raise PermissionDenied(
                "you already reviewed this alert; the second review must come from a different operator"
            )
        if decision is Decision.REJECT:
            return AlertState.REJECTED
        confirmers = {r.user_id for r in prior if r.decision is Decision.CONFIRM} | {reviewer}
        return AlertState.CONFIRMED if len(confirmers) >= CONFIRMATIONS_NEEDED else AlertState.PENDING
    if state is not AlertState.CONFIRMED:
        raise Conflict("an outcome is recorded only for a confirmed alert")
    return AlertState.CONFIRMED_TRUE if decision is Decision.OUTCOME_TRUE else AlertState.CONFIRMED_FALSE
