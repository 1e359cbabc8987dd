"""Two agencies on one database: 'Other Police' tries to reach City Police's watchlist, photos, alerts, evidence,
authorisation, review and audit trail, through the HTTP API and the Python API, on SQLite and PostgreSQL. Every
record of the other organisation is "not found" (404), never a refusal that would confirm it exists."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from izde.api import Izde
from izde.errors import NotFound
from izde.store import migrate
from izde.vision.images import encode_jpeg, read_image_file
from izde.web.app import create_app
from tests.conftest import HAMILTON, require_data
from tests.store.conftest import BACKENDS, fresh_pg_database
from tests.store.factories import stored_alert
from tests.web.conftest import make_settings
from tests.web.site import RECORDED_AT, Site, add_other_organisation, init_users

CLIP = HAMILTON / "short_hamilton_clip.mp4"


@dataclass(frozen=True)
class City:
    person: str
    photo: str
    authorisation: str
    run: str
    alert: str


@pytest.fixture(scope="module")
def world(backend_url: str | None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, City]]:
    settings = make_settings(tmp_path_factory.mktemp("orgs-home"), backend_url)
    init_users(settings)  # City Police ("Police"): admin, curator, approver, op-a, op-b, auditor
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        site = Site(settings, client)
        site.login_all()
        add_other_organisation(site)  # Other Police: x-admin, x-curator, x-approver, x-operator, x-auditor
        person = site.enrol("Barack Obama", require_data(HAMILTON / "obama.jpg"))
        photo = site.ok("curator", "GET", f"/api/v1/persons/{person}")["photos"][0]["id"]
        site.camera("stage", require_data(CLIP))
        authorisation = site.authorise([person], ["stage"])
        image, _ = read_image_file(HAMILTON / "obama.jpg")
        with Izde(settings, token=site.tokens["op-a"]) as op, op.db.transaction() as (session, stage):
            run_id, alert = stored_alert(session, stage, person, encode_jpeg(image), authorisation_id=authorisation)
        site.ok("op-a", "POST", f"/api/v1/alerts/{alert}/review", json={"decision": "confirm"})
        # Other Police registers its own camera of the same name (names are unique within an organisation).
        r = site.call("x-admin", "POST", "/api/v1/cameras", json={"name": "stage", "source": str(CLIP)})
        assert r.status_code == 201, r.text
        yield site, City(person, photo, authorisation, run_id, alert)


def _not_found(site: Site, user: str, method: str, path: str, **kw: object) -> None:
    r = site.call(user, method, path, **kw)  # type: ignore[arg-type]
    assert r.status_code == 404, f"{user} {method} {path}: {r.status_code} {r.text}"
    assert set(r.json()) == {"error", "hint"}


def test_the_watchlist_alerts_and_authorisations_are_not_listed(world: tuple[Site, City]) -> None:
    site, c = world
    assert [p["id"] for p in site.ok("curator", "GET", "/api/v1/persons")] == [c.person]
    assert site.ok("x-operator", "GET", "/api/v1/persons") == []
    assert site.ok("x-operator", "GET", "/api/v1/alerts") == []
    assert site.ok("x-operator", "GET", "/api/v1/authorisations") == []
    assert site.ok("x-operator", "GET", "/api/v1/runs") == []
    cameras = site.ok("x-operator", "GET", "/api/v1/cameras")
    assert [cam["name"] for cam in cameras] == ["stage"]
    assert cameras[0]["id"] != site.ok("op-a", "GET", "/api/v1/cameras/stage")["id"]
    with Izde(site.settings, token=site.tokens["x-operator"]) as other:
        assert other.alert_feed(None) == []  # what the live feed polls


@pytest.mark.parametrize(
    ("user", "path"),
    [
        ("x-curator", "/api/v1/persons/{person}"),
        ("x-operator", "/api/v1/persons/{person}/photos/{photo}"),
        ("x-operator", "/api/v1/alerts/{alert}"),
        ("x-operator", "/api/v1/alerts/{alert}/evidence"),
        ("x-auditor", "/api/v1/alerts/{alert}"),
        ("x-approver", "/api/v1/authorisations/{authorisation}"),
        ("x-operator", "/api/v1/runs/{run}"),
        ("x-auditor", "/api/v1/reports/fria?authorisation={authorisation}"),
    ],
)
def test_reading_a_record_of_another_organisation_is_404(world: tuple[Site, City], user: str, path: str) -> None:
    site, c = world
    url = path.format(**c.__dict__)
    assert site.call("op-a" if "operator" in user else user[2:], "GET", url).status_code == 200  # it exists
    _not_found(site, user, "GET", url)


def test_a_session_under_another_organisations_authorisation_is_404(world: tuple[Site, City]) -> None:
    site, c = world
    body = {"camera": "stage", "authorisation": c.authorisation, "recorded_at": RECORDED_AT, "fps": 1.0}
    _not_found(site, "x-operator", "POST", "/api/v1/sessions", json=body)
    with Izde(site.settings, token=site.tokens["x-operator"]) as other, pytest.raises(NotFound):
        other.watch(str(require_data(CLIP)), "stage", c.authorisation, recorded_at=datetime.fromisoformat(RECORDED_AT))
    assert site.ok("x-operator", "GET", "/api/v1/runs") == []
    assert [r["id"] for r in site.ok("op-a", "GET", "/api/v1/runs")] == [c.run]


def test_the_second_confirmation_from_another_organisation_is_404(world: tuple[Site, City]) -> None:
    site, c = world
    _not_found(site, "x-operator", "POST", f"/api/v1/alerts/{c.alert}/review", json={"decision": "confirm"})
    assert site.ok("op-a", "GET", f"/api/v1/alerts/{c.alert}")["status"] == "pending"  # still one confirmation
    with Izde(site.settings, token=site.tokens["x-operator"]) as other, pytest.raises(NotFound):
        other.review(c.alert, "confirm")
    assert site.ok("op-b", "GET", f"/api/v1/alerts/{c.alert}")["status"] == "pending"


def test_removing_or_deciding_another_organisations_records_is_404(world: tuple[Site, City]) -> None:
    site, c = world
    _not_found(site, "x-curator", "DELETE", f"/api/v1/persons/{c.person}")
    _not_found(site, "x-approver", "POST", f"/api/v1/authorisations/{c.authorisation}/decision", json={"grant": False})
    _not_found(site, "x-admin", "POST", "/api/v1/users/op-a/disable")
    assert site.ok("curator", "GET", f"/api/v1/persons/{c.person}")["status"] == "active"
    assert [u["username"] for u in site.ok("x-admin", "GET", "/api/v1/users")] == [
        "x-admin",
        "x-approver",
        "x-auditor",
        "x-curator",
        "x-operator",
    ]


def test_auditors_read_their_own_organisations_entries_and_verify_the_whole_chain(world: tuple[Site, City]) -> None:
    site, c = world
    theirs = site.ok("x-auditor", "GET", "/api/v1/audit", params={"limit": 1000})
    ours = site.ok("auditor", "GET", "/api/v1/audit", params={"limit": 1000})
    city_ids = set(c.__dict__.values())
    assert theirs and not {e["subject_id"] for e in theirs} & city_ids
    assert {e["actor"] for e in theirs} <= {"x-admin", "x-curator", "x-approver", "x-operator", "x-auditor", "system"}
    assert {c.person, c.alert, c.authorisation} <= {e["subject_id"] for e in ours}
    assert not {e["actor"] for e in ours} & {"x-curator", "x-approver", "x-operator", "x-auditor"}
    checked = site.ok("x-auditor", "GET", "/api/v1/audit/verify")
    assert checked["ok"] is True and checked["count"] > len(theirs)  # every organisation's entries, as one chain


@pytest.mark.parametrize("backend", BACKENDS)
def test_existing_data_goes_to_its_creators_organisation(backend: str, tmp_path: Path) -> None:
    """A deployment from before organisations were kept apart: its rows go to the organisation of the user who
    made them, else to the first organisation."""
    sqlite = nullcontext(f"sqlite:///{tmp_path / 'old.db'}")
    with fresh_pg_database() if backend == "postgres" else sqlite as url:
        engine = create_engine(url)
        try:
            migrate.upgrade(engine, "0004")
            t0, t1 = "2026-01-01 00:00:00+00:00", "2026-01-02 00:00:00+00:00"
            with engine.begin() as conn:
                for sql in (
                    f"INSERT INTO organisations VALUES ('o1', 'City', true, '{t0}'), ('o2', 'Other', true, '{t1}')",
                    f"INSERT INTO users VALUES ('u1', 'cur', 'h', 'o1', 'curator', true, '{t0}'),"
                    f" ('u2', 'cur2', 'h', 'o2', 'curator', true, '{t0}')",
                    "INSERT INTO persons (id, display_name, category, legal_basis, issuing_authority, expires_on,"
                    f" status, created_at, proposed_by) VALUES ('p1', 'A', 'wanted', 'l', 'a', '2099-01-01',"
                    f" 'active', '{t0}', 'u2'), ('p2', 'B', 'wanted', 'l', 'a', '2099-01-01', 'active', '{t0}', NULL)",
                    "INSERT INTO reference_photos VALUES ('f1', 'p1', 'photos/p1/f1.jpg', 's', 'official_record',"
                    f" NULL, 0, 0, 1, 1, 0.5, '{t0}')",
                    "INSERT INTO templates VALUES ('t1', 'f1', 'p1', 'm', 'x')",
                    f"INSERT INTO cameras VALUES ('c1', 'gate', 'x', '', 'u2', '{t0}')",
                    f"INSERT INTO face_counts VALUES ('gate', '{t0}', 3, 1), ('lobby', '{t0}', 2, 1)",
                    "INSERT INTO audit_log (seq, at, actor, action, details, prev_hash, hash) VALUES"
                    f" (1, '{t0}', 'cur2', 'x', '{{}}', 'p', 'h'), (2, '{t0}', 'system', 'x', '{{}}', 'h', 'i')",
                ):
                    conn.execute(text(sql.replace("true", "1") if backend == "sqlite" else sql))
            migrate.upgrade(engine)
            with engine.connect() as conn:

                def owner(sql: str) -> list[str]:
                    return [row[0] for row in conn.execute(text(sql))]

                assert owner("SELECT organisation_id FROM persons ORDER BY id") == ["o2", "o1"]
                assert owner("SELECT organisation_id FROM reference_photos") == ["o2"]
                assert owner("SELECT organisation_id FROM templates") == ["o2"]
                assert owner("SELECT organisation_id FROM cameras") == ["o2"]
                assert owner("SELECT organisation_id FROM face_counts ORDER BY camera") == ["o2", "o1"]
                assert owner("SELECT organisation_id FROM audit_log ORDER BY seq") == ["o2", "o1"]
        finally:
            engine.dispose()
