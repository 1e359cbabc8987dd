"""Property-based requests generated from the OpenAPI schema: whatever arrives, the server answers with a
client error or success, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings

from izde.web.app import create_app
from tests.cli.helpers import PASSWORD
from tests.web.conftest import make_settings
from tests.web.site import init_users

MAX_EXAMPLES = 12


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, dict[str, str]]]:
    home: Path = tmp_path_factory.mktemp("fuzz-home")
    s = make_settings(home, None)
    init_users(s)
    app = create_app(s)
    service = app.state.izde.service()
    tokens = {user: service.login(user, PASSWORD) for user in ("curator", "op-a", "auditor")}
    yield app, tokens


def test_no_server_errors(fuzz_app: tuple[FastAPI, dict[str, str]]) -> None:
    app, tokens = fuzz_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        # The feed never ends, and logging out would end the session the other requests use.
        if operation.path in ("/api/v1/alerts/stream", "/api/v1/auth/logout"):
            continue

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def no_500(case: schemathesis.Case) -> None:
            for user in ("curator", "op-a", "auditor"):
                response = case.call(headers={"Authorization": f"Bearer {tokens[user]}"})
                assert response.status_code < 500, f"{case.method} {case.formatted_path} as {user}: {response.text}"
            assert case.call().status_code < 500

        no_500()
        checked += 1
    assert checked >= 30
