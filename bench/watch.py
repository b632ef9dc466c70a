"""The watch scenario: SSE watchers on one instance, writes on another, notification latency.

Each watcher streams `GET /api/v1/config/me/watch` with its own team token. The writer patches
the org root through the other instance, setting `bench_watch.seq = k`, so every watcher's
effective config changes; a watcher's latency for write k is the time from the write's response
(as the writer saw it) to the arrival of the `config` event whose data carries `seq: k` (clamped
at 0: an event may be read before the writer's task resumes). The next write is sent once every
watcher has seen the previous one, or after `EVENT_TIMEOUT`, which counts the rest as missed.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from dataclasses import dataclass, field

import httpx

from bench.stats import percentile

WATCH_PATH = "/api/v1/config/me/watch"
BOUNDARY = re.compile(rb"\r?\n\r?\n")  # the blank line that ends an SSE event
EVENT = re.compile(rb"(?:^|\n)event:[ ]?(\w+)")
SEQ = re.compile(rb'"bench_watch"\s*:\s*\{\s*"seq"\s*:\s*(\d+)')
EVENT_TIMEOUT = 2.0
CONNECT_TIMEOUT = 30.0


class Unavailable(Exception):
    """The instance has no watch endpoint (yet)."""


@dataclass
class Arrivals:
    """How many watchers have seen each seq; `wait(seq)` returns once all of them have."""

    watchers: int
    counts: dict[int, int] = field(default_factory=dict)
    complete: dict[int, asyncio.Event] = field(default_factory=dict)

    def record(self, seq: int) -> None:
        self.counts[seq] = self.counts.get(seq, 0) + 1
        if self.counts[seq] >= self.watchers:
            self.complete.setdefault(seq, asyncio.Event()).set()

    async def wait(self, seq: int, timeout: float) -> None:
        try:
            await asyncio.wait_for(self.complete.setdefault(seq, asyncio.Event()).wait(), timeout)
        except TimeoutError:
            pass


@dataclass
class Watcher:
    token: str
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    seen: dict[int, float] = field(default_factory=dict)  # seq → monotonic arrival time
    last_seq: int = -1
    error: str | None = None


async def probe(base_url: str, token: str) -> None:
    """Raise Unavailable when the watch endpoint answers 404/405."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        async with client.stream("GET", WATCH_PATH, headers={"Authorization": f"Bearer {token}"}) as response:
            if response.status_code in (404, 405):
                raise Unavailable(f"{WATCH_PATH} answered {response.status_code}")
            if response.status_code != 200:
                body = (await response.aread())[:300]
                raise RuntimeError(f"{WATCH_PATH} answered {response.status_code}: {body!r}")


async def _watch(host: str, port: int, watcher: Watcher, arrivals: Arrivals) -> None:
    """One SSE stream over a bare asyncio connection (HTTP/1.1, chunked or not): a client as light
    as wrk's, so the figures are the server's and not the cost of parsing 100 streams here."""
    writer = None
    try:
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 22)
        writer.write(
            f"GET {WATCH_PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {watcher.token}\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        if status != 200:
            watcher.error = f"HTTP {status}"
            watcher.ready.set()
            return
        chunked = b"transfer-encoding: chunked" in head.lower()
        buffer = b""
        while True:
            if chunked:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                data = (await reader.readexactly(size + 2))[:-2]
                if size == 0:
                    return
            else:
                data = await reader.read(1 << 20)
                if not data:
                    return
            now = time.monotonic()
            buffer += data
            *blocks, buffer = BOUNDARY.split(buffer)
            for block in blocks:
                kind = EVENT.search(block)
                if kind is None or kind.group(1) != b"config":
                    continue
                match = SEQ.search(block)
                seq = int(match.group(1)) if match else 0
                if seq not in watcher.seen:
                    watcher.seen[seq] = now
                    arrivals.record(seq)
                watcher.last_seq = max(watcher.last_seq, seq)
                watcher.ready.set()
    except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        watcher.error = f"{type(exc).__name__}: {exc}"
        watcher.ready.set()
    finally:
        if writer is not None:
            writer.close()


async def measure(
    watch_url: str, write_url: str, admin_token: str, org: str, tokens: list[str], writes: int, time_cap: float,
) -> dict:
    """Open one watcher per token on `watch_url`, make `writes` root writes on `write_url` (fewer
    if `time_cap` seconds pass first)."""
    await probe(watch_url, tokens[0])
    watchers = [Watcher(token) for token in tokens]
    arrivals = Arrivals(len(watchers))
    target = httpx.URL(watch_url)
    async with httpx.AsyncClient(base_url=write_url, timeout=30,
        headers={"Authorization": f"Bearer {admin_token}"}) as writer:
        tasks = [asyncio.create_task(_watch(target.host, target.port, w, arrivals)) for w in watchers]
        try:
            await asyncio.wait_for(asyncio.gather(*(w.ready.wait() for w in watchers)), CONNECT_TIMEOUT)
            failed = [w.error for w in watchers if w.error]
            if failed:
                raise RuntimeError(f"{len(failed)} watchers failed to connect, e.g. {failed[0]}")
            sent: dict[int, float] = {}
            write_ms: list[float] = []
            started = time.monotonic()
            base = max(w.last_seq for w in watchers) + 1
            for seq in range(base, base + writes):
                if time.monotonic() - started > time_cap:
                    break
                before = time.monotonic()
                response = await writer.patch(
                    f"/api/v1/admin/orgs/{org}/nodes/{org}/config",
                    json={"config": {"bench_watch": {"seq": seq}}, "reason": "bench watch"},
                )
                sent[seq] = time.monotonic()
                write_ms.append((sent[seq] - before) * 1000.0)
                if response.status_code != 200:
                    raise RuntimeError(f"watch write answered {response.status_code}: {response.text[:300]}")
                await arrivals.wait(seq, EVENT_TIMEOUT)
            elapsed = time.monotonic() - started
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    latencies = [
        max(0.0, w.seen[seq] - at) * 1000.0 for w in watchers for seq, at in sent.items() if seq in w.seen
    ]
    expected = len(sent) * len(watchers)
    if os.environ.get("BENCH_WATCH_DEBUG"):  # the writes whose last event came late, to see a pattern
        for seq, at in sorted(sent.items()):
            arr = sorted(w.seen[seq] - at for w in watchers if seq in w.seen)
            if arr and arr[-1] > 0.08:
                first, median, last = arr[0] * 1000, arr[len(arr) // 2] * 1000, arr[-1] * 1000
                print(f"seq {seq}: first {first:.1f} median {median:.1f} last {last:.1f} ms")
    return {
        "watchers": len(watchers),
        "writes": len(sent),
        "writes_planned": writes,
        "events": len(latencies),
        "missed": expected - len(latencies),
        "seconds": round(elapsed, 3),
        "events_per_second": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "write_latency_ms": {"p50": round(percentile(write_ms, 50), 3), "p99": round(percentile(write_ms, 99), 3)},
        "latency_ms": {
            "p50": round(percentile(latencies, 50), 3),
            "p90": round(percentile(latencies, 90), 3),
            "p99": round(percentile(latencies, 99), 3),
            "max": round(max(latencies, default=0.0), 3),
        },
    }
