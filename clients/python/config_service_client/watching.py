"""The watch loop's decisions, without I/O: SSE first, long poll when SSE is refused, backoff.

`Client.watch` and `AsyncClient.watch` only open connections and sleep; everything they do
next is asked of a `WatchPlan`, so both behave the same.
"""

from __future__ import annotations

import json
import random
from typing import TYPE_CHECKING, Any, Literal

import httpx

from config_service_client.calls import path, quote_etag
from config_service_client.errors import WatchGone, WatchRevoked, parse_retry_after
from config_service_client.models import ConfigUpdate, EffectiveConfig
from config_service_client.sse import Decoder

if TYPE_CHECKING:
    from config_service_client._core import Core

# Answers that mean "no SSE here" (an old server, a proxy that does not pass streams):
# the long poll serves the same config. A real 404 (node gone) then shows on the long poll.
SSE_REFUSED = frozenset({404, 405, 406, 415, 501})
RETRY_LATER = frozenset({429, 502, 503, 504})
Action = Literal["stream", "fallback", "retry", "error"]


class WatchPlan:
    def __init__(
        self,
        *,
        api: str,
        headers: dict[str, str],
        sse_path: str,
        poll_path: str,
        params: dict[str, str],
        timeout: float,
        poll_wait: float = 30.0,
        read_timeout: float = 45.0,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
    ) -> None:
        self.api = api
        self.headers = headers
        self.sse_path = sse_path
        self.poll_path = poll_path
        self.params = params
        self.timeout = timeout
        self.poll_wait = poll_wait
        self.read_timeout = read_timeout  # default 45 s: 3 keep-alives (every 15 s) missed: dead or buffered
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.mode: Literal["sse", "poll"] = "sse"
        self.view: EffectiveConfig | None = None
        self.failures = 0
        self._retry_after: float | None = None
        self._decoder = Decoder()
        self._received = False

    # ---- state ------------------------------------------------------------------------

    def start(self, view: EffectiveConfig) -> None:
        self.view = view

    @property
    def etag(self) -> str | None:
        return self.view.etag if self.view is not None else None

    # ---- SSE ------------------------------------------------------------------------------

    def sse_request(self) -> dict[str, Any]:
        headers = {**self.headers, "Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if self.etag:
            headers["Last-Event-ID"] = self.etag  # the server sends nothing until the config differs
        self._decoder = Decoder()
        self._received = False
        return {
            "method": "GET",
            "url": self.api + self.sse_path,
            "params": self.params,
            "headers": headers,
            "timeout": httpx.Timeout(self.timeout, read=self.read_timeout),
        }

    def on_open(self, status: int, headers: httpx.Headers) -> Action:
        if status == 200:
            if headers.get("content-type", "").split(";")[0].strip() != "text/event-stream":
                self.mode = "poll"
                return "fallback"
            return "stream"
        if status in SSE_REFUSED:
            self.mode = "poll"
            return "fallback"
        if status in RETRY_LATER:
            self._failed(parse_retry_after(headers.get("retry-after")))
            return "retry"
        return "error"

    def on_line(self, line: str) -> EffectiveConfig | None:
        self._received = True
        event = self._decoder.feed(line)
        if event is None:
            return None
        if event.event in ("revoked", "gone"):
            reason = _reason(event.data, event.event)
            raise (WatchRevoked if event.event == "revoked" else WatchGone)(event.event, reason)
        if event.event != "config":
            return None
        self.failures = 0
        return self._update(ConfigUpdate.from_api(json.loads(event.data)))

    def on_stream_end(self) -> None:
        """The server ends a stream after at most 15 minutes: resume at once with Last-Event-ID."""
        self._retry_after = 0.0

    def on_read_timeout(self) -> None:
        if not self._received:
            self.mode = "poll"  # not a byte in 45 s, not even a keep-alive: a proxy buffers the stream
            self._retry_after = 0.0
        else:
            self._failed(None)

    # ---- long poll ----------------------------------------------------------------------------

    def poll_request(self) -> dict[str, Any]:
        headers = dict(self.headers)
        params = dict(self.params)
        if self.etag:
            headers["If-None-Match"] = quote_etag(self.etag)
            params["wait"] = str(int(self.poll_wait))
        return {
            "method": "GET",
            "url": self.api + self.poll_path,
            "params": params,
            "headers": headers,
            "timeout": httpx.Timeout(self.timeout, read=self.poll_wait + self.timeout),
        }

    def on_poll(self, status: int, headers: httpx.Headers, body: bytes) -> EffectiveConfig | Action | None:
        """The new view, None when nothing changed (304), or what to do about an error answer."""
        if status == 304:
            self.failures = 0
            return None
        if status == 200:
            self.failures = 0
            view: EffectiveConfig = EffectiveConfig.from_api(json.loads(body))
            if view.etag == self.etag:
                return None
            self.view = view
            return view
        if status in RETRY_LATER:
            self._failed(parse_retry_after(headers.get("retry-after")))
            return "retry"
        return "error"

    # ---- failures -------------------------------------------------------------------------------

    def on_transport_error(self) -> None:
        self._failed(None)

    def _failed(self, retry_after: float | None) -> None:
        self.failures += 1
        self._retry_after = retry_after

    def next_delay(self) -> float:
        """Seconds to wait before the next connection: Retry-After when given, else full-jitter backoff."""
        if self._retry_after is not None:
            delay, self._retry_after = self._retry_after, None
            return delay
        if self.failures == 0:
            return 0.0
        return random.uniform(0, min(self.max_backoff, self.backoff * 2 ** (self.failures - 1)))

    def _update(self, update: ConfigUpdate) -> EffectiveConfig | None:
        if update.etag == self.etag or self.view is None:
            return None
        fields = {"etag": update.etag, "version": update.version, "effective_config": update.effective_config}
        view = self.view.model_copy(update={**fields, "stale": False, "saved_at": None})
        base = self.view.api_json if isinstance(self.view.api_json, dict) else {}
        view._api_json = {k: v for k, v in {**base, **fields}.items() if k not in ("stale", "saved_at")}
        self.view = view
        return view


def _reason(data: str, default: str) -> str:
    try:
        parsed = json.loads(data)
    except ValueError:
        return default
    reason = parsed.get("reason") if isinstance(parsed, dict) else None
    return reason if isinstance(reason, str) else default


def watch_plan(
    core: Core,
    timeout: float,
    *,
    masked: bool = False,
    org_id: str | None = None,
    node_id: str | None = None,
    stream_timeout: float = 45.0,
) -> WatchPlan:
    """The plan of a team's watch (`/config/me/watch`, long poll on `/config/me`) or, given
    `org_id` and `node_id`, of an admin's watch of that node."""
    if org_id is not None and node_id is not None:
        node = path("admin", "orgs", org_id, "nodes", node_id)
        sse_path, poll_path, params = node + "/watch", node + "/effective", {}
    else:
        sse_path, poll_path = "/config/me/watch", "/config/me"
        params = {"secrets": "masked"} if masked else {}
    return WatchPlan(api=core.api, headers=core.headers(), sse_path=sse_path, poll_path=poll_path, params=params,
                     timeout=timeout, read_timeout=stream_timeout, backoff=core.backoff, max_backoff=core.max_backoff)
