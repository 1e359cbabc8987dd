"""A server's side of the fleet: one connection with its own event loop thread, which answers workers'
rechecks and gallery requests and, unless ``broker.recorder`` is off, records the fleet's events.

The answers come from the database through the server's root service, with the same rules as in-process
sessions: the stop request, the authorisation's standing and time window, the operator's account and role,
and the watchlist entries in force."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from nats.aio.msg import Msg
from nats.js.errors import KeyNotFoundError

from izde.archive.ledger import SEARCH_STOPPED, SearchStatus
from izde.fleet.broker import RPC_GALLERY, RPC_RECHECK, SERVERS_QUEUE, Broker, connect
from izde.fleet.messages import (
    GalleryReply,
    GalleryRequest,
    Message,
    RecheckReply,
    RecheckRequest,
    SessionSpec,
    SessionState,
    StopRequest,
)
from izde.fleet.recorder import EventRecorder
from izde.governance import users
from izde.governance.authorisations import standing, stop_reason
from izde.governance.roles import Action, decision
from izde.store.models import ArchiveSearch
from izde.watchlist.fusion import spaces_of

if TYPE_CHECKING:
    from izde.api import Izde

log = logging.getLogger(__name__)
T = TypeVar("T")
CALL_TIMEOUT_S = 15.0


class FleetServer:
    def __init__(self, root: Izde, name: str = "server", serve: bool = True) -> None:
        """``serve``: answer workers and record events (a server); off, the connection only publishes and reads
        (a command that dispatches work, like ``izde search`` on the fleet)."""
        self.root = root
        self.serve = serve
        self.settings = root.settings
        self.name = name
        self.loop = asyncio.new_event_loop()
        self.broker: Broker | None = None
        self._stop = asyncio.Event()
        self._thread = threading.Thread(target=self._run, name="fleet", daemon=True)
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._tasks: list[asyncio.Task[Any]] = []

    # -- lifetime -------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect (creating streams and buckets) and serve; a broker that cannot be reached fails the start."""
        self._thread.start()
        self._ready.wait(self.settings.broker.connect_timeout_s + 30)
        if self._failure is not None:
            raise self._failure
        if self.broker is None:
            raise TimeoutError("the broker connection did not come up")

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())

    async def _main(self) -> None:
        try:
            self.broker = await connect(self.settings.broker, f"izde {self.name}", declare=self.serve)
            if self.serve:
                await self.broker.nc.subscribe(RPC_RECHECK, queue=SERVERS_QUEUE, cb=self._on_recheck)
                await self.broker.nc.subscribe(RPC_GALLERY, queue=SERVERS_QUEUE, cb=self._on_gallery)
            if self.serve and self.settings.broker.recorder:
                recorder = EventRecorder(self.broker, self.root)
                self._tasks.append(asyncio.create_task(recorder.run(self._stop)))
        except BaseException as e:
            self._failure = e
            self._ready.set()
            return
        self._ready.set()
        await self._stop.wait()
        for t in self._tasks:
            try:
                await asyncio.wait_for(t, timeout=10)
            except (TimeoutError, asyncio.CancelledError):
                t.cancel()
        await self.broker.close()

    def stop(self) -> None:
        """Bounded: the recorder finishes the event in hand, then the connection drains."""
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(20)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = CALL_TIMEOUT_S) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    # -- key-value records ----------------------------------------------------------------------------------

    async def get(self, key: str, kind: type[Message]) -> Any:
        assert self.broker is not None
        try:
            entry = await self.broker.sessions.get(key)
        except KeyNotFoundError:
            return None
        return kind.decode(entry.value) if entry.value else None

    # -- answers to workers ---------------------------------------------------------------------------------

    async def _reply(self, msg: Msg, answer: Message) -> None:
        try:
            await msg.respond(answer.encode())
        except Exception as e:  # the worker gave up waiting; it asks again
            log.debug("fleet: reply lost: %s", e)

    async def _on_recheck(self, msg: Msg) -> None:
        try:
            ask = RecheckRequest.decode(msg.data)
            spec: SessionSpec | None = await self.get(f"s.{ask.session_id}.spec", SessionSpec)
            stop: StopRequest | None = await self.get(f"s.{ask.session_id}.stop", StopRequest)
            if spec is None:
                await self._reply(msg, RecheckReply(stop="the session is unknown to the servers"))
                return
            answer = await asyncio.to_thread(self.recheck, spec, stop, ask.footage_time)
        except Exception:
            log.exception("fleet: recheck failed; the worker asks again")
            return
        await self._reply(msg, answer)

    def recheck(self, spec: SessionSpec, stop: StopRequest | None, footage_time: datetime) -> RecheckReply:
        """Whether a running session may go on, and the gallery in force."""
        if stop is not None:
            return RecheckReply(stop=stop.reason)
        scope = self.root._scope(spec.authorisation_id)
        with self.root.db.session(readonly=True) as session:
            current = users.active_actor(session, spec.started_by_id)
        if current is None:
            return RecheckReply(stop=f"the account of {spec.started_by} was disabled")
        d = decision(current, Action.WATCH_LIVE if spec.live else Action.WATCH_RECORDED)
        if not d.allowed:
            return RecheckReply(stop=f"{spec.started_by} may no longer watch: {d.reason}")
        if spec.search_id is not None:
            # A search's chunk: recorded footage whose window was checked when the search was planned; it goes
            # on while the search runs and the authorisation stands (an urgent one within the archive's grace).
            with self.root.db.session(readonly=True) as session:
                search = session.get(ArchiveSearch, spec.search_id)
            if search is None or search.status != SearchStatus.RUNNING:
                return RecheckReply(stop=SEARCH_STOPPED)
            grace = timedelta(hours=self.settings.archive.urgent_grace_h)
            d = standing(scope, datetime.now(UTC), grace)
            reason = None if d.allowed else d.reason
        else:
            reason = stop_reason(scope, footage_time, datetime.now(UTC))
        if reason is not None:
            return RecheckReply(stop=reason)
        return RecheckReply(gallery_hash=self.root._match_gallery(_persons(spec, scope.persons))[1])

    async def _on_gallery(self, msg: Msg) -> None:
        try:
            ask = GalleryRequest.decode(msg.data)
            spec: SessionSpec | None = await self.get(f"s.{ask.session_id}.spec", SessionSpec)
            state: SessionState | None = await self.get(f"s.{ask.session_id}.state", SessionState)
            stop: StopRequest | None = await self.get(f"s.{ask.session_id}.stop", StopRequest)
            if spec is None or state is None or state.worker != ask.worker or state.status != "running":
                # Templates go only to the worker that holds the session's lease.
                answer = GalleryReply.refused("not your session")
            elif stop is not None:
                answer = GalleryReply.refused(stop.reason)
            else:
                answer = await asyncio.to_thread(self.gallery, spec, ask.worker)
        except Exception:
            log.exception("fleet: gallery request failed")
            return
        await self._reply(msg, answer)

    def gallery(self, spec: SessionSpec, worker: str) -> GalleryReply:
        scope = self.root._scope(spec.authorisation_id)
        gallery, wl_hash = self.root._match_gallery(_persons(spec, scope.persons))
        with self.root.db.session() as session:
            # Templates leaving the database is itself something oversight must be able to see.
            self.root.audit(
                session,
                "fleet.gallery",
                "run",
                spec.run_id,
                actor="system",
                worker=worker,
                persons=len(gallery.person_ids),
                templates=sum(len(s.owner) for s in spaces_of(gallery)),
                watchlist_hash=wl_hash,
            )
        return GalleryReply.of(gallery, wl_hash)


def _persons(spec: SessionSpec, authorised: frozenset[str]) -> frozenset[str]:
    """Whom a session looks for: everyone its authorisation names, or a search's chosen few among them."""
    return authorised if spec.persons is None else authorised & frozenset(spec.persons)
