"""Against a real server: the live alert feed (SSE) and webhooks through the durable outbox, with the
receiver down while the alert is raised and back later."""

from __future__ import annotations

import json
import secrets
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from izde.web.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from tests.web.conftest import make_settings
from tests.web.live import Receiver, free_port, live_server
from tests.web.site import Site, init_users

pytestmark = pytest.mark.slow


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_alert_feed_and_webhook_outbox_survive_a_receiver_outage(backend_url: str | None, tmp_path: Path) -> None:
    secret = secrets.token_hex(32)
    (tmp_path / "hook.secret").write_text(secret + "\n")
    receiver = Receiver(free_port())  # not started: the receiver is down when the alert is raised
    hooks = [{"url": receiver.url, "secret_file": str(tmp_path / "hook.secret")}]
    settings = make_settings(
        tmp_path / "home",
        backend_url,
        webhooks=hooks,
        webhook_backoff_s=0.2,
        webhook_max_backoff_s=1.0,
        public_url="https://izde.example",
    )
    init_users(settings)
    with live_server(settings) as base, httpx.Client(base_url=base, timeout=30) as client:
        site = Site(settings, client)
        site.login_all()
        events: list[dict[str, Any]] = []

        def listen() -> None:
            with httpx.stream("GET", f"{base}/api/v1/alerts/stream", headers=site.auth("op-b"), timeout=120) as r:
                assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
                name = None
                for line in r.iter_lines():
                    if line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: ") and name == "alert":
                        events.append(json.loads(line[6:]))
                        return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        time.sleep(1.5)  # the stream is open before the alert is raised
        run = site.watch_hamilton(camera="stage-live")
        assert run["session"]["alerts"] >= 1
        listener.join(30)
        assert events and events[0]["person_name"] == "Lin-Manuel Miranda" and events[0]["camera"] == "stage-live"

        time.sleep(1.5)  # a few delivery attempts fail meanwhile
        assert receiver.received == []
        receiver.start()
        try:
            wait_for(lambda: len(receiver.received) >= run["session"]["alerts"], 30, "webhook delivery")
        finally:
            receiver.stop()
        headers, body = receiver.received[0]
        assert verify(secret.encode(), headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
        assert not verify(b"another secret entirely", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
        payload = receiver.payloads()[0]
        assert payload["alert_id"] == events[0]["id"] and payload["person_id"] == run["person"]
        assert payload["link"] == f"https://izde.example/alerts/{payload['alert_id']}"
        assert set(payload) == {
            "event",
            "alert_id",
            "camera",
            "person_id",
            "time",
            "raised_at",
            "distance",
            "threshold",
            "candidate_only",
            "link",
        }  # no image, no descriptor, no name
        assert len(body) < 1000


def test_the_alert_feed_of_a_disabled_user_ends_within_seconds(tmp_path: Path) -> None:
    from izde.service import core
    from izde.web import sse

    settings = make_settings(tmp_path / "home", None)
    init_users(settings)
    with live_server(settings) as base, httpx.Client(base_url=base, timeout=30) as client:
        site = Site(settings, client)
        site.login_all()
        ended = threading.Event()
        last: list[str] = []

        def listen() -> None:
            with httpx.stream("GET", f"{base}/api/v1/alerts/stream", headers=site.auth("op-b"), timeout=120) as r:
                assert r.status_code == 200
                last.extend(line for line in r.iter_lines() if line.startswith(("event: ", "data: ")))
            ended.set()

        threading.Thread(target=listen, daemon=True).start()
        time.sleep(1.5)
        assert not ended.is_set()  # the feed stays open while op-b may receive alerts
        r = client.post("/api/v1/users/op-b/disable", headers=site.auth("admin"))
        assert r.status_code == 200, r.text
        assert ended.wait(core.TOKEN_RECHECK_S + sse.POLL_S + 5), "the disabled user's feed kept running"
        assert last[-2] == "event: end" and "not logged in" in last[-1]
        again = client.get("/api/v1/alerts/stream", headers=site.auth("op-b"))
        assert again.status_code == 401
