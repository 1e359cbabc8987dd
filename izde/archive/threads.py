"""Searches started by the server: each runs in a thread of the server process, which drives the search's worker
processes (or its jobs on the fleet), so a request returns at once and the search goes on. Shutdown stops local
searches within a bounded time, and what they had not finished is resumed later without redoing finished work;
a search on the fleet is left to the fleet, which finishes it without this server."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from izde.governance.roles import Actor

if TYPE_CHECKING:
    from izde.api import Izde
    from izde.archive.service import SearchView
    from izde.fleet.server import FleetServer

log = logging.getLogger(__name__)

JOIN_TIMEOUT_S = 15.0


class SearchThreads:
    def __init__(self, services: Callable[[Actor], Izde], fleet: FleetServer | None = None) -> None:
        """``fleet``: the server's fleet connection; searches then run as jobs of the fleet's workers."""
        self._services = services
        self._fleet = fleet
        self._running: dict[str, tuple[threading.Thread, threading.Event]] = {}
        self._detach = threading.Event()  # set at shutdown: searches on the fleet are left running there
        self._lock = threading.Lock()

    def start(self, search_id: str, actor: Actor, workers: int) -> SearchView:
        """Reopen the search now, so that a refusal reaches the caller and the answer shows it running; then
        run it in a thread."""
        view = self._services(actor).searches.reopen(search_id, keep_fleet=self._fleet is not None)
        stop = threading.Event()

        def run() -> None:
            try:
                searches = self._services(actor).searches
                searches.run(search_id, workers, stop=stop, fleet=self._fleet, reopened=True, detach=self._detach)
            except Exception as e:  # kept in the search's record by its workers; here only logged
                log.warning("search %s ended with an error: %s", search_id, e)
            finally:
                with self._lock:
                    self._running.pop(search_id, None)

        thread = threading.Thread(target=run, name=f"search-{search_id[:8]}", daemon=True)
        with self._lock:
            self._running[search_id] = (thread, stop)
        thread.start()
        return view

    def running(self) -> list[str]:
        with self._lock:
            return list(self._running)

    def shutdown(self) -> None:
        with self._lock:
            items = list(self._running.values())
        self._detach.set()
        if self._fleet is None:
            for _, stop in items:
                stop.set()
        for thread, _ in items:
            thread.join(JOIN_TIMEOUT_S)
