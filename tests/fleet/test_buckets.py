"""Listing a bucket while workers write to it: every key is there in every listing. (The client's own
``KeyValue.keys()`` judges the end of its listing by a pending count that concurrent writes change, and so
misses keys now and then: a session vanished from the fleet's status while its worker reported.)"""

from __future__ import annotations

import asyncio

from izde.config import BrokerSettings
from izde.fleet.broker import SESSIONS_BUCKET, WORKERS_BUCKET, connect
from tests.fleet.harness import NatsServer

SESSIONS = 8
LISTINGS = 300


def test_every_key_is_listed_while_states_are_written(nats: NatsServer) -> None:
    async def scenario() -> tuple[int, list[set[str]]]:
        broker = await connect(BrokerSettings(url=nats.url), "test", declare=True)
        try:
            assert await broker.keys(SESSIONS_BUCKET) == []  # an empty bucket is an empty list, not an error
            specs = {f"s.{i}.spec" for i in range(SESSIONS)}
            for key in sorted(specs):
                await broker.sessions.put(key, b"{}")
            await broker.workers.put("w1", b"{}")
            await broker.sessions.delete("s.0.spec")  # a deleted key's marker stays listed; reading it says so
            writes, stop = 0, asyncio.Event()

            async def worker() -> None:
                nonlocal writes
                while not stop.is_set():
                    writes += 1
                    await broker.sessions.put(f"s.{writes % SESSIONS}.state", str(writes).encode())
                    await asyncio.sleep(0.001)

            task = asyncio.create_task(worker())
            listings = []
            for _ in range(LISTINGS):
                listings.append(set(await broker.keys(SESSIONS_BUCKET)))
            stop.set()
            await task
            assert await broker.keys(WORKERS_BUCKET) == ["w1"]
            return writes, [specs - keys for keys in listings]
        finally:
            await broker.close()

    writes, missing = asyncio.run(scenario())
    assert writes >= 20  # the listings ran while states were written
    assert [m for m in missing if m] == []
