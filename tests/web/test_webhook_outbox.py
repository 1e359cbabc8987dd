"""The webhook outbox shared by several dispatchers (as several server processes would run them), on SQLite and
PostgreSQL: a due row is claimed by exactly one of them, and every delivery reaches the receiver once."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from izde.config import Settings
from izde.store import outbox
from izde.store.db import Database
from izde.store.models import Organisation, WebhookDelivery
from izde.web.webhooks import Dispatcher
from tests.store.conftest import _empty_pg_tables
from tests.store.test_runs_alerts import new_person, new_run, raise_alert
from tests.web.conftest import make_settings
from tests.web.live import Receiver, free_port

LEASE = timedelta(seconds=30)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver(free_port())
    hook.start()
    yield hook
    hook.stop()


@pytest.fixture
def settings(backend_url: str | None, tmp_path: Path, receiver: Receiver) -> Settings:
    """A deployment with one webhook receiver, on an empty database of each backend."""
    if backend_url is not None:
        _empty_pg_tables(backend_url)  # the PostgreSQL database is shared by the module's tests
    (tmp_path / "hook.secret").write_text(secrets.token_hex(32) + "\n")
    hooks = [{"url": receiver.url, "secret_file": str(tmp_path / "hook.secret")}]
    return make_settings(tmp_path / "home", backend_url, webhooks=hooks, webhook_timeout_s=10.0)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    """Alerts are an organisation's records: written through a database scoped to one (dispatchers are not)."""
    with Database.open(settings) as database:
        with database.session() as session:
            org = Organisation(name="Police", law_enforcement=True)
            session.add(org)
            session.flush()
            org_id = org.id
        yield database.scoped(org_id)


def queue(db: Database, url: str, count: int) -> list[str]:
    """Ids of ``count`` new outbox rows for one alert, all due now."""
    alert = raise_alert(db, new_run(db), new_person(db))
    with db.session() as s:
        outbox.enqueue_alert(s, alert, [url] * count, "https://izde.example")
        return sorted(s.scalars(select(WebhookDelivery.id)))


def claim(db: Database, delivery_id: str, now: datetime) -> bool:
    with db.session() as s:
        return outbox.claim(s, delivery_id, now, LEASE)


def test_a_due_row_is_claimed_once_until_its_lease_ends(db: Database, receiver: Receiver) -> None:
    pending, sent = queue(db, receiver.url, 2)
    t0 = datetime.now(UTC)
    with db.session() as s:
        outbox.mark_delivered(s, sent, t0)

    assert claim(db, pending, t0)
    assert not claim(db, pending, t0)  # a second dispatcher at the same moment
    assert not claim(db, pending, t0 + LEASE - timedelta(seconds=1))
    with db.session(readonly=True) as s:
        assert outbox.due(s, t0 + LEASE - timedelta(seconds=1)) == []
    assert claim(db, pending, t0 + LEASE)  # the first one died: the row is free again
    with db.session(readonly=True) as s:
        row = s.get(WebhookDelivery, pending)
        assert row is not None and row.next_attempt_at == t0 + 2 * LEASE and row.attempts == 0

    assert not claim(db, sent, t0 + timedelta(days=1))  # delivered rows are never sent again
    assert not claim(db, "0" * 32, t0)  # deleted with its alert


def test_a_claimed_row_that_failed_waits_for_its_backoff(db: Database, receiver: Receiver) -> None:
    (delivery,) = queue(db, receiver.url, 1)
    t0 = datetime.now(UTC)
    assert claim(db, delivery, t0)
    with db.session() as s:
        outbox.mark_failed(s, delivery, t0, "HTTP 503", 1.0, 60.0)
    assert not claim(db, delivery, t0 + timedelta(seconds=0.5))
    assert claim(db, delivery, t0 + timedelta(seconds=1))


def test_two_dispatchers_on_one_database_send_every_delivery_once(
    db: Database, settings: Settings, receiver: Receiver
) -> None:
    ids = queue(db, receiver.url, 20)
    start = threading.Barrier(2)
    sent: list[int] = []
    errors: list[BaseException] = []

    def dispatch(database: Database) -> None:
        try:
            dispatcher = Dispatcher(database, settings.web)
            with httpx.Client(timeout=settings.web.webhook_timeout_s) as client:
                start.wait(10)  # both read the same due rows before either sends one
                sent.append(dispatcher.deliver_due(client))
        except BaseException as e:
            errors.append(e)

    # A second engine, as another server process would have.
    with Database.open(settings) as other:
        threads = [threading.Thread(target=dispatch, args=(d,)) for d in (db, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert errors == []

    received = sorted(headers["X-Izde-Delivery"] for headers, _ in receiver.received)
    assert received == ids
    assert sum(sent) == len(ids)
    with db.session(readonly=True) as s:
        assert all(r.delivered_at is not None and r.attempts == 1 for r in s.scalars(select(WebhookDelivery)))
