"""The pure rule of what a retrospective search may cover: recorded footage, every camera, all of the time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from izde.governance.authorisations import POST_EVENT_GRACE, Scope, Status, search_allowed

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
START, END = datetime(2026, 11, 24, 0, 0, tzinfo=UTC), datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
AT = datetime(2026, 11, 24, 8, 15, tzinfo=UTC)


def _scope(**kw: object) -> Scope:
    base: dict[str, object] = {
        "id": "a1",
        "status": Status.GRANTED,
        "starts_at": START,
        "ends_at": END,
        "covers_live": False,
        "covers_recorded": True,
        "cameras": frozenset({"gate", "hall"}),
        "persons": frozenset({"p1"}),
        "urgent_reason": None,
        "requested_at": NOW - timedelta(hours=1),
        "has_fria": True,
    }
    base.update(kw)
    return Scope(**base)  # type: ignore[arg-type]


FOOTAGE = [("gate", AT, AT + timedelta(minutes=10)), ("hall", AT, AT + timedelta(minutes=5))]


@pytest.mark.parametrize(
    ("scope", "footage", "now", "allowed", "reason"),
    [
        (_scope(), FOOTAGE, NOW, True, "granted"),
        (_scope(status=Status.REJECTED), FOOTAGE, NOW, False, "rejected"),
        (_scope(status=Status.REQUESTED), FOOTAGE, NOW, False, "not granted yet"),
        (_scope(status=Status.REQUESTED, urgent_reason="child missing"), FOOTAGE, NOW, True, "urgent"),
        # Post-event searches get 48 hours for the grant, not the 24 of live sessions.
        (
            _scope(status=Status.REQUESTED, urgent_reason="x", requested_at=NOW - timedelta(hours=30)),
            FOOTAGE,
            NOW,
            True,
            "urgent",
        ),
        (
            _scope(status=Status.REQUESTED, urgent_reason="x", requested_at=NOW - POST_EVENT_GRACE),
            FOOTAGE,
            NOW,
            False,
            "within 48 hours",
        ),
        (_scope(has_fria=False), FOOTAGE, NOW, False, "impact assessment"),
        (_scope(covers_recorded=False, covers_live=True), FOOTAGE, NOW, False, "recorded footage"),
        (_scope(cameras=frozenset({"gate"})), FOOTAGE, NOW, False, "hall not covered"),
        (_scope(), [("gate", START - timedelta(seconds=1), AT)], NOW, False, "outside the authorised window"),
        (_scope(), [("gate", AT, END + timedelta(seconds=1))], NOW, False, "outside the authorised window"),
        (_scope(), [("gate", START, END)], NOW, True, "granted"),
        (_scope(), [], NOW, False, "no footage"),
    ],
)
def test_search_allowed(
    scope: Scope, footage: list[tuple[str, datetime, datetime]], now: datetime, allowed: bool, reason: str
) -> None:
    d = search_allowed(scope, footage, now)
    assert d.allowed is allowed
    assert reason in d.reason
