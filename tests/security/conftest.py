"""Deployments to attack: a real data directory on each database backend, with real users and passwords."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from izde.api import Izde
from izde.config import Settings
from izde.governance.roles import Role
from tests.conftest import TEST_ALLOWANCES
from tests.store.conftest import BACKENDS, _empty_pg_tables, fresh_pg_database

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _production_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    """The attacks are tried against the defaults, without the allowances the other tests run with."""
    for key in TEST_ALLOWANCES:
        monkeypatch.delenv(key, raising=False)


@pytest.fixture(scope="module")
def pg_module_url() -> Iterator[str]:
    with fresh_pg_database() as url:
        yield url


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    url = None
    if request.param == "postgres":
        url = request.getfixturevalue("pg_module_url")
        _empty_pg_tables(url)
    return Settings(home=tmp_path / "home", database_url=url)


@pytest.fixture
def deployment(settings: Settings) -> Iterator[Izde]:
    """Initialised, with an administrator logged in; ``add`` more users with :func:`add_user`."""
    with Izde(settings) as izde:
        izde.initialise("admin", PASSWORD, "City Police", law_enforcement=True)
        izde.login("admin", PASSWORD)
        yield izde


def add_user(izde: Izde, name: str, *roles: Role) -> None:
    izde.add_user(name, PASSWORD, frozenset(roles), "City Police", None)
