"""The safeguarded case end to end on PostgreSQL, the production database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.cli.helpers import Deployment, json_lines, make_deployment
from tests.conftest import HAMILTON, require_data
from tests.store.conftest import fresh_pg_database

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def pg_deployment(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Deployment, str]]:
    with fresh_pg_database() as url:
        monkeypatch.setenv("IZDE_DATABASE_URL", url)
        yield make_deployment(home), url


def test_enrol_authorise_watch_and_confirm_on_postgres(pg_deployment: tuple[Deployment, str]) -> None:
    dep, url = pg_deployment
    lin = dep.enrol("Lin-Manuel Miranda", require_data(HAMILTON / "lin-manuel-miranda.png"))
    auth = dep.authorise([lin], ["stage"])
    r = dep.watch(require_data(HAMILTON / "short_hamilton_clip.mp4"), "stage", auth, "--json", "--fps", "2")
    assert r.exit_code == 0, r.stderr
    (alert,) = json_lines(r.stdout)
    assert alert["person_id"] == lin and Path(str(alert["evidence_path"])).is_file()

    first = dep.run("op-a", "alerts", "confirm", str(alert["id"]), "--json")
    assert first.exit_code == 0 and json_lines(first.stdout)[0]["status"] == "pending"
    assert dep.run("op-a", "alerts", "confirm", str(alert["id"])).exit_code == 5
    second = dep.run("op-b", "alerts", "confirm", str(alert["id"]), "--json")
    assert second.exit_code == 0 and json_lines(second.stdout)[0]["status"] == "confirmed"

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("select status from alerts")).all() == [("confirmed",)]
            assert conn.execute(text("select status, authorisation_id from watch_runs")).all() == [("completed", auth)]
            actions = [a for (a,) in conn.execute(text("select action from audit_log order by seq"))]
    finally:
        engine.dispose()
    tail = actions[actions.index("authorisation.grant") :]
    assert tail == ["authorisation.grant", "watch.start", "alert.raised", "watch.stop", "alert.review", "alert.review"]
