"""A service on each database backend (SQLite always; PostgreSQL where it runs), with an audit key."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from izde.api import Izde
from izde.config import Settings
from izde.governance import audit
from izde.governance.roles import Actor, Role
from izde.store.models import Organisation
from tests.store.conftest import BACKENDS, _empty_pg_tables, fresh_pg_database

AUDITOR = Actor("u-auditor", "auditor", frozenset({Role.AUDITOR}), "Police", True)


@pytest.fixture(scope="module")
def pg_module_url() -> Iterator[str]:
    with fresh_pg_database() as url:
        yield url


@pytest.fixture(params=BACKENDS)
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Izde]:
    """An empty deployment acting as an auditor (no login: the roles are what the tests need)."""
    home = tmp_path / "home"
    url = None
    if request.param == "postgres":
        url = request.getfixturevalue("pg_module_url")
        _empty_pg_tables(url)
    settings = Settings(home=home, database_url=url)
    audit.create_key(settings.audit_key_path)
    with Izde(settings) as izde:
        with izde.db.session() as session:
            org = Organisation(name=AUDITOR.organisation, law_enforcement=True)
            session.add(org)
            session.flush()
            izde.actor = replace(AUDITOR, organisation_id=org.id)
        yield izde
