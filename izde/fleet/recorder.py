"""The recorder's consumer: fleet events into the database, each in one transaction, then acked.

Every server with ``broker.recorder`` on (or a dedicated ``izde recorder``) pulls from the one durable
consumer, so each event goes to one recorder at a time. An event is acked only after its commit; one that
fails (the database away) is redelivered. Writes are idempotent, so a redelivery never doubles anything."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import nats.errors
from nats.aio.msg import Msg
from pydantic import ValidationError

from izde.errors import IzdeError
from izde.fleet import metrics
from izde.fleet.broker import Broker
from izde.fleet.messages import AlertMsg, CountersMsg, FinishMsg
from izde.runner.recorder import AlertRecord, RunEnd, RunRecorder
from izde.store.runs import RunCounters, RunStatus

if TYPE_CHECKING:
    from izde.api import Izde

log = logging.getLogger(__name__)
BATCH = 50
RETRY_DELAY_S = 1.0


class EventRecorder:
    def __init__(self, broker: Broker, root: Izde) -> None:
        self.broker = broker
        settings = root.settings
        self.recorder = RunRecorder(
            root.db,
            root.audit,
            [w.url for w in settings.web.webhooks],
            settings.web.public_url,
            # A replacement worker that sees again the passage its predecessor reported, under new track ids.
            same_person_within_s=settings.pipeline.cooldown_s,
        )

    async def run(self, stop: asyncio.Event) -> None:
        sub = await self.broker.pull_events()
        while not stop.is_set():
            try:
                msgs = await sub.fetch(BATCH, timeout=1.0)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            except Exception as e:  # the broker restarting: the client reconnects by itself
                log.debug("recorder: fetch failed: %s", e)
                await asyncio.sleep(0.5)
                continue
            for msg in msgs:
                await self.handle(msg)

    async def handle(self, msg: Msg) -> None:
        try:
            await asyncio.to_thread(self.record, msg.subject, msg.data)
        except (ValidationError, ValueError, IzdeError) as e:
            # Malformed, or about a run or person that no longer exists: no retry can record it.
            log.error("recorder: dropping an event on %s that cannot be recorded: %s", msg.subject, e)
            await msg.term()
            return
        except Exception as e:
            log.warning("recorder: %s not recorded (%s); it will be redelivered", msg.subject, e)
            await msg.nak(delay=RETRY_DELAY_S)
            return
        try:
            await msg.ack()
        except Exception as e:  # the commit stands; the redelivery that follows is recognised and dropped
            log.debug("recorder: ack lost: %s", e)

    def record(self, subject: str, data: bytes) -> None:
        kind = subject.split(".")[2] if subject.count(".") >= 3 else ""
        if kind == "alert":
            a = AlertMsg.decode(data)
            recorded = self.recorder.alert(
                AlertRecord(
                    a.run_id,
                    a.person_id,
                    a.track_id,
                    a.frame_time,
                    a.position_s,
                    a.distance,
                    a.threshold,
                    a.quality,
                    a.evidence_jpeg,
                    (a.seen_from, a.seen_to) if a.seen_from and a.seen_to else None,
                )
            )
            if recorded is not None and recorded.new:
                metrics.ALERTS_RECORDED.inc()
                metrics.ALERT_LATENCY.observe((datetime.now(UTC) - a.analysed_at).total_seconds())
            elif recorded is not None:
                metrics.DUPLICATES.inc()
        elif kind == "counters":
            self.recorder.counters(*_counters(CountersMsg.decode(data)))
        elif kind == "finish":
            f = FinishMsg.decode(data)
            totals = _counters(f.counters)[1]
            self.recorder.finish(f.run_id, RunEnd(RunStatus(f.status), totals, f.error, f.reason))
            self.recorder.discard_rejected(f.run_id)
        else:
            raise ValueError(f"unknown event subject {subject}")


def _counters(c: CountersMsg) -> tuple[str, RunCounters]:
    return c.run_id, RunCounters(
        frames_read=c.frames_read,
        frames_analysed=c.frames_analysed,
        frames_dropped=c.frames_dropped,
        faces_seen=c.faces_seen,
        tracks_seen=c.tracks_seen,
        alerts_raised=c.alerts,
    )
