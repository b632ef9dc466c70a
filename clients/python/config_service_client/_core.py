"""What `Client` and `AsyncClient` share: request preparation, the retry policy, the ETag cache,
reading answers into typed results and errors, and the last-known-good file."""

from __future__ import annotations

import json
import os
import random
import threading
from collections import OrderedDict
from typing import Any, TypeVar

import httpx

from config_service_client import errors
from config_service_client.calls import NO_BODY, Call
from config_service_client.lkg import LastKnownGood
from config_service_client.models import EffectiveConfig

T = TypeVar("T")

__version__ = "0.1.0"
UNREACHABLE_STATUSES = frozenset({502, 503, 504})  # a proxy or the service itself saying "not now"
RETRY_STATUSES = frozenset({429, 503})
CACHE_ENTRIES = 256


class Core:
    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        last_known_good: str | os.PathLike[str] | None,
        retries: int,
        backoff: float,
        max_backoff: float,
        max_retry_after: float,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api = self.base_url + "/api/v1"
        self.token = token
        self.retries = max(0, retries)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.lkg = LastKnownGood(last_known_good, token) if last_known_good is not None else None
        self.last_view: EffectiveConfig | None = None  # the last own effective config read (its etag starts runs)
        self._cache: OrderedDict[str, tuple[str, Any]] = OrderedDict()
        self._cache_lock = threading.Lock()  # a Client may be shared by threads

    # ---- requests ------------------------------------------------------------------------------

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": f"config-service-client/{__version__}"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def request(self, call: Call[Any]) -> dict[str, Any]:
        """The arguments of `httpx.Client.request` for one attempt of `call`."""
        headers = {**self.headers(), **call.headers}
        if (call.text or call.raw) and "Accept" not in call.headers:
            headers["Accept"] = "*/*"
        content: bytes | None = None
        if isinstance(call.body, bytes):
            headers["Content-Type"] = call.content_type
            content = call.body
        elif call.body is not NO_BODY:
            headers["Content-Type"] = call.content_type
            content = json.dumps(call.body, separators=(",", ":"), allow_nan=False).encode()
        params = call.query()
        if call.method == "GET":
            cached = self._cached(self._key(call.path, params))
            if cached is not None:
                headers["If-None-Match"] = cached[0]
        return {"method": call.method, "url": self.api + call.path, "params": params, "headers": headers,
                "content": content}

    @staticmethod
    def _key(path: str, params: dict[str, str]) -> str:
        return path + "?" + "&".join(f"{k}={v}" for k, v in sorted(params.items()))

    # ---- retries -------------------------------------------------------------------------------

    def delay_after_error(self, call: Call[Any], attempt: int, exc: httpx.TransportError) -> float | None:
        """Seconds before retrying after a transport failure, or None to give up. A connection that
        never opened sent nothing, so any call may retry it; anything later only a safe call."""
        if attempt >= self.retries:
            return None
        if not (call.retry_safe or isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)):
            return None
        return self.jitter(attempt)

    def delay_after_response(self, call: Call[Any], attempt: int, response: httpx.Response) -> float | None:
        if response.status_code not in RETRY_STATUSES or not call.retry_safe or attempt >= self.retries:
            return None
        retry_after = errors.parse_retry_after(response.headers.get("retry-after"))
        if retry_after is None:
            return self.jitter(attempt)
        return retry_after if retry_after <= self.max_retry_after else None

    def jitter(self, attempt: int) -> float:
        """Exponential backoff with full jitter (uniform in [0, min(cap, base·2^attempt)])."""
        return random.uniform(0, min(self.max_backoff, self.backoff * 2**attempt))

    # ---- answers -------------------------------------------------------------------------------

    def result(self, call: Call[T], response: httpx.Response) -> T:
        """The typed result of a final answer; an `ApiError` subclass for a problem;
        `UnexpectedResponse` for an answer that is not the API's (not JSON, or not its shape)."""
        try:
            return self._result(call, response)
        except ValueError as exc:  # a JSON decode error, or pydantic's ValidationError (a ValueError)
            raise errors.UnexpectedResponse(
                f"the answer to {call.method} {response.request.url.path} (HTTP {response.status_code}, "
                f"{response.headers.get('content-type') or 'no content type'}) is not the service's JSON: "
                f"is {self.base_url} the service root?"
            ) from exc

    def _result(self, call: Call[T], response: httpx.Response) -> T:
        status = response.status_code
        key = self._key(call.path, call.query()) if call.method == "GET" else None
        cached = self._cached(key) if status == 304 and key is not None else None
        if cached is not None:
            return self._parsed(call, cached[1])
        if status >= 300:
            if call.own_effective and status in UNREACHABLE_STATUSES:
                stale = self.stale()
                if stale is not None:
                    return stale  # type: ignore[return-value]
            raise errors.from_response(status, response.headers, response.content, response.reason_phrase)
        if call.raw:
            return call.parse(response.content)
        if call.text:
            return call.parse(response.text)
        if not response.content:
            return call.parse(None)
        data = response.json()
        etag = response.headers.get("etag")
        if key is not None and etag:
            with self._cache_lock:
                self._cache[key] = (etag, data)
                self._cache.move_to_end(key)
                while len(self._cache) > CACHE_ENTRIES:
                    self._cache.popitem(last=False)
        return self._parsed(call, data)

    def _cached(self, key: str) -> tuple[str, Any] | None:
        with self._cache_lock:
            entry = self._cache.get(key)
            if entry is not None:
                self._cache.move_to_end(key)
            return entry

    def _parsed(self, call: Call[T], data: Any) -> T:
        result = call.parse(data)
        if call.own_effective and isinstance(result, EffectiveConfig):
            self.last_view = result
        return result

    def unreachable(self, call: Call[T], exc: httpx.TransportError) -> T:
        """After the last transport failure: the last-known-good config for an own effective read, else raise."""
        if call.own_effective:
            stale = self.stale()
            if stale is not None:
                return stale  # type: ignore[return-value]
        raise errors.ConnectionFailed(f"cannot reach {self.base_url}: {_describe(exc)}") from exc

    def stale(self) -> EffectiveConfig | None:
        if self.last_view is not None:
            view = self.last_view.model_copy(update={"stale": True})
            view._api_json = self.last_view.api_json
            return view
        return self.lkg.load() if self.lkg is not None else None

    def remember(self, result: Any) -> None:
        """Save an own effective read to the last-known-good file (blocking file I/O)."""
        if self.lkg is not None and isinstance(result, EffectiveConfig) and not result.stale:
            self.lkg.save(result)

    def should_remember(self, call: Call[Any], result: Any) -> bool:
        return self.lkg is not None and call.own_effective and isinstance(result, EffectiveConfig) and not result.stale

    def raise_for(self, status: int, headers: httpx.Headers, body: bytes, reason: str = "") -> None:
        raise errors.from_response(status, headers, body, reason)


def _describe(exc: httpx.TransportError) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
