"""Credentials never appear where izde shows things: API errors, the command line, logs, stored run errors and
``izde config show``. ``rtsp://user:password@...`` once appeared verbatim in all of them."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from izde.api import Izde
from izde.cli.main import app
from izde.config import Settings
from izde.errors import SourceError
from izde.pipeline.sources import LiveSource, SourceKind, SourceSpec, parse_source
from izde.redact import install_log_redaction, redact
from izde.store import runs
from izde.web.app import create_app
from tests.security.conftest import PASSWORD

SECRET = "s3cr3t-Pa55"


@pytest.mark.parametrize(
    "text, shown",
    [
        (f"rtsp://admin:{SECRET}@10.0.0.5:554/live", "rtsp://***@10.0.0.5:554/live"),
        (f"cannot open stream rtsp://admin:{SECRET}@cam/x after 3", "cannot open stream rtsp://***@cam/x after 3"),
        (f"postgresql+psycopg://izde:{SECRET}@db:5432/izde", "postgresql+psycopg://***@db:5432/izde"),
        (f"https://cam.example/hls.m3u8?token={SECRET}&x=1", "https://cam.example/hls.m3u8?token=***&x=1"),
        ("rtsp://10.0.0.5/live and /srv/video/a.mp4", "rtsp://10.0.0.5/live and /srv/video/a.mp4"),
    ],
)
def test_redact_table(text: str, shown: str) -> None:
    assert redact(text) == shown


def test_source_errors_and_logs_hide_the_password() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        install_log_redaction()
        spec = parse_source(f"rtsp://admin:{SECRET}@127.0.0.1:9/stream")
        assert SECRET not in str(spec)
        with pytest.raises(SourceError) as e:
            LiveSource(spec, retries=1, backoff_s=0.01, timeout_ms=1000)
        logging.getLogger("izde.test").warning("raw log line naming %s", spec.location)
    finally:
        root.removeHandler(handler)
    assert SECRET not in str(e.value) and "rtsp://***@127.0.0.1:9" in str(e.value)
    logged = stream.getvalue()
    assert "unreachable" in logged and "raw log line" in logged
    assert SECRET not in logged


def test_api_error_about_a_camera_hides_the_password(settings: Settings) -> None:
    web = settings.model_copy(update={"web": settings.web.model_copy(update={"secure_cookies": False})})
    with Izde(web) as izde:
        izde.initialise("admin", PASSWORD, "City Police", law_enforcement=True)
    with TestClient(create_app(web), base_url="http://127.0.0.1") as client:
        token = client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}).json()["token"]
        for source in (f"rtsp://admin:{SECRET}@127.0.0.1/x", f"tcp://admin:{SECRET}@cam/x"):
            r = client.post(
                "/api/v1/cameras",
                json={"name": "c", "source": source},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert r.status_code == 422 and "***@" in r.text, r.text
            assert SECRET not in r.text


def test_cli_errors_hide_the_password(deployment: Izde) -> None:
    token = deployment.login("admin", PASSWORD)
    env = {"IZDE_TOKEN": token}
    if deployment.settings.database_url:
        env["IZDE_DATABASE_URL"] = deployment.settings.database_url
    home = str(deployment.settings.home)
    r = CliRunner().invoke(app, ["--home", home, "cameras", "add", "c", f"rtsp://admin:{SECRET}@127.0.0.1/x"], env=env)
    assert r.exit_code == 2 and "loopback" in r.output
    assert SECRET not in r.output


def test_stored_run_errors_hide_the_password(deployment: Izde) -> None:
    with deployment.db.session() as s:
        run = runs.start_run(
            s, camera="c", source="x", source_kind="stream", threshold=0.5, watchlist_hash="h", watchlist_size=0
        )
        runs.finish_run(s, run.id, "failed", error=f"lost rtsp://admin:{SECRET}@cam/x")
        run_id = run.id
    with deployment.db.session(readonly=True) as s:
        assert runs.get_run(s, run_id).error == "lost rtsp://***@cam/x"


def test_config_show_hides_the_database_password(tmp_path: Path) -> None:
    env = {
        "IZDE_DATABASE_URL": f"postgresql+psycopg://izde:{SECRET}@db.example:5432/izde",
        "IZDE_WEB__PUBLIC_URL": f"https://ops:{SECRET}@izde.example",
    }
    r = CliRunner().invoke(app, ["--home", str(tmp_path), "config", "show"], env=env)
    assert r.exit_code == 0, r.output
    shown = json.loads(r.stdout)
    assert shown["database_url"] == "postgresql+psycopg://***@db.example:5432/izde"
    assert SECRET not in r.stdout


def test_spec_str_is_redacted_but_location_is_kept() -> None:
    spec = SourceSpec(SourceKind.STREAM, f"rtsp://admin:{SECRET}@cam/x")
    assert spec.location.endswith("@cam/x") and SECRET in spec.location  # what the reader connects to
    assert SECRET not in f"{spec}"
