"""Cameras read only camera-like sources, and sessions read only registered cameras.

An administrator could once register /etc/passwd, the database file, the photos folder, tcp://127.0.0.1:22 or the
cloud metadata address as a camera, and a session on the SQLite file broke its locks; an operator could watch any
path under any camera label. Each such source is tried, through the service and over the HTTP API."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from izde.api import Izde
from izde.config import Settings, load_settings
from izde.errors import ConfigError, InvalidInput, NotFound, SourceError
from izde.governance.roles import Role
from izde.governance.sources import SourcePolicy, SourceRefused, check_url
from izde.web.app import create_app
from tests.conftest import HAMILTON, require_data
from tests.security.conftest import PASSWORD, add_user

CLIP = HAMILTON / "short_hamilton_clip.mp4"

REFUSED_URLS = [
    "tcp://127.0.0.1:22",
    "udp://10.0.0.1:5000",
    "rtmp://cam.example/live",
    "file:///etc/passwd",
    "http://169.254.169.254/latest/meta-data/",
    "rtsp://127.0.0.1:554/stream",
    "rtsp://localhost/stream",
    "http://[::1]:8080/video.mjpg",
    "rtsp://0.0.0.0/x",
    "rtsp://[::ffff:127.0.0.1]/x",
    "http://224.0.0.1/x",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_non_camera_urls_are_refused(deployment: Izde, url: str) -> None:
    with pytest.raises(SourceRefused):
        deployment.add_camera("c", url)
    assert deployment.cameras() == []


def test_system_files_devices_and_izdes_own_data_are_refused(deployment: Izde, tmp_path: Path) -> None:
    home = deployment.settings.home
    (home / "photos").mkdir(exist_ok=True)
    own = [home, home / "photos", deployment.settings.audit_key_path, deployment.settings.audit_key_path.parent]
    if deployment.settings.database_url is None:
        own.append(home / "izde.db")
    for source in ["/etc/passwd", "/proc/self/environ", *map(str, own)]:
        with pytest.raises(SourceRefused):
            deployment.add_camera("c", source)
    with pytest.raises(SourceError, match="not a regular file"):
        deployment.add_camera("c", "/dev/zero")  # would never end
    # A folder that holds the data directory is refused too: a session on it would read the database.
    with pytest.raises(SourceRefused):
        deployment.add_camera("c", str(home.parent))
    assert deployment.cameras() == []


def test_symlink_into_the_data_directory_is_refused(deployment: Izde, tmp_path: Path) -> None:
    link = tmp_path / "innocent.mp4"
    target = deployment.settings.audit_key_path
    link.symlink_to(target)
    with pytest.raises(SourceRefused):
        deployment.add_camera("c", str(link))


def test_camera_like_sources_are_accepted(deployment: Izde) -> None:
    deployment.add_camera("lobby", "rtsp://user:pw@10.1.2.3:554/stream1")  # private networks are where cameras are
    deployment.add_camera("gate", "https://cam.invalid/hls/index.m3u8")  # not resolvable now: checked when read
    deployment.add_camera("stage", str(require_data(CLIP)))
    deployment.add_camera("webcam", "0")
    assert {c.name for c in deployment.cameras()} == {"lobby", "gate", "stage", "webcam"}


def test_private_hosts_allowed_only_when_listed(settings: Settings) -> None:
    allowed = settings.model_copy(
        update={"cameras": settings.cameras.model_copy(update={"allow_private_hosts": ("127.0.0.1",)})}
    )
    check_url("rtsp://127.0.0.1:8554/x", SourcePolicy.of(allowed))
    with pytest.raises(SourceRefused):
        check_url("rtsp://169.254.169.254/x", SourcePolicy.of(allowed))
    # A name that resolves to loopback is refused like the address itself.
    with pytest.raises(SourceRefused):
        check_url("rtsp://cam.example/x", SourcePolicy.of(settings), resolve=lambda host: ["127.0.0.1"])


def test_media_folders_bound_file_sources(settings: Settings, tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    (media / "in.mp4").write_bytes(b"x")
    (tmp_path / "out.mp4").write_bytes(b"x")
    s = settings.model_copy(update={"cameras": settings.cameras.model_copy(update={"media_folders": (media,)})})
    with Izde(s) as izde:
        izde.initialise("admin", PASSWORD, "City Police", law_enforcement=True)
        izde.login("admin", PASSWORD)
        izde.add_camera("in", str(media / "in.mp4"))
        with pytest.raises(SourceRefused, match="outside the media folders"):
            izde.add_camera("out", str(tmp_path / "out.mp4"))
        with pytest.raises(SourceRefused):
            izde.add_camera("escape", str(media / ".." / "out.mp4"))


def test_sessions_read_only_registered_cameras(deployment: Izde) -> None:
    add_user(deployment, "op", Role.OPERATOR)
    deployment.add_camera("stage", str(require_data(CLIP)))
    deployment.login("op", PASSWORD)
    # An unregistered camera label over an arbitrary file, and a registered camera with another source.
    with pytest.raises(NotFound):
        deployment.watch("/etc/passwd", "stage-2", "no-such-authorisation")
    with pytest.raises(SourceRefused, match="another source"):
        deployment.watch(str(deployment.settings.audit_key_path), "stage", "no-such-authorisation")
    # The registered source itself goes on to the authorisation check.
    with pytest.raises(NotFound, match="authorisation"):
        deployment.watch(None, "stage", "no-such-authorisation", recorded_at=datetime.now(UTC))


def test_unregistered_sources_still_obey_the_policy(settings: Settings) -> None:
    s = settings.model_copy(update={"cameras": settings.cameras.model_copy(update={"registered_only": False})})
    with Izde(s) as izde:
        izde.initialise("admin", PASSWORD, "City Police", law_enforcement=True)
        izde.login("admin", PASSWORD)
        add_user(izde, "op", Role.OPERATOR)
        izde.login("op", PASSWORD)
        for source in ("/etc/passwd", str(s.audit_key_path), "tcp://127.0.0.1:22"):
            with pytest.raises(InvalidInput):
                izde.watch(source, "c", "no-such-authorisation")


def test_api_refuses_the_source_with_a_clear_422(settings: Settings) -> None:
    web = settings.model_copy(update={"web": settings.web.model_copy(update={"secure_cookies": False})})
    with Izde(web) as izde:
        izde.initialise("admin", PASSWORD, "City Police", law_enforcement=True)
    with TestClient(create_app(web), base_url="http://127.0.0.1") as client:
        token = client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        for source in ("http://169.254.169.254/latest/meta-data/", "/etc/passwd", "tcp://127.0.0.1:22"):
            r = client.post("/api/v1/cameras", json={"name": "x", "source": source}, headers=auth)
            assert r.status_code == 422, (source, r.text)
            assert r.json()["error"]
        assert client.get("/api/v1/cameras", headers=auth).json() == []


@pytest.mark.parametrize(
    "url, allow, ok",
    [
        ("https://hooks.example/izde", (), True),
        ("http://hooks.example/izde", (), False),
        ("http://127.0.0.1:9000/hook", (), False),
        ("http://127.0.0.1:9000/hook", ("127.0.0.1",), True),
    ],
)
def test_webhooks_are_https_unless_allowed(tmp_path: Path, url: str, allow: tuple[str, ...], ok: bool) -> None:
    web = {"webhooks": [{"url": url, "secret_file": str(tmp_path / "s")}], "allow_http_webhook_hosts": list(allow)}
    if ok:
        load_settings(home=tmp_path, web=web)
    else:
        with pytest.raises(ConfigError, match="https"):
            load_settings(home=tmp_path, web=web)
