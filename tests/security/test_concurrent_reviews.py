"""Racing reviews of one alert, as real concurrent transactions (threads, each with its own connection).

Without the row lock and the unique (alert, user, stage) key, four parallel confirmations by one operator were all
stored on PostgreSQL, and a confirmation racing a rejection ended ``confirmed`` with the rejection recorded."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from izde.api import Izde
from izde.config import Settings
from izde.errors import IzdeError
from izde.governance.roles import Role
from izde.store import alerts as alert_store
from izde.store import persons, runs
from izde.store.models import Alert, AlertReview
from tests.security.conftest import PASSWORD, add_user
from tests.store.factories import photo, spec


def make_alert(izde: Izde) -> str:
    with izde.db.transaction() as (session, stage):
        person = persons.add_person(session, stage, spec(), [photo()])
        run = runs.start_run(
            session,
            camera="door",
            source="x.mp4",
            source_kind="file",
            threshold=0.5,
            watchlist_hash="h",
            watchlist_size=1,
        )
        alert = alert_store.add_alert(
            session,
            stage,
            run_id=run.id,
            person_id=person.id,
            track_id=1,
            frame_time=datetime.now(UTC),
            position_s=1.0,
            distance=0.3,
            threshold=0.5,
            quality=1.0,
            evidence_jpeg=None,
        )
        return alert.id


def race(settings: Settings, calls: list[tuple[str, Callable[[Izde], object]]]) -> list[object]:
    """Run each (user, call) in its own thread and service, released together; results or errors, in order."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def one(i: int, user: str, call: Callable[[Izde], object]) -> None:
        with Izde(settings) as izde:
            izde.login(user, PASSWORD)
            barrier.wait(timeout=60)
            try:
                results[i] = call(izde)
            except (IzdeError, IntegrityError) as e:
                results[i] = e

    threads = [threading.Thread(target=one, args=(i, u, c)) for i, (u, c) in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a review hung"
    return results


def reviews(izde: Izde, alert: str) -> list[tuple[str, str]]:
    with izde.db.session(readonly=True) as s:
        q = select(AlertReview.user_id, AlertReview.decision).where(AlertReview.alert_id == alert)
        return sorted((u, d) for u, d in s.execute(q))


def status(izde: Izde, alert: str) -> str:
    with izde.db.session(readonly=True) as s:
        return s.scalars(select(Alert.status).where(Alert.id == alert)).one()


@pytest.fixture
def operators(deployment: Izde) -> Izde:
    for name in ("op-a", "op-b", "op-c"):
        add_user(deployment, name, Role.OPERATOR)
    return deployment


def test_parallel_confirmations_by_one_operator_count_once(operators: Izde) -> None:
    alert = make_alert(operators)
    results = race(operators.settings, [("op-a", lambda i: i.review(alert, "confirm"))] * 4)
    assert sum(not isinstance(r, Exception) for r in results) == 1, results
    assert all(isinstance(r, IzdeError) for r in results if isinstance(r, Exception)), results
    assert len(reviews(operators, alert)) == 1
    assert status(operators, alert) == "pending"  # one person's confirmation is never two


def test_confirmation_racing_a_rejection_ends_consistent(operators: Izde) -> None:
    for _ in range(3):
        alert = make_alert(operators)
        operators.login("op-a", PASSWORD)
        operators.review(alert, "confirm")
        results = race(
            operators.settings,
            [("op-b", lambda i, a=alert: i.review(a, "confirm")), ("op-c", lambda i, a=alert: i.review(a, "reject"))],
        )
        assert sum(not isinstance(r, Exception) for r in results) == 1, results
        decisions = [d for _, d in reviews(operators, alert)]
        final = status(operators, alert)
        if final == "confirmed":
            assert sorted(decisions) == ["confirm", "confirm"]
        else:
            assert final == "dismissed" or final == "rejected", final
            assert sorted(decisions) == ["confirm", "reject"]


def test_outcome_by_a_confirmer_is_still_allowed(operators: Izde) -> None:
    alert = make_alert(operators)
    for name in ("op-a", "op-b"):
        operators.login(name, PASSWORD)
        operators.review(alert, "confirm")
    operators.review(alert, "outcome_true")  # op-b confirmed and records the outcome: a different stage
    assert status(operators, alert) == "confirmed_true"
