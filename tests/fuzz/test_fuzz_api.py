"""The API under schemathesis: every operation with a larger example budget for several roles, then stateful
sequences that feed one response's ids into the next request (links schemathesis infers from the schema).
Whatever arrives, the server answers with success or a clear client error ({"error": ...}), never a 5xx.
The counts are printed (run with -s to see them)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Flaky

from izde.web.app import create_app
from tests.cli.helpers import PASSWORD
from tests.web.conftest import make_settings
from tests.web.site import init_users

# Twice the budget of tests/web/test_schema_fuzz.py; IZDE_FUZZ_EXAMPLES raises it for a longer run.
EXAMPLES_PER_OPERATION = int(os.environ.get("IZDE_FUZZ_EXAMPLES", "25"))
STATEFUL_STEPS = 30
STATEFUL_EXAMPLES = 60
STATEFUL_ROUNDS = 6
SKIPPED = ("/api/v1/alerts/stream", "/api/v1/auth/logout")  # never ends; would end the session under test
USERS = ("admin", "curator", "approver", "op-a", "auditor")
PER_OPERATION_USERS = ("admin", "curator", "op-a")  # plus anonymous; the stateful sequences use every role


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, dict[str, str]]]:
    home: Path = tmp_path_factory.mktemp("fuzz-api-home")
    s = make_settings(home, None)
    init_users(s)
    app = create_app(s)
    service = app.state.izde.service()
    yield app, {user: service.login(user, PASSWORD) for user in USERS}


def _check(response: Any, where: str) -> None:
    assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:500]}"
    kind = response.headers.get("content-type") or ""
    kind = kind[0] if isinstance(kind, list) and kind else kind  # schemathesis keeps each header as a list
    if response.status_code >= 400 and str(kind).startswith("application/json"):
        body = response.json()
        assert isinstance(body, dict) and ("error" in body or "detail" in body), f"{where}: {body}"


def test_every_operation_with_a_larger_budget(fuzz_app: tuple[FastAPI, dict[str, str]]) -> None:
    app, tokens = fuzz_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    counts = {"operations": 0, "requests": 0}
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in SKIPPED:
            continue

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
        )
        def no_5xx(case: schemathesis.Case) -> None:
            for user in PER_OPERATION_USERS:
                response = case.call(headers={"Authorization": f"Bearer {tokens[user]}"})
                _check(response, f"{case.method} {case.formatted_path} as {user}")
                counts["requests"] += 1
            _check(case.call(), f"{case.method} {case.formatted_path} anonymous")
            counts["requests"] += 1

        no_5xx()
        counts["operations"] += 1
    print(f"\nfuzz api: {counts['operations']} operations, {counts['requests']} requests, 0 server errors")
    assert counts["operations"] >= 30 and counts["requests"] >= 30 * EXAMPLES_PER_OPERATION * 4


def test_stateful_sequences(fuzz_app: tuple[FastAPI, dict[str, str]]) -> None:
    app, tokens = fuzz_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema = schema.exclude(path=list(SKIPPED))
    machine = schema.as_state_machine()
    stats = {"steps": 0}
    failures: list[str] = []

    class Stateful(machine):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            # Each sequence acts as the role whose operations it exercises most: the curator proposes, the
            # approver decides, operators review; alternate so every role drives some sequences.
            user = USERS[stats["steps"] % len(USERS)]
            return {"headers": {"Authorization": f"Bearer {tokens[user]}"}}

        def validate_response(self, response: Any, case: schemathesis.Case, **kwargs: Any) -> None:
            # Recorded, not raised: the server's state makes a sequence unrepeatable, so hypothesis could not
            # replay it to shrink; the first few failures are reported whole instead.
            stats["steps"] += 1
            try:
                _check(response, f"{case.method} {case.formatted_path}")
            except AssertionError as e:
                failures.append(str(e))

    found = getattr(machine, "_transitions", None)
    links = sum(len(t.outgoing) for t in found.operations.values()) if found is not None else 0
    # Only the generate phase, as schemathesis runs its own stateful phase. The server's state makes sequences
    # unrepeatable, which hypothesis may notice as a "flaky" strategy; like schemathesis' engine, start a new
    # round then (failures are collected above, never lost with it).
    restarts = 0
    for _ in range(STATEFUL_ROUNDS):
        try:
            Stateful.run(
                settings=settings(
                    max_examples=STATEFUL_EXAMPLES // STATEFUL_ROUNDS,
                    stateful_step_count=STATEFUL_STEPS,
                    phases=[Phase.generate],
                    deadline=None,
                    suppress_health_check=list(HealthCheck),
                    database=None,
                )
            )
        except Flaky:
            restarts += 1
    print(
        f"\nfuzz api stateful: {stats['steps']} requests in linked sequences ({links} links inferred, {restarts} "
        f"restarted rounds), {len(failures)} server errors"
    )
    assert failures == [], failures[:5]
    assert stats["steps"] >= 2 * STATEFUL_EXAMPLES and links > 0
