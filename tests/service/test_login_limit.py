"""The login limit in the service, on a real database (SQLite, and PostgreSQL where it runs): failures count per
user name and address, the right password does not get past a locked key, a success clears the count, and
separate service objects on one database (separate processes or servers) count together."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, inspect, select

from izde.api import Izde
from izde.config import Settings
from izde.governance.login_limit import TooManyFailedLogins
from izde.governance.roles import Role
from izde.governance.users import AuthenticationFailed
from izde.store import login_failures
from izde.store.models import AuditEntry, LoginFailure
from tests.cli.helpers import PASSWORD
from tests.store.conftest import BACKENDS, fresh_pg_database

ATTEMPTS = 3
WRONG = "not the password at all"


@pytest.fixture(scope="module", params=BACKENDS)
def _deployment(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """An administrator and two users, made once per backend (argon2 hashing is deliberately slow)."""

    def make(url: str | None) -> Settings:
        settings = Settings(
            home=tmp_path_factory.mktemp("login-home"),
            database_url=url,
            security={"login_attempts": ATTEMPTS, "login_window_s": 600},
        )
        with Izde(settings) as service:
            service.initialise("admin", PASSWORD, "Police", True)
            service.login("admin", PASSWORD)
            for name in ("alice", "bob"):
                service.add_user(name, PASSWORD, frozenset({Role.OPERATOR}), "Police", None)
        return settings

    if request.param == "sqlite":
        yield make(None)
        return
    with fresh_pg_database() as url:
        yield make(url)


@pytest.fixture
def settings(_deployment: Settings) -> Iterator[Settings]:
    """The deployment with no failed logins on record, whatever the previous test left."""
    yield _deployment
    with Izde(_deployment) as service, service.db.session() as session:
        session.execute(delete(LoginFailure))


def fail(service: Izde, user: str, times: int, address: str = "10.0.0.1") -> None:
    for _ in range(times):
        with pytest.raises(AuthenticationFailed) as e:
            service.login(user, WRONG, address=address)
        assert not isinstance(e.value, TooManyFailedLogins)


def test_failures_lock_the_key_even_for_the_right_password(settings: Settings) -> None:
    with Izde(settings) as service:
        fail(service, "alice", ATTEMPTS)
        with pytest.raises(TooManyFailedLogins) as e:
            service.login("alice", PASSWORD, address="10.0.0.1")
        assert service.actor is None
        assert 590 <= e.value.retry_after <= 600 and e.value.hint == f"try again in {e.value.retry_after} s"
        # The same user name however it is typed.
        with pytest.raises(TooManyFailedLogins):
            service.login(" ALICE ", PASSWORD, address="10.0.0.1")


def test_other_addresses_and_users_are_not_affected(settings: Settings) -> None:
    with Izde(settings) as service:
        fail(service, "alice", ATTEMPTS)
        assert service.login("alice", PASSWORD, address="10.0.0.2")
        assert service.login("bob", PASSWORD, address="10.0.0.1")
        assert service.login("alice", PASSWORD)  # the command line's and Python API's own address


def test_a_success_clears_the_count(settings: Settings) -> None:
    with Izde(settings) as service:
        fail(service, "alice", ATTEMPTS - 1)
        assert service.login("alice", PASSWORD, address="10.0.0.1")
        fail(service, "alice", ATTEMPTS - 1)  # would have locked the key without the success in between
        assert service.login("alice", PASSWORD, address="10.0.0.1")


def test_unknown_user_names_are_limited_too(settings: Settings) -> None:
    # Otherwise the limit would tell which names exist.
    with Izde(settings) as service:
        fail(service, "nobody", ATTEMPTS)
        with pytest.raises(TooManyFailedLogins):
            service.login("nobody", WRONG, address="10.0.0.1")


def test_separate_services_on_one_database_count_together(settings: Settings) -> None:
    """Two service objects, each with its own engine, as two server processes (or a server and the command
    line) on one database would be."""
    with Izde(settings) as first, Izde(settings) as second:
        assert first.db is not second.db
        fail(first, "alice", ATTEMPTS - 1)
        fail(second, "alice", 1)
        for service in (first, second):
            with pytest.raises(TooManyFailedLogins):
                service.login("alice", PASSWORD, address="10.0.0.1")
    with Izde(settings) as restarted, pytest.raises(TooManyFailedLogins):
        restarted.login("alice", PASSWORD, address="10.0.0.1")


def test_concurrent_attempts_cannot_pass_the_limit_together(settings: Settings) -> None:
    # Each thread has its own service and connection pool; all start guessing at once.
    threads_n = ATTEMPTS * 3
    outcomes: list[str] = []
    start = threading.Barrier(threads_n)

    def guess() -> None:
        with Izde(settings) as service:
            service.db  # noqa: B018  (connect before the race, not during it)
            start.wait()
            try:
                service.login("alice", WRONG, address="10.0.0.9")
            except TooManyFailedLogins:
                outcomes.append("refused")
            except AuthenticationFailed:
                outcomes.append("checked")

    threads = [threading.Thread(target=guess) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["checked"] * ATTEMPTS + ["refused"] * (threads_n - ATTEMPTS)


def test_failures_and_lockouts_are_audited_and_refusals_cost_no_record(settings: Settings) -> None:
    with Izde(settings) as service:
        with service.db.session(readonly=True) as session:
            before = session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1))
        fail(service, "bob", ATTEMPTS, address="10.0.0.3")
        for _ in range(2):
            with pytest.raises(TooManyFailedLogins):
                service.login("bob", PASSWORD, address="10.0.0.3")
        query = select(AuditEntry.action, AuditEntry.actor, AuditEntry.details).where(AuditEntry.seq > before)
        with service.db.session(readonly=True) as session:
            entries = list(session.execute(query.order_by(AuditEntry.seq)))
            rows = session.scalar(select(func.count()).where(LoginFailure.username == "bob"))
    assert [(action, actor) for action, actor, _ in entries] == [("login.failed", "bob")] * ATTEMPTS
    assert "locked_for_s" in entries[-1].details and "locked_for_s" not in entries[0].details
    assert "10.0.0.3" not in "".join(e.details for e in entries)  # the audit log keeps no addresses
    assert rows == ATTEMPTS  # refused attempts are not failures: they do not prolong the pause


def test_failures_keep_only_the_name_address_and_time_and_old_ones_are_pruned(settings: Settings) -> None:
    with Izde(settings) as service:
        columns = {c["name"] for c in inspect(service.db.engine).get_columns("login_failures")}
        assert columns == {"id", "username", "address", "at"}
        old = datetime.now(UTC) - timedelta(seconds=settings.security.login_window_s + 60)
        with service.db.session() as session:
            login_failures.add(session, "carol", "10.0.0.4", old, forget_before=old - timedelta(days=1))
        fail(service, "alice", 1)
        with service.db.session(readonly=True) as session:
            kept = {
                (name, address)
                for name, address in session.execute(select(LoginFailure.username, LoginFailure.address))
            }
    assert kept == {("alice", "10.0.0.1")}


def test_login_settings_from_the_old_web_section_still_apply(settings: Settings) -> None:
    # Deployments configured before the limit moved into the service keep their values.
    old_style = Settings(home=settings.home, database_url=settings.database_url, web={"login_attempts": 1})
    assert old_style.security.login_attempts == 1
    with Izde(old_style) as service:
        fail(service, "bob", 1, address="10.0.0.5")
        with pytest.raises(TooManyFailedLogins):
            service.login("bob", PASSWORD, address="10.0.0.5")
