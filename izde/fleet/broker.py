"""The NATS JetStream adapter: connection options from the broker settings, and the streams, consumers and
key-value buckets izde uses. Nothing here knows what a session is.

- ``IZDE_JOBS`` (work queue, ``izde.jobs.<kind>``): durable work items. A worker pulls one when it has a free
  slot and holds it with in-progress acks; ack-wait (``broker.failover_s``) is the lease, so a dead worker's
  job is delivered to another worker when its lease runs out. A finished job is acked and leaves the stream.
- ``IZDE_EVENTS`` (work queue, ``izde.events.<kind>.<run>``): what workers report, each with a deterministic
  message id; the recorders' one durable consumer writes each event into the database, then acks it.
- Buckets: ``izde_workers`` (heartbeats, with a TTL so a dead worker disappears), ``izde_sessions`` (what the
  servers and workers say about each session: spec, state, stop request).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.kv import KeyValue

from izde.config import BrokerSettings
from izde.errors import IzdeError

log = logging.getLogger(__name__)

JOBS_STREAM = "IZDE_JOBS"
EVENTS_STREAM = "IZDE_EVENTS"
WORKERS_BUCKET = "izde_workers"
SESSIONS_BUCKET = "izde_sessions"
RECORDER_DURABLE = "recorder"
RPC_RECHECK = "izde.rpc.recheck"
RPC_GALLERY = "izde.rpc.gallery"
SERVERS_QUEUE = "servers"
DUPLICATE_WINDOW_S = 300.0
DRAIN_TIMEOUT_S = 5
JOB_KINDS = ("session",)  # a search chunk is a session over a file segment, so one kind serves both
MAX_PAYLOAD_HINT = "raise max_payload in the NATS server's configuration (see docs/fleet.md)"


def job_subject(kind: str) -> str:
    return f"izde.jobs.{kind}"


def event_subject(kind: str, run_id: str) -> str:
    return f"izde.events.{kind}.{run_id}"


def workers_durable(kind: str) -> str:
    return f"workers-{kind}"


class BrokerError(IzdeError):
    """The broker cannot be reached or refuses this process."""


@dataclass
class Broker:
    """One connection and its JetStream context, with izde's streams and buckets."""

    nc: Client
    js: JetStreamContext
    settings: BrokerSettings
    workers: KeyValue
    sessions: KeyValue

    async def close(self) -> None:
        if not self.nc.is_closed:
            try:
                await self.nc.drain()
            except Exception:  # a connection already gone has nothing left to drain
                await self.nc.close()

    async def keys(self, bucket: str) -> list[str]:
        """The keys of ``bucket`` that hold a message now (a deleted key's marker included: reading it says so).

        ``KeyValue.keys()`` lists through a watcher whose end is judged by a pending count that concurrent
        writes change, so a listing taken while workers write their states can miss keys, or all of them.
        The stream's subject list is the server's own snapshot, paged by the server for very large buckets."""
        stream, prefix = f"KV_{bucket}", f"$KV.{bucket}."
        keys: list[str] = []
        while True:
            request = json.dumps({"subjects_filter": f"{prefix}>", "offset": len(keys)}).encode()
            reply = json.loads((await self.nc.request(f"$JS.API.STREAM.INFO.{stream}", request, timeout=10)).data)
            if "error" in reply:
                raise BrokerError(
                    f"the NATS server refused to list the {bucket} bucket: {reply['error'].get('description')}",
                    f"allow $JS.API.STREAM.INFO.{stream} for this role (docs/fleet/nats-server.conf)",
                )
            page = list((reply.get("state") or {}).get("subjects") or {})
            keys += [subject.removeprefix(prefix) for subject in page]
            if not page or len(keys) >= int(reply.get("total") or 0):
                return keys

    async def pull_jobs(self, kind: str) -> tuple[JetStreamContext.PullSubscription, float]:
        """The workers' consumer of ``kind`` jobs, as the servers declared it, and its lease (ack-wait): the
        servers' ``broker.failover_s`` holds for the whole fleet, whatever a worker's own settings say."""
        info = await self.js.consumer_info(JOBS_STREAM, workers_durable(kind))
        sub = await self.js.pull_subscribe_bind(durable=workers_durable(kind), stream=JOBS_STREAM)
        return sub, float(info.config.ack_wait or self.settings.failover_s)

    async def pull_events(self) -> JetStreamContext.PullSubscription:
        config = ConsumerConfig(
            durable_name=RECORDER_DURABLE,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=30.0,
            max_deliver=-1,
            max_ack_pending=1000,
            deliver_policy=DeliverPolicy.ALL,
        )
        return await self.js.pull_subscribe("izde.events.>", durable=RECORDER_DURABLE, config=config)


async def connect(
    settings: BrokerSettings,
    name: str,
    *,
    on_reconnect: Callable[[], Awaitable[None]] | None = None,
    declare: bool = False,
) -> Broker:
    """Connect as ``name``. ``declare``: create (or update) streams and buckets, which only servers may do;
    workers find them in place. Refusals say what to check."""
    if not settings.url:
        raise BrokerError("no broker configured", "set broker.url (IZDE_BROKER__URL), e.g. nats://127.0.0.1:4222")
    options = connect_options(settings)
    errors: list[str] = []

    async def error_cb(e: Exception) -> None:
        errors.append(str(e) or type(e).__name__)
        log.warning("broker: %s", e)

    async def reconnected_cb() -> None:
        log.info("broker: reconnected to %s", nc.connected_url.netloc if nc.connected_url else "?")
        if on_reconnect is not None:
            await on_reconnect()

    async def disconnected_cb() -> None:
        log.warning("broker: disconnected")

    nc = Client()
    try:
        # Once connected, the client reconnects forever; the first connection gets a deadline, so that a
        # refusal (wrong credentials, no server) ends the start with a clear error instead of retrying.
        first = nc.connect(
            servers=[u.strip() for u in settings.url.split(",")],
            name=name,
            connect_timeout=max(1, round(settings.connect_timeout_s)),
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=1,
            # Closing drains subscriptions and pending publishes; bounded, so that a shutdown is too. Nothing that
            # matters waits in the client: alerts are published and acked before a worker goes on.
            drain_timeout=DRAIN_TIMEOUT_S,
            error_cb=error_cb,
            reconnected_cb=reconnected_cb,
            disconnected_cb=disconnected_cb,
            **options,
        )
        await asyncio.wait_for(first, timeout=settings.connect_timeout_s * 2 + 1)
    except (Exception, asyncio.CancelledError) as e:
        with contextlib.suppress(Exception):
            await nc.close()
        detail = "; ".join(dict.fromkeys(errors)) or str(e) or type(e).__name__
        if "authorization" in detail.lower() or "authentication" in detail.lower():
            raise BrokerError(
                f"the NATS server at {settings.url} refused {name}'s credentials: {detail}",
                "check broker.credentials_file (or broker.user and broker.password_file) for this role",
            ) from e
        raise BrokerError(
            f"cannot reach the NATS server at {settings.url}: {detail}",
            "start nats-server with JetStream (-js), or fix broker.url and the broker.tls_* settings",
        ) from e
    js = nc.jetstream(timeout=10.0)
    try:
        if declare:
            await declare_streams(js, settings)
        workers = await js.key_value(WORKERS_BUCKET)
        sessions = await js.key_value(SESSIONS_BUCKET)
    except Exception as e:
        await nc.close()
        raise BrokerError(
            f"the NATS server at {settings.url} has no izde streams, or refuses them to {name}: {e}",
            "start a server (izde serve with broker.url) first: servers create the streams; check JetStream is on",
        ) from e
    return Broker(nc, js, settings, workers, sessions)


async def declare_streams(js: JetStreamContext, settings: BrokerSettings) -> None:
    streams = [
        StreamConfig(
            name=JOBS_STREAM,
            subjects=["izde.jobs.>"],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW_S,
        ),
        StreamConfig(
            name=EVENTS_STREAM,
            subjects=["izde.events.>"],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW_S,
        ),
    ]
    for config in streams:
        try:
            await js.add_stream(config)
        except nats.js.errors.BadRequestError:
            await js.update_stream(config)
    for kind in JOB_KINDS:
        consumer = ConsumerConfig(
            durable_name=workers_durable(kind),
            filter_subject=job_subject(kind),
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=settings.failover_s,  # the lease: a job not renewed for this long goes to another worker
            max_deliver=-1,
            max_ack_pending=-1,
            deliver_policy=DeliverPolicy.ALL,
        )
        await js.add_consumer(JOBS_STREAM, consumer)
    buckets = [
        # Heartbeats outlive a dead worker by one lease at most.
        KeyValueConfig(bucket=WORKERS_BUCKET, ttl=settings.failover_s, storage=StorageType.FILE, history=1),
        KeyValueConfig(bucket=SESSIONS_BUCKET, storage=StorageType.FILE, history=1),
    ]
    for bucket in buckets:
        try:
            await js.key_value(bucket.bucket)
        except nats.js.errors.BucketNotFoundError:
            await js.create_key_value(bucket)


def connect_options(settings: BrokerSettings) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if settings.credentials_file is not None:
        options["user_credentials"] = str(settings.credentials_file)
    if settings.user is not None:
        options["user"] = settings.user
        if settings.password_file is not None:
            options["password"] = settings.password_file.read_text(encoding="utf-8").strip()
    if settings.tls_ca or settings.tls_cert:
        context = ssl.create_default_context(cafile=str(settings.tls_ca) if settings.tls_ca else None)
        if settings.tls_cert is not None:
            context.load_cert_chain(str(settings.tls_cert), str(settings.tls_key) if settings.tls_key else None)
        options["tls"] = context
    return options
