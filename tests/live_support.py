"""Helpers for live-config tests: a second server, SSE readers, statement counts."""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field

import httpx


def statements(server, route: str, method: str = "GET") -> float:
    """Sum of SQL statements run by requests on `route` so far (from /metrics)."""
    text = httpx.get(server.url + "/metrics").text
    for line in text.splitlines():
        if (
            line.startswith("config_service_db_statements_per_request_sum")
            and f'route="{route}"' in line
            and f'method="{method}"' in line
        ):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def wait_until(predicate, timeout: float = 5.0, interval: float = 0.005) -> float:
    """Seconds it took for `predicate()` to hold; raises AssertionError after `timeout`."""
    started = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


@dataclass
class SSEReader:
    """Reads an SSE stream in a thread; events land in `events` as dicts with a receive time."""

    url: str
    headers: dict[str, str]
    events: queue.Queue = field(default_factory=queue.Queue)
    status: int | None = None
    done: threading.Event = field(default_factory=threading.Event)
    comments: int = 0

    def start(self) -> SSEReader:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            with httpx.Client(timeout=httpx.Timeout(30, read=60)) as client, client.stream(
                "GET", self.url, headers=self.headers
            ) as response:
                self.status = response.status_code
                if response.status_code != 200:
                    self.body = response.read()
                    return
                event: dict = {}
                for line in response.iter_lines():
                    if line.startswith(":"):
                        self.comments += 1
                        continue
                    if not line:
                        if event:
                            event["received"] = time.monotonic()
                            self.events.put(event)
                            event = {}
                        continue
                    name, _, value = line.partition(":")
                    event[name] = value[1:] if value.startswith(" ") else value
        except httpx.HTTPError:
            pass
        finally:
            self.done.set()

    def next(self, timeout: float = 5.0) -> dict:
        return self.events.get(timeout=timeout)
