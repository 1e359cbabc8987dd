"""A server runs at most web.max_sessions watch sessions at once; the next start is refused with a clear 409."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from izde.web.app import create_app
from tests.cli.helpers import RECORDED_AT
from tests.conftest import HAMILTON, require_data
from tests.web.conftest import make_settings
from tests.web.site import Site, init_users

pytestmark = pytest.mark.slow


def test_a_start_beyond_the_session_limit_is_refused_until_a_slot_frees(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "home", None, max_sessions=1)
    init_users(settings)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        site = Site(settings, client)
        site.login_all()
        lin = site.enrol("Lin-Manuel Miranda", HAMILTON / "lin-manuel-miranda.png")
        clip = require_data(HAMILTON / "short_hamilton_clip.mp4")
        for camera in ("stage", "door"):
            site.camera(camera, clip)
        auth = site.authorise([lin], ["stage", "door"])

        def start(camera: str) -> tuple[int, dict[str, object]]:
            body = {"camera": camera, "authorisation": auth, "recorded_at": RECORDED_AT, "fps": 5.0}
            r = client.post("/api/v1/sessions", json=body, headers=site.auth("op-a"))
            return r.status_code, r.json()

        status, first = start("stage")
        assert status in (200, 201), first
        status, refused = start("door")  # the first session is still running through the 9 s clip
        assert status == 409 and "web.max_sessions = 1" in str(refused), refused
        assert "izde bench capacity" in str(refused)

        deadline = time.monotonic() + 120
        while site.ok("op-a", "GET", f"/api/v1/sessions/{first['id']}")["status"] in ("starting", "running"):
            assert time.monotonic() < deadline
            time.sleep(0.3)
        status, second = start("door")
        assert status in (200, 201), second
        site.ok("op-a", "POST", f"/api/v1/sessions/{second['id']}/stop")
