"""The web service behind a proxy: X-Forwarded-For is believed only from configured proxies, every response
carries the security headers, and the API docs load nothing from outside the server.

Once uvicorn ran with proxy_headers=True, so any client could send a new X-Forwarded-For with each guess and the
login limit never applied; the docs page loaded swagger-ui from a CDN."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from fastapi.testclient import TestClient

from izde.api import Izde
from izde.config import Settings
from izde.web.app import create_app
from izde.web.hardening import server_options
from tests.security.conftest import PASSWORD
from tests.web.live import free_port


def web_settings(settings: Settings, **web: object) -> Settings:
    return settings.model_copy(update={"web": settings.web.model_copy(update=web)})


def initialised(settings: Settings) -> Settings:
    with Izde(settings) as izde:
        izde.initialise("admin", PASSWORD, "City Police", law_enforcement=True)
    return settings


@contextmanager
def served(settings: Settings) -> Iterator[str]:
    """The app under uvicorn with the options 'izde serve' uses, on 127.0.0.1."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", **server_options(settings)
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        assert not thread.is_alive(), "the server did not stop"


def guesses(base: str, n: int, forwarded: bool) -> list[int]:
    with httpx.Client(base_url=base, timeout=30) as client:
        return [
            client.post(
                "/api/v1/auth/login",
                json={"username": "admin", "password": f"wrong guess {i}"},
                headers={"X-Forwarded-For": f"203.0.113.{i}"} if forwarded else {},
            ).status_code
            for i in range(n)
        ]


def test_forged_x_forwarded_for_does_not_reset_the_login_limit(settings: Settings) -> None:
    s = initialised(web_settings(settings, secure_cookies=False))
    assert server_options(s)["proxy_headers"] is False
    with served(s) as base:
        codes = guesses(base, s.security.login_attempts + 2, forwarded=True)
    assert codes[: s.security.login_attempts] == [401] * s.security.login_attempts
    assert codes[s.security.login_attempts :] == [429, 429]


def test_a_configured_proxy_is_believed(settings: Settings) -> None:
    s = initialised(web_settings(settings, secure_cookies=False, trusted_proxies=("127.0.0.1",)))
    with served(s) as base:
        codes = guesses(base, s.security.login_attempts + 2, forwarded=True)
    assert 429 not in codes  # each forwarded address is a different client behind the proxy


def test_every_response_has_the_security_headers(settings: Settings) -> None:
    s = initialised(web_settings(settings, secure_cookies=False))
    with TestClient(create_app(s), base_url="http://127.0.0.1") as client:
        for path in ("/api/v1/health", "/login", "/api/v1/persons", "/docs", "/static/console.css", "/nope"):
            r = client.get(path, follow_redirects=False)
            h = r.headers
            assert h["x-content-type-options"] == "nosniff", path
            assert h["x-frame-options"] == "DENY" and h["referrer-policy"] == "no-referrer", path
            csp = h["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
            assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0], path
            assert "strict-transport-security" not in h  # plain-HTTP test setting: no HSTS


def test_hsts_when_secure_cookies_are_on(settings: Settings) -> None:
    s = initialised(web_settings(settings, secure_cookies=True))
    with TestClient(create_app(s), base_url="https://127.0.0.1") as client:
        assert "max-age=" in client.get("/api/v1/health").headers["strict-transport-security"]


def test_docs_load_nothing_from_outside(settings: Settings) -> None:
    s = initialised(web_settings(settings, secure_cookies=False))
    with TestClient(create_app(s), base_url="http://127.0.0.1") as client:
        page = client.get("/docs").text
        urls = re.findall(r"(?:src|href)='([^']+)'", page)
        assert urls and all(u.startswith("/") for u in urls), urls
        assert "cdn" not in page.lower() and "<script>" not in page  # no inline script either
        for u in urls:
            r = client.get(u)
            assert r.status_code == 200 and len(r.content) > 100, u
        assert client.get("/openapi.json").json()["info"]["title"] == "izde"
