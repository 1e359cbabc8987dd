"""Delivering the webhook outbox: signed POSTs, retried with exponential backoff until the receiver answers.

Each request carries::

    X-Izde-Event: alert.raised
    X-Izde-Delivery: <outbox row id>           (the same on every retry: receivers use it to ignore repeats)
    X-Izde-Timestamp: <unix seconds>
    X-Izde-Signature: sha256=<hex HMAC-SHA256 over "<timestamp>." + body, keyed with the receiver's secret>

Signing the timestamp with the body lets a receiver refuse replays of old deliveries.

Several server processes (uvicorn workers, or servers sharing one PostgreSQL database) may each run a dispatcher
on the same outbox: each row is claimed in the database before it is sent, so only one of them sends it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from izde.config import WebhookTarget, WebSettings
from izde.errors import ConfigError
from izde.store import outbox
from izde.store.db import Database

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Izde-Signature"
TIMESTAMP_HEADER = "X-Izde-Timestamp"
POLL_S = 0.5  # also picks up alerts raised by other processes (``izde watch`` on the command line)
MIN_SECRET_BYTES = 16
CLAIM_MARGIN_S = 5.0  # on top of the POST itself: marking the row afterwards, a slow database
_PLACEHOLDERS = {"changeme", "change-me", "secret", "password", "placeholder", "todo", "test"}


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: bytes, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def claim_lease(timeout_s: float) -> timedelta:
    """How long a claimed row stays with its dispatcher: one POST and marking it.

    httpx applies the timeout to connecting and to reading the answer separately, so a slow receiver can take
    about twice timeout_s. A POST overrunning the lease costs at most a repeat, never a lost delivery."""
    return timedelta(seconds=2 * timeout_s + CLAIM_MARGIN_S)


def load_secret(target: WebhookTarget) -> bytes:
    try:
        raw = target.secret_file.read_text(encoding="utf-8").strip()
    except OSError as e:
        raise ConfigError(f"cannot read the webhook secret file {target.secret_file}: {e.strerror or e}") from None
    if raw.lower() in _PLACEHOLDERS or len(raw.encode()) < MIN_SECRET_BYTES or len(set(raw)) < 8:
        raise ConfigError(
            f"the webhook secret in {target.secret_file} is a placeholder or shorter than {MIN_SECRET_BYTES} bytes",
            "generate one, e.g. python -c 'import secrets; print(secrets.token_hex(32))'",
        )
    return raw.encode()


@dataclass(frozen=True, slots=True)
class _Due:
    id: str
    url: str
    event: str
    payload: str


class Dispatcher:
    """One thread delivering due outbox rows; dispatchers in other processes may share the outbox safely.

    Each row is claimed (leased, see :func:`claim_lease`) before its POST, so concurrent dispatchers never send
    it together. At-least-once: a process dying after its claim leaves the row to be retried when the lease
    ends, and a crash after the POST and before the row is marked means one repeat; the delivery id lets
    receivers drop repeats."""

    def __init__(self, db: Database, settings: WebSettings) -> None:
        self.db, self.settings = db, settings
        self.lease = claim_lease(settings.webhook_timeout_s)
        # Secrets are read (and checked) at start, so a bad one stops the server instead of failing later.
        self.secrets = {t.url: load_secret(t) for t in settings.webhooks}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="webhooks", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        with httpx.Client(timeout=self.settings.webhook_timeout_s, follow_redirects=False) as client:
            while not self._stop.is_set():
                try:
                    self.deliver_due(client)
                except Exception:  # a database hiccup must not end deliveries for good
                    log.exception("webhook delivery round failed")
                self._wake.wait(POLL_S)
                self._wake.clear()

    def deliver_due(self, client: httpx.Client) -> int:
        with self.db.session(readonly=True) as session:
            rows = [_Due(r.id, r.url, r.event, r.payload) for r in outbox.due(session, datetime.now(UTC))]
        sent = 0
        for row in rows:
            if self._stop.is_set():
                break
            if not self._claim(row):
                continue  # another process's dispatcher has it (or it is gone or already sent)
            error = self._post(client, row)
            self._record(row, error)
            if error is None:
                sent += 1
        return sent

    def _claim(self, row: _Due) -> bool:
        # Its own short transaction: the claim must be visible to other processes before the POST starts.
        with self.db.session() as session:
            return outbox.claim(session, row.id, datetime.now(UTC), self.lease)

    def _record(self, row: _Due, error: str | None) -> None:
        with self.db.session() as session:
            now = datetime.now(UTC)
            if error is None:
                outbox.mark_delivered(session, row.id, now)
            else:
                s = self.settings
                outbox.mark_failed(session, row.id, now, error, s.webhook_backoff_s, s.webhook_max_backoff_s)
                log.info("webhook to %s failed (%s); will retry", row.url, error)

    def _post(self, client: httpx.Client, row: _Due) -> str | None:
        secret = self.secrets.get(row.url)
        if secret is None:
            return "this receiver is no longer configured"
        body = row.payload.encode()
        ts = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Izde-Event": row.event,
            "X-Izde-Delivery": row.id,
            TIMESTAMP_HEADER: ts,
            SIGNATURE_HEADER: sign(secret, ts, body),
        }
        try:
            response = client.post(row.url, content=body, headers=headers)
        except httpx.HTTPError as e:
            return f"{type(e).__name__}: {e}"
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"
