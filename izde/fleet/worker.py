"""``izde worker``: runs watch sessions it claims from the broker. It holds the vision stack and nothing
else: no database URL, no audit key, no data directory. What it learns about a session (the source, the
settings, the authorised gallery) comes from the broker, and all it says goes back there.

Each session runs in a thread (the networks are synchronous); the worker's event loop holds the job's lease
with in-progress acks, answers nothing, and publishes for the threads. A worker that dies stops renewing its
leases, and another worker claims the jobs when they run out; one that is stopped hands its jobs back at once.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

import nats.errors
from nats.aio.msg import Msg
from nats.js.errors import KeyNotFoundError

from izde.config import MatchSettings, PipelineSettings, Settings
from izde.fleet import metrics
from izde.fleet.broker import RPC_GALLERY, RPC_RECHECK, Broker, connect, event_subject
from izde.fleet.messages import (
    AlertMsg,
    CountersMsg,
    FinishMsg,
    GalleryReply,
    GalleryRequest,
    Job,
    RecheckReply,
    RecheckRequest,
    SessionJob,
    SessionState,
    StopRequest,
    WorkerBeat,
    b64,
)
from izde.pipeline.run import run_source
from izde.pipeline.sources import open_source, parse_source
from izde.pipeline.watcher import AlertEvent, WatchCounters, Watcher
from izde.service.watching import match_index
from izde.vision.stack import VisionStack
from izde.vision.types import Frame

log = logging.getLogger(__name__)

T = TypeVar("T")
SESSION_KIND = "session"
# Track ids of a session's n-th attempt start at n * TRACK_EPOCH, so a replacement worker's new tracks never
# collide with its predecessor's in the (run, track, person) key.
TRACK_EPOCH = 1_000_000
COUNTERS_S = 5.0
RPC_TIMEOUT_S = 5.0
PUBLISH_RETRY_S = 0.5


class HandedBack(Exception):
    """The worker is stopping: the session goes back to the queue, unfinished."""


@dataclass
class Running:
    job: SessionJob
    msg: Msg
    attempt: int
    stop: threading.Event = field(default_factory=threading.Event)
    handover: bool = False
    thread: threading.Thread | None = None
    state: SessionState | None = None
    base: CountersMsg | None = None  # what earlier attempts counted, from the last state they left
    counters: WatchCounters = field(default_factory=WatchCounters)
    frames_read: int = 0
    frames_dropped: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)
    finish: FinishMsg | None = None
    holder: asyncio.Task[None] | None = None
    renewed: float = field(default_factory=time.monotonic)


class Worker:
    def __init__(
        self,
        settings: Settings,
        name: str,
        capacity: int,
        stack: Callable[[], VisionStack],
        metrics_port: int | None = None,
    ) -> None:
        self.settings = settings
        self.name = name
        self.capacity = capacity
        self._stack_factory = stack
        self._stack: VisionStack | None = None
        self._stack_lock = threading.Lock()
        self.metrics_port = metrics_port
        self.running: dict[str, Running] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.broker: Broker | None = None
        self._last_frames = (time.monotonic(), 0)
        self.lease_s = settings.broker.failover_s  # until the broker says what the fleet's lease is

    def stack(self) -> VisionStack:
        with self._stack_lock:
            if self._stack is None:
                self._stack = self._stack_factory()
            return self._stack

    # -- the event loop -------------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        self.loop = asyncio.get_running_loop()
        self.broker = await connect(self.settings.broker, f"izde worker {self.name}", on_reconnect=self._reconnected)
        sub, self.lease_s = await self.broker.pull_jobs(SESSION_KIND)
        # The networks load before the first claim: loading them takes seconds of CPU, which must not eat
        # into the first lease of a session.
        await asyncio.to_thread(self.stack)
        beat = asyncio.create_task(self._beat_loop(stop))
        log.info("worker %s: up, capacity %d", self.name, self.capacity)
        try:
            while not stop.is_set():
                self._reap()
                if len(self.running) >= self.capacity:
                    await asyncio.sleep(0.2)
                    continue
                try:
                    msgs = await sub.fetch(1, timeout=1.0)
                except (TimeoutError, nats.errors.TimeoutError):
                    continue
                except Exception as e:  # the broker restarting: the client reconnects by itself
                    log.debug("worker %s: fetch failed: %s", self.name, e)
                    await asyncio.sleep(0.5)
                    continue
                for msg in msgs:
                    await self._claim(msg)
        finally:
            await self._hand_back()
            beat.cancel()
            await self._delete_beat()
            await self.broker.close()

    async def _reconnected(self) -> None:
        metrics.BROKER_RECONNECTS.inc()

    def _reap(self) -> None:
        for sid in [s for s, r in self.running.items() if r.done.is_set()]:
            del self.running[sid]
        metrics.SESSIONS.set(len(self.running))

    async def _claim(self, msg: Msg) -> None:
        assert self.broker is not None
        try:
            job = Job.decode(msg.data)
            if job.kind != SESSION_KIND:
                raise ValueError(f"unknown job kind {job.kind!r}")
            session = SessionJob.model_validate(job.payload)
        except Exception as e:
            log.error("worker %s: dropping a malformed job: %s", self.name, e)
            await msg.term()
            return
        if session.session_id in self.running:
            # Our own job, redelivered while we still run it (the broker restarted): renew the newest delivery.
            self.running[session.session_id].msg = msg
            await msg.in_progress()
            return
        if await self._stop_requested(session.session_id) is not None:
            await msg.ack()  # stopped while it waited: the server has finished its run
            return
        attempt = msg.metadata.num_delivered if msg.metadata else 1
        r = Running(session, msg, attempt, base=await self._previous_counters(session.session_id))
        now = datetime.now(UTC)
        r.state = SessionState(worker=self.name, status="running", attempt=attempt, claimed_at=now, beat_at=now)
        await self._put_state(r)
        self.running[session.session_id] = r
        r.thread = threading.Thread(target=self._session_thread, args=(r,), name=f"session-{session.camera}")
        r.thread.start()
        r.holder = asyncio.create_task(self._hold(r))
        log.info("worker %s: claimed %s on %s (attempt %d)", self.name, session.session_id, session.camera, attempt)

    async def _hold(self, r: Running) -> None:
        """Renew the lease until the session ends, then report its end and release the job."""
        assert self.broker is not None
        period = self.lease_s / 3
        while r.thread is not None and r.thread.is_alive():
            try:
                if await self._lost(r):
                    # Our lease ran out (this process was starved or cut off) and another worker runs the
                    # session now: stop ours without reporting an end, so that the session runs once.
                    log.warning("worker %s: lost the lease of %s; stopping it here", self.name, r.job.session_id)
                    r.handover = True
                    r.stop.set()
                    break
                await r.msg.in_progress()
                r.renewed = time.monotonic()
                await self._put_state(r)
            except Exception as e:  # the broker is away; the client reconnects, the next renewal may land
                log.debug("worker %s: lease renewal failed: %s", self.name, e)
            await asyncio.to_thread(r.thread.join, period)
        if r.handover and r.thread is not None:
            await asyncio.to_thread(r.thread.join, 15.0)
        try:
            if r.handover and await self._lost(r):
                pass  # the job is another worker's now: neither ack nor nak it
            elif r.handover:
                await r.msg.nak()  # back to the queue now, for another worker
            elif r.finish is not None:
                await self._publish_until_acked(event_subject("finish", r.job.run_id), r.finish.encode(), None)
                await self._put_state(r)
                await r.msg.ack()
        finally:
            r.done.set()

    async def _hand_back(self) -> None:
        for r in list(self.running.values()):
            r.handover = True
            r.stop.set()
        for r in list(self.running.values()):
            try:
                await asyncio.wait_for(r.done.wait(), timeout=15.0)
            except TimeoutError:
                log.warning("worker %s: session %s did not stop in time", self.name, r.job.session_id)

    async def _beat_loop(self, stop: asyncio.Event) -> None:
        assert self.broker is not None
        host = socket.gethostname()
        while not stop.is_set():
            now = time.monotonic()
            analysed = sum(r.counters.frames_analysed for r in self.running.values())
            t0, f0 = self._last_frames
            fps = max(0.0, (analysed - f0) / max(now - t0, 1e-6))
            self._last_frames = (now, analysed)
            metrics.FRAMES_DROPPED.set(sum(r.frames_dropped for r in self.running.values()))
            metrics.LEASE_RENEWAL.set(max((now - r.renewed for r in self.running.values()), default=0.0))
            beat = WorkerBeat(
                name=self.name,
                host=host,
                capacity=self.capacity,
                sessions=sorted(self.running),
                frames_analysed_per_s=round(fps, 2),
                frames_dropped=sum(r.frames_dropped for r in self.running.values()),
                metrics_port=self.metrics_port,
                at=datetime.now(UTC),
            )
            try:
                await self.broker.workers.put(self.name, beat.encode())
            except Exception as e:
                log.debug("worker %s: heartbeat failed: %s", self.name, e)
            await asyncio.sleep(self.lease_s / 3)

    async def _delete_beat(self) -> None:
        assert self.broker is not None
        try:
            await self.broker.workers.delete(self.name)
        except Exception as e:
            log.debug("worker %s: could not remove its heartbeat: %s", self.name, e)

    async def _put_state(self, r: Running) -> None:
        assert self.broker is not None and r.state is not None
        base = r.base or _zero(r.job.run_id)
        r.state = r.state.model_copy(
            update={
                "beat_at": datetime.now(UTC),
                "frames_read": base.frames_read + r.frames_read,
                "frames_dropped": base.frames_dropped + r.frames_dropped,
                "frames_analysed": base.frames_analysed + r.counters.frames_analysed,
                "faces_seen": base.faces_seen + r.counters.faces_seen,
                "tracks_seen": base.tracks_seen + r.counters.tracks_seen,
                "alerts": base.alerts + r.counters.alerts,
            }
        )
        await self.broker.sessions.put(f"s.{r.job.session_id}.state", r.state.encode())

    async def _lost(self, r: Running) -> bool:
        assert self.broker is not None
        try:
            entry = await self.broker.sessions.get(f"s.{r.job.session_id}.state")
        except KeyNotFoundError:
            return False
        if not entry.value:
            return False
        state = SessionState.decode(entry.value)
        return state.worker != self.name and state.attempt > r.attempt

    async def _previous_counters(self, session_id: str) -> CountersMsg | None:
        assert self.broker is not None
        try:
            entry = await self.broker.sessions.get(f"s.{session_id}.state")
        except KeyNotFoundError:
            return None
        if entry.value is None:
            return None
        s = SessionState.decode(entry.value)
        return CountersMsg(
            run_id="",
            frames_read=s.frames_read,
            frames_analysed=s.frames_analysed,
            frames_dropped=s.frames_dropped,
            faces_seen=s.faces_seen,
            tracks_seen=s.tracks_seen,
            alerts=s.alerts,
        )

    async def _stop_requested(self, session_id: str) -> StopRequest | None:
        assert self.broker is not None
        try:
            entry = await self.broker.sessions.get(f"s.{session_id}.stop")
        except KeyNotFoundError:
            return None
        return StopRequest.decode(entry.value) if entry.value else None

    async def _publish_until_acked(self, subject: str, data: bytes, msg_id: str | None) -> None:
        """Durable before we go on: an alert is never dropped, the frames behind it are (and are counted)."""
        assert self.broker is not None
        headers = {"Nats-Msg-Id": msg_id} if msg_id else None
        while True:
            try:
                await self.broker.js.publish(subject, data, headers=headers, timeout=RPC_TIMEOUT_S)
                return
            except Exception as e:
                log.warning("worker %s: publishing to %s failed (%s); retrying", self.name, subject, e)
                await asyncio.sleep(PUBLISH_RETRY_S)

    async def _request(self, subject: str, data: bytes) -> bytes:
        assert self.broker is not None
        reply = await self.broker.nc.request(subject, data, timeout=RPC_TIMEOUT_S)
        return reply.data

    # -- the session thread ---------------------------------------------------------------------------------

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def _gallery(self, r: Running) -> GalleryReply:
        request = GalleryRequest(session_id=r.job.session_id, worker=self.name).encode()
        while True:
            try:
                reply = GalleryReply.decode(self._call(self._request(RPC_GALLERY, request), RPC_TIMEOUT_S * 2))
            except Exception as e:  # no server answering yet
                if r.stop.wait(1.0):
                    raise HandedBack from e
                continue
            if reply.error:
                raise PermissionError(reply.error)
            return reply

    def _session_thread(self, r: Running) -> None:
        job = r.job
        status: Literal["completed", "failed", "stopped"] = "failed"
        error: str | None = None
        reason: str | None = None
        counters = WatchCounters()
        try:
            pipeline = PipelineSettings.model_validate(job.pipeline)
            match = MatchSettings.model_validate(job.match)
            gallery = self._gallery(r)
            gallery_hash = gallery.hash
            spec = parse_source(job.source)
            segment = (job.start_s or 0.0, job.end_s) if job.start_s is not None or job.end_s is not None else None
            max_pixels = self.settings.security.max_image_pixels
            src = open_source(spec, pipeline.stream_retries, pipeline.stream_backoff_s, max_pixels, segment)
            epoch = r.attempt * TRACK_EPOCH
            last = {"counters": time.monotonic(), "recheck": time.monotonic()}

            def footage(position_s: float, wall: datetime) -> datetime:
                return wall if job.live else job.footage_start + timedelta(seconds=position_s)

            def on_alert(event: AlertEvent) -> None:
                shot_time = footage(event.position_s, event.frame_time)
                msg = AlertMsg(
                    run_id=job.run_id,
                    session_id=job.session_id,
                    person_id=event.person_id,
                    track_id=event.track_id + epoch,
                    frame_time=shot_time,
                    position_s=event.position_s,
                    distance=event.distance,
                    threshold=event.threshold,
                    quality=event.quality,
                    evidence_b64=b64(event.evidence_jpeg),
                    analysed_at=datetime.now(UTC),
                    seen_from=event.at(event.seen_from_s, shot_time),
                    seen_to=event.at(event.seen_to_s, shot_time),
                )
                self._call(self._publish_until_acked(event_subject("alert", job.run_id), msg.encode(), msg.msg_id))
                metrics.ALERTS.inc()
                # Identifiers only: never an image or a name.
                log.info("worker %s: published alert %s at %s", self.name, msg.msg_id, msg.frame_time.isoformat())

            index = match_index(gallery.gallery())
            watcher = Watcher(job.camera, self.stack(), index, pipeline, match, on_alert, src.continuous)

            def on_frame(frame: Frame, c: WatchCounters) -> None:
                r.counters, r.frames_read, r.frames_dropped = c, src.stats.frames_read, src.stats.frames_dropped
                metrics.FRAMES_ANALYSED.inc()
                if time.monotonic() - last["counters"] >= COUNTERS_S:
                    self._publish_counters(r)
                    last["counters"] = time.monotonic()

            def guard(frame: Frame) -> str | None:
                nonlocal gallery_hash
                if time.monotonic() - last["recheck"] < self.settings.broker.recheck_s:
                    return None
                last["recheck"] = time.monotonic()
                ask = RecheckRequest(
                    session_id=job.session_id,
                    worker=self.name,
                    gallery_hash=gallery_hash,
                    footage_time=footage(frame.position_s, frame.wall_time),
                )
                try:
                    answer = RecheckReply.decode(self._call(self._request(RPC_RECHECK, ask.encode()), RPC_TIMEOUT_S))
                except Exception as e:  # no server answering: keep watching, ask again next time
                    log.warning("worker %s: recheck of %s unanswered: %s", self.name, job.session_id, e)
                    return None
                if answer.stop:
                    return answer.stop
                if answer.gallery_hash != gallery_hash:
                    fresh = self._gallery(r)  # entries that expired or were removed stop matching at once
                    watcher.gallery, gallery_hash = match_index(fresh.gallery()), fresh.hash
                return None

            result = run_source(src, watcher, job.analysis_fps, r.stop, on_frame, guard)
            counters = result.counters
            r.frames_read, r.frames_dropped = src.stats.frames_read, src.stats.frames_dropped
            reason = result.stop_reason
            if r.handover:
                raise HandedBack
            if result.source.error:
                status, error = "failed", result.source.error
            elif reason is not None or not result.finished:
                status = "stopped"
            else:
                status = "completed"
        except HandedBack:
            return
        except Exception as e:
            if r.handover:
                return
            log.exception("worker %s: session %s failed", self.name, job.session_id)
            status, error = "failed", str(e)
        r.counters = counters if counters.frames_analysed else r.counters
        r.finish = FinishMsg(
            run_id=job.run_id,
            session_id=job.session_id,
            status=status,
            error=error,
            reason=reason,
            counters=self._totals(r),
        )
        assert r.state is not None
        r.state = r.state.model_copy(update={"status": status, "error": error, "stop_reason": reason})

    def _totals(self, r: Running) -> CountersMsg:
        base = r.base or _zero(r.job.run_id)
        c = r.counters
        return CountersMsg(
            run_id=r.job.run_id,
            frames_read=base.frames_read + r.frames_read,
            frames_analysed=base.frames_analysed + c.frames_analysed,
            frames_dropped=base.frames_dropped + r.frames_dropped,
            faces_seen=base.faces_seen + c.faces_seen,
            tracks_seen=base.tracks_seen + c.tracks_seen,
            alerts=base.alerts + c.alerts,
        )

    def _publish_counters(self, r: Running) -> None:
        assert self.broker is not None
        totals = self._totals(r)
        try:
            # Running totals: a lost report is made good by the next one, so no retry here.
            self._call(self.broker.js.publish(event_subject("counters", r.job.run_id), totals.encode()), 10)
        except Exception as e:
            log.debug("worker %s: counters not published: %s", self.name, e)


def _zero(run_id: str) -> CountersMsg:
    return CountersMsg(
        run_id=run_id, frames_read=0, frames_analysed=0, frames_dropped=0, faces_seen=0, tracks_seen=0, alerts=0
    )
