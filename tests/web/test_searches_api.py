"""Searches through the API: started on the server's archive, followed to the end, sightings read back; footage
the authorisation does not cover is refused before anything runs."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import HAMILTON, require_data
from tests.web.site import Site

pytestmark = pytest.mark.slow


def test_search_runs_on_the_server_and_answers_with_sightings(site: Site, tmp_path: Path) -> None:
    lin = site.enrol("Lin-Manuel Miranda", HAMILTON / "lin-manuel-miranda.png")
    auth = site.authorise([lin], ["hall-cam"])
    archive = tmp_path / "archive"
    (archive / "hall-cam").mkdir(parents=True)
    shutil.copy(require_data(HAMILTON / "short_hamilton_clip.mp4"), archive / "hall-cam" / "20261120T100000Z.mp4")
    body = {"archive": str(archive), "authorisation": auth, "case": "CASE-API-1", "workers": 2, "chunk_s": 5}

    refused = site.call("op-a", "POST", "/api/v1/searches", json={**body, "archive": str(tmp_path / "none")})
    assert refused.status_code == 422 and "cannot be read" in refused.json()["error"]
    started = site.call("op-a", "POST", "/api/v1/searches", json=body)
    assert started.status_code == 202, started.text
    search = started.json()
    assert search["chunks"] == 2 and search["recordings"] == 1 and search["persons"] == ["Lin-Manuel Miranda"]
    deadline = time.monotonic() + 600
    while search["status"] in ("running", "stopping"):
        assert time.monotonic() < deadline, search
        time.sleep(0.5)
        search = site.ok("auditor", "GET", f"/api/v1/searches/{search['id']}")
    assert search["status"] == "completed" and search["progress"] == 1.0, search
    sightings = site.ok("op-b", "GET", f"/api/v1/searches/{search['id']}/sightings")
    assert [(s["person"], s["camera"]) for s in sightings] == [("Lin-Manuel Miranda", "hall-cam")]
    assert sightings[0]["start"].startswith("2026-11-20T10:00:0")
    assert [s["id"] for s in site.ok("op-a", "GET", "/api/v1/searches")] == [search["id"]]
    # The sighting's alert is in the review queue like any other.
    review = site.ok(
        "op-a", "POST", f"/api/v1/alerts/{sightings[0]['best_alert']}/review", json={"decision": "confirm"}
    )
    assert review["status"] == "pending"


def test_search_outside_the_authorisations_cameras_is_refused(site: Site, tmp_path: Path) -> None:
    lin = site.enrol("Lin-Manuel Miranda", HAMILTON / "lin-manuel-miranda.png")
    auth = site.authorise([lin], ["other-cam"])
    archive = tmp_path / "a"
    (archive / "hall-cam").mkdir(parents=True)
    shutil.copy(require_data(HAMILTON / "short_hamilton_clip.mp4"), archive / "hall-cam" / "20261120T100000Z.mp4")
    r = site.call(
        "op-a", "POST", "/api/v1/searches", json={"archive": str(archive), "authorisation": auth, "case": "C"}
    )
    assert r.status_code == 403 and "hall-cam not covered" in r.json()["error"]
