"""Web tests run against the real app on a temporary SQLite database and on PostgreSQL (a fresh database
per module), migrated by the app itself at start."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from izde.config import Settings
from izde.web.app import create_app
from tests.store.conftest import BACKENDS, fresh_pg_database
from tests.web.site import Site, init_users


def make_settings(home: Path, db_url: str | None, **web: object) -> Settings:
    return Settings(home=home, database_url=db_url, web={"secure_cookies": False, **web})


@pytest.fixture(scope="module", params=BACKENDS)
def backend_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    if request.param == "sqlite":
        yield None  # the data directory's own izde.db
        return
    with fresh_pg_database() as url:
        yield url


@pytest.fixture(scope="module")
def site(backend_url: str | None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    settings = make_settings(tmp_path_factory.mktemp("web-home"), backend_url)
    init_users(settings)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        s = Site(settings, client)
        s.login_all()
        yield s
