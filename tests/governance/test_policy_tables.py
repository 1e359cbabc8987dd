"""The pure policy rules, row by row: who may approve, what a review does, what an authorisation allows.

These are the decisions every safeguard path calls; each row is one case a careless change could flip.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from izde.errors import Conflict
from izde.governance.authorisations import URGENT_GRACE, Scope, Status, session_allowed, standing, stop_reason
from izde.governance.review import CONFIRMATIONS_NEEDED, AlertState, Decision, PriorReview, next_state
from izde.governance.roles import (
    ROLE_ACTIONS,
    SYSTEM,
    Action,
    Actor,
    PermissionDenied,
    Role,
    authorize,
    decide,
    decision,
)
from izde.service.watchlist import four_eyes

# -- four eyes: nobody approves what they proposed -------------------------------------------------------------


@pytest.mark.parametrize(
    "proposer, approver, allowed",
    [
        ("u-curator", "u-approver", True),
        ("u-same", "u-same", False),
        # The one who added photos became the proposer (WatchlistService.add_photos): they cannot approve.
        ("u-added-photos", "u-added-photos", False),
        ("u-added-photos", "u-original-approver", True),
        # No recorded proposer (an entry from before proposals were recorded): nobody's own proposal.
        (None, "u-approver", True),
        ("u-a", "u-a ", True),  # ids are compared exactly; ids never carry spaces
    ],
)
def test_four_eyes(proposer: str | None, approver: str, allowed: bool) -> None:
    if allowed:
        four_eyes(proposer, approver)
    else:
        with pytest.raises(PermissionDenied, match="someone other than the person who proposed it"):
            four_eyes(proposer, approver)


# -- alert review: two different operators confirm; any reviewer may reject ------------------------------------

P, C, R = AlertState.PENDING, Decision.CONFIRM, Decision.REJECT
CONFIRMED, REJECTED = AlertState.CONFIRMED, AlertState.REJECTED
T, F = Decision.OUTCOME_TRUE, Decision.OUTCOME_FALSE


def reviews(*pairs: tuple[str, Decision]) -> list[PriorReview]:
    return [PriorReview(user, decision) for user, decision in pairs]


@pytest.mark.parametrize(
    "state, prior, reviewer, decision, expected",
    [
        (P, [], "a", C, P),  # one confirmation is not enough
        (P, reviews(("a", C)), "b", C, CONFIRMED),
        (P, [], "a", R, REJECTED),  # a false alert needs only one rejection
        (P, reviews(("a", C)), "b", R, REJECTED),  # confirmed by one, rejected by the other
        (P, reviews(("a", C)), "a", C, PermissionDenied),  # the same operator twice
        (P, reviews(("a", C)), "a", R, PermissionDenied),  # confirm, then reject alone
        (P, reviews(("a", R)), "a", C, PermissionDenied),
        (REJECTED, reviews(("a", R)), "b", C, Conflict),
        (CONFIRMED, reviews(("a", C), ("b", C)), "c", C, Conflict),
        (CONFIRMED, reviews(("a", C), ("b", C)), "c", R, Conflict),
        (CONFIRMED, reviews(("a", C), ("b", C)), "a", T, AlertState.CONFIRMED_TRUE),
        (CONFIRMED, reviews(("a", C), ("b", C)), "a", F, AlertState.CONFIRMED_FALSE),
        (P, reviews(("a", C)), "b", T, Conflict),  # no outcome before two confirmations
        (REJECTED, reviews(("a", R)), "b", F, Conflict),
        (AlertState.CONFIRMED_TRUE, reviews(("a", C), ("b", C), ("a", T)), "b", F, Conflict),
        (AlertState.CONFIRMED_FALSE, reviews(("a", C), ("b", C), ("b", F)), "b", C, Conflict),
    ],
)
def test_next_state(
    state: AlertState,
    prior: list[PriorReview],
    reviewer: str,
    decision: Decision,
    expected: AlertState | type[Exception],
) -> None:
    if isinstance(expected, AlertState):
        assert next_state(state, prior, reviewer, decision) is expected
    else:
        with pytest.raises(expected):
            next_state(state, prior, reviewer, decision)


def test_two_confirmations_are_needed() -> None:
    assert CONFIRMATIONS_NEEDED == 2


def test_the_reason_names_the_second_operator() -> None:
    with pytest.raises(PermissionDenied, match="different operator"):
        next_state(P, reviews(("a", C)), "a", C)
    with pytest.raises(Conflict, match="already rejected"):
        next_state(REJECTED, reviews(("a", R)), "b", C)
    with pytest.raises(Conflict, match="only for a confirmed alert"):
        next_state(P, [], "a", T)


# -- authorisation scope: standing, session checks, stop reasons ------------------------------------------------

START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)
INSIDE = datetime(2026, 11, 15, 12, tzinfo=UTC)
REQUESTED_AT = datetime(2026, 11, 10, tzinfo=UTC)
NOW = REQUESTED_AT + timedelta(hours=1)
TICK = timedelta(microseconds=1)

GRANTED = Scope(
    id="auth-1",
    status=Status.GRANTED,
    starts_at=START,
    ends_at=END,
    covers_live=False,
    covers_recorded=True,
    cameras=frozenset({"door", "gate"}),
    persons=frozenset({"p1"}),
    urgent_reason=None,
    requested_at=REQUESTED_AT,
    has_fria=True,
)
URGENT = replace(GRANTED, status=Status.REQUESTED, urgent_reason="a child is missing")


@pytest.mark.parametrize(
    "scope, now, allowed, words",
    [
        (GRANTED, NOW, True, "granted"),
        (replace(GRANTED, status=Status.REJECTED), NOW, False, "rejected"),
        (replace(GRANTED, status=Status.REQUESTED), NOW, False, "not granted yet"),
        (URGENT, NOW, True, "urgent start"),
        (URGENT, REQUESTED_AT + URGENT_GRACE - TICK, True, "urgent start"),
        (URGENT, REQUESTED_AT + URGENT_GRACE, False, "within 24 hours"),
        (URGENT, REQUESTED_AT + URGENT_GRACE + timedelta(hours=1), False, "within 24 hours"),
        (replace(URGENT, status=Status.REJECTED), NOW, False, "rejected"),  # a rejection ends an urgent start
        (replace(URGENT, urgent_reason=""), NOW, False, "not granted yet"),
    ],
)
def test_standing(scope: Scope, now: datetime, allowed: bool, words: str) -> None:
    d = standing(scope, now)
    assert d.allowed is allowed and words in d.reason, d


@pytest.mark.parametrize(
    "scope, camera, live, at, allowed, words",
    [
        (GRANTED, "door", False, INSIDE, True, "granted"),
        (GRANTED, "gate", False, INSIDE, True, "granted"),
        (GRANTED, "door", False, START, True, "granted"),  # the window includes its start
        (GRANTED, "door", False, START - TICK, False, "outside the authorised window"),
        (GRANTED, "door", False, END - TICK, True, "granted"),
        (GRANTED, "door", False, END, False, "outside the authorised window"),  # and excludes its end
        (GRANTED, "lobby", False, INSIDE, False, "camera 'lobby' is not covered"),
        (GRANTED, "Door", False, INSIDE, False, "not covered"),  # camera names are exact
        (GRANTED, "door", True, INSIDE, False, "does not cover live footage"),
        (replace(GRANTED, covers_live=True), "door", True, INSIDE, True, "granted"),
        (replace(GRANTED, covers_live=True, covers_recorded=False), "door", False, INSIDE, False, "recorded footage"),
        (replace(GRANTED, has_fria=False), "door", False, INSIDE, False, "impact assessment"),
        (replace(GRANTED, status=Status.REJECTED), "door", False, INSIDE, False, "rejected"),
        (replace(GRANTED, status=Status.REQUESTED), "door", False, INSIDE, False, "not granted yet"),
        (URGENT, "door", False, INSIDE, True, "urgent start"),
        (replace(URGENT, has_fria=False), "door", False, INSIDE, False, "impact assessment"),
    ],
)
def test_session_allowed(scope: Scope, camera: str, live: bool, at: datetime, allowed: bool, words: str) -> None:
    d = session_allowed(scope, camera, live, at, NOW)
    assert d.allowed is allowed and words in d.reason, d


def test_the_window_refusal_names_the_kind_of_time() -> None:
    live = replace(GRANTED, covers_live=True)
    assert "now (" in session_allowed(live, "door", True, END, NOW).reason
    assert "the recording's time" in session_allowed(GRANTED, "door", False, END, NOW).reason


@pytest.mark.parametrize(
    "scope, footage, now, reason",
    [
        (GRANTED, INSIDE, NOW, None),
        (GRANTED, END - TICK, NOW, None),
        (GRANTED, END, NOW, "the authorised window has ended"),
        (GRANTED, END + timedelta(days=1), NOW, "the authorised window has ended"),
        (replace(GRANTED, status=Status.REJECTED), INSIDE, NOW, "the authorisation was rejected"),
        (URGENT, INSIDE, NOW, None),
        (URGENT, INSIDE, REQUESTED_AT + URGENT_GRACE, "the urgent start was not granted within 24 hours"),
    ],
)
def test_stop_reason(scope: Scope, footage: datetime, now: datetime, reason: str | None) -> None:
    assert stop_reason(scope, footage, now) == reason


# -- what an authorisation request may say -----------------------------------------------------------------------

SPEC: dict[str, object] = {
    "objective": "missing_person",
    "issuing_authority": "District Court",
    "reference": "R-1",
    "starts_at": START,
    "ends_at": END,
    "covers_live": False,
    "covers_recorded": True,
    "persons": ("p1",),
    "cameras": ("door",),
}


@pytest.mark.parametrize(
    "change, error",
    [
        ({}, None),
        ({"objective": "serious_offence", "offence_code": "CC-105"}, None),
        ({"objective": "serious_offence"}, "needs the offence code"),
        ({"objective": "serious_offence", "offence_code": ""}, "needs the offence code"),
        ({"objective": "crowd_monitoring"}, "objective"),
        ({"starts_at": datetime(2026, 11, 1)}, "with a zone"),
        ({"ends_at": datetime(2026, 12, 1)}, "with a zone"),
        ({"ends_at": START}, "ends before it starts"),  # an empty window authorises nothing
        ({"ends_at": START - TICK}, "ends before it starts"),
        ({"ends_at": START + TICK}, None),
        ({"covers_recorded": False}, "live footage, recorded footage or both"),
        ({"covers_live": True, "covers_recorded": False}, None),
        ({"cameras": ("door", " ")}, "camera names cannot be empty"),
        ({"cameras": ()}, "at least 1"),
        ({"persons": ()}, "at least 1"),
        ({"issuing_authority": " "}, "at least 1"),
        ({"reference": ""}, "at least 1"),
        ({"surprise": 1}, "Extra inputs"),
    ],
)
def test_authorisation_spec(change: dict[str, object], error: str | None) -> None:
    from pydantic import ValidationError

    from izde.governance.authorisations import AuthorisationSpec

    if error is None:
        spec = AuthorisationSpec.model_validate({**SPEC, **change})
        assert spec.starts_at == SPEC["starts_at"] and spec.ends_at == change.get("ends_at", END)
        assert spec.ends_at.tzinfo is not None
    else:
        with pytest.raises(ValidationError, match=error):
            AuthorisationSpec.model_validate({**SPEC, **change})


# -- who may do what ---------------------------------------------------------------------------------------------


def actor(*roles: Role, law_enforcement: bool = True) -> Actor:
    return Actor("u1", "carol", frozenset(roles), "City Police", law_enforcement)


@pytest.mark.parametrize(
    "who, action, allowed, words",
    [
        (actor(Role.OPERATOR), Action.WATCH_RECORDED, True, "allowed by role operator"),
        (actor(Role.OPERATOR), Action.WATCH_LIVE, True, "allowed by role operator"),
        (actor(Role.OPERATOR, law_enforcement=False), Action.WATCH_LIVE, False, "law-enforcement authorities"),
        (actor(Role.OPERATOR, law_enforcement=False), Action.WATCH_RECORDED, True, "operator"),
        (actor(Role.CURATOR, law_enforcement=False), Action.WATCH_LIVE, False, "law-enforcement"),
        (actor(Role.CURATOR), Action.WATCH_LIVE, False, "needs the role operator"),
        (actor(Role.CURATOR), Action.WATCHLIST_APPROVE, False, "needs the role approver"),
        (actor(Role.CURATOR, Role.APPROVER), Action.WATCHLIST_APPROVE, True, "approver"),
        (actor(Role.ADMIN), Action.EVIDENCE_VIEW, False, "needs the role operator"),
        (actor(Role.ADMIN), Action.PHOTO_VIEW, False, "approver or curator or operator"),
        (actor(Role.AUDITOR), Action.AUDIT_READ, True, "auditor"),
        (actor(), Action.ALERT_READ, False, "needs the role"),
        (SYSTEM, Action.WATCH_RECORDED, False, "system account"),
        (SYSTEM, Action.AUDIT_READ, False, "system account"),
        (replace(SYSTEM, roles=frozenset(Role)), Action.EVIDENCE_VIEW, False, "system account"),
    ],
)
def test_decision(who: Actor, action: Action, allowed: bool, words: str) -> None:
    d = decision(who, action)
    assert d.allowed is allowed and words in d.reason, d
    if allowed:
        authorize(who, action)
    else:
        with pytest.raises(PermissionDenied, match=f"carol may not {action.value}|system may not"):
            authorize(who, action)


def test_nobody_but_the_table_grants_an_action() -> None:
    for action in Action:
        granting = {r for r, acts in ROLE_ACTIONS.items() if action in acts}
        for role in Role:
            assert decide(actor(role), action).allowed is (role in granting), (role, action)


def test_account_changes_make_the_account_they_name() -> None:
    from izde.governance.admins import Account

    a = Account("u1", "alice", frozenset({Role.ADMIN}), True)
    assert a.disabled() == Account("u1", "alice", frozenset({Role.ADMIN}), False)
    assert a.disabled().enabled() == a and not a.disabled().is_active_admin and a.is_active_admin
    assert a.with_roles(frozenset({Role.AUDITOR})) == Account("u1", "alice", frozenset({Role.AUDITOR}), True)
    assert not a.with_roles(frozenset({Role.AUDITOR})).is_active_admin
