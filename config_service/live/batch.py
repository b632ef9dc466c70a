"""Cache fills gathered per org: the misses of one turn of the event loop are filled together.

A change high in the tree wakes every watcher below it at once; each then misses the cache.
Instead of one lineage query, merge and decryption per watcher, the first miss of an org
schedules a fill for the next turn of the loop, and every miss of that org until then joins it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from config_service.errors import node_not_found

V = TypeVar("V")
Key = tuple[str, bool]  # node id, revealed?


class Batcher(Generic[V]):
    def __init__(self, fill: Callable[[str, list[Key]], Awaitable[dict[Key, V | None]]]) -> None:
        self._fill = fill
        self._pending: dict[str, dict[Key, asyncio.Future[V]]] = {}
        self.batches = 0  # fills run (for tests and metrics)

    async def get(self, org_id: str, node_id: str, reveal: bool) -> V:
        waiting = self._pending.get(org_id)
        if waiting is None:
            waiting = self._pending[org_id] = {}
            asyncio.get_running_loop().call_soon(self._start, org_id)
        future = waiting.get((node_id, reveal))
        if future is None:
            future = waiting[(node_id, reveal)] = asyncio.get_running_loop().create_future()
            future.add_done_callback(_retrieve)  # its callers may all have gone: no "never retrieved"
        # shielded: one caller going away (a client that disconnects) does not cancel the others' fill
        return await asyncio.shield(future)

    def _start(self, org_id: str) -> None:
        waiting = self._pending.pop(org_id, {})
        if waiting:
            asyncio.ensure_future(self._run(org_id, waiting))

    async def _run(self, org_id: str, waiting: dict[Key, asyncio.Future[V]]) -> None:
        self.batches += 1
        try:
            views = await self._fill(org_id, list(waiting))
        except BaseException as exc:  # noqa: BLE001 - every waiter gets the error
            for future in waiting.values():
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (node_id, _reveal), future in waiting.items():
            if future.done():
                continue
            view = views.get((node_id, _reveal))
            if view is None:
                future.set_exception(node_not_found(org_id, node_id))
            else:
                future.set_result(view)


def _retrieve(future: asyncio.Future) -> None:
    if not future.cancelled():
        future.exception()
