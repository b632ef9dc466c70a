"""The change feed: LISTEN for event ids, read the change log forward, apply what each event
made stale (DESIGN §10).

Events can commit out of id order, so the log is read by transaction id: each read takes, in
the same snapshot, the oldest transaction still running (`xmin`). A later read asks for every
event whose transaction id is at least the previous `xmin`, so an event whose transaction
was still running at one read is returned by a later one, however late it commits. Events
already applied are skipped by id. A reconnect simply reads forward from the same position.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

import psycopg
from sqlalchemy import text

from config_service.db.engine import Database
from config_service.db.urls import libpq_url
from config_service.kit.changelog import CHANNEL, ChangeEvent
from config_service.live.invalidation import Effects, effects_of

log = logging.getLogger(__name__)

_READ_FORWARD = text(
    """
    WITH s AS (SELECT (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint AS xmin)
    SELECT s.xmin, e.id, e.xid, e.org_id, e.action, e.target_type, e.target_id, e.details
    FROM s LEFT JOIN audit_events e ON e.xid >= :low
    ORDER BY e.id
    """
)
_XMIN = text("SELECT (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint")


class ChangeFeed:
    def __init__(
        self,
        db: Database,
        listen_url: str,
        apply: Callable[[Effects], None],
        *,
        safety_poll_seconds: float = 2.0,
    ) -> None:
        self.db = db
        self.listen_url = listen_url
        self.apply = apply
        self.safety_poll_seconds = safety_poll_seconds
        self.low: int | None = None
        self._applied: dict[int, int] = {}  # event id → xid, while the xid is ≥ low
        self._wake = asyncio.Event()
        self._read_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task] = []
        self.listening = asyncio.Event()
        self.reads = 0

    async def start(self) -> None:
        async with self.db.engine.connect() as conn:
            self.low = (await conn.execute(_XMIN)).scalar_one()
        self._tasks = [asyncio.create_task(self._listen()), asyncio.create_task(self._follow())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def applied_locally(self, events: Sequence[ChangeEvent]) -> None:
        """Events this process just committed: apply them now (read-your-writes)."""
        effects = Effects()
        for event in events:
            if event.id in self._applied:
                continue
            self._applied[event.id] = event.xid
            effects.merge(effects_of(event))
        if effects:
            self.apply(effects)

    async def read_forward(self) -> int:
        """Read the log forward once; returns how many new events were applied."""
        async with self._read_lock:
            async with self.db.engine.connect() as conn:
                rows = (await conn.execute(_READ_FORWARD, {"low": self.low or 0})).all()
            self.reads += 1
            effects = Effects()
            fresh = 0
            for row in rows:
                if row.id is None or row.id in self._applied:
                    continue
                self._applied[row.id] = row.xid
                fresh += 1
                event = ChangeEvent(
                    row.id, row.xid, row.org_id, row.action, row.target_type, row.target_id, row.details or {}
                )
                effects.merge(effects_of(event))
            if effects:
                self.apply(effects)
            if rows:
                self.low = rows[0].xmin
                self._applied = {eid: xid for eid, xid in self._applied.items() if xid >= self.low}
            return fresh

    def _known(self, payload: str) -> bool:
        """A notification of an event this process has applied already (its own write, applied
        at commit): no read is needed for it. Any other payload wakes the reader."""
        return payload.isdigit() and int(payload) in self._applied

    async def _follow(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.safety_poll_seconds)
            self._wake.clear()
            try:
                await self.read_forward()
            except Exception:  # noqa: BLE001 - the next wake or tick retries
                log.warning("change feed read failed; retrying", exc_info=True)
                await asyncio.sleep(0.5)

    async def _listen(self) -> None:
        backoff = 0.1
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(libpq_url(self.listen_url), autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    backoff = 0.1
                    self._wake.set()  # replay from the last position after (re)connecting
                    async for notify in conn.notifies():
                        if not self._known(notify.payload):
                            self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - reconnect with backoff
                self.listening.clear()
                log.warning("change feed connection lost; reconnecting", exc_info=True)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
