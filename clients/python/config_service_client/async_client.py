"""`AsyncClient`: the asyncio client, with the same operations as `Client` (built once in
`operations` / `admin_operations`); this module only sends them and sleeps between retries."""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

import httpx

from config_service_client import admin_operations as admin
from config_service_client import operations as ops
from config_service_client._core import Core
from config_service_client.calls import Call, method_signature
from config_service_client.models import EffectiveConfig
from config_service_client.runs import AsyncRunContext
from config_service_client.watching import WatchPlan, watch_plan

P = ParamSpec("P")
T = TypeVar("T")


def _op(build: Callable[P, Call[T]]) -> Callable[Concatenate[AsyncClient, P], Awaitable[T]]:
    @functools.wraps(build)
    async def method(self: AsyncClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.send(build(*args, **kwargs))

    method.__signature__ = method_signature(build)  # type: ignore[attr-defined]
    return method


class AsyncClient:
    """The asyncio twin of `Client` (same arguments, same methods, awaited)."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8080",
        token: str | None = None,
        *,
        last_known_good: str | os.PathLike[str] | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_retry_after: float = 60.0,
    ) -> None:
        self._core = Core(base_url, token, last_known_good=last_known_good, retries=retries, backoff=backoff,
                          max_backoff=max_backoff, max_retry_after=max_retry_after)
        self._timeout = timeout
        self._http = httpx.AsyncClient(timeout=timeout, follow_redirects=True)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def base_url(self) -> str:
        return self._core.base_url

    async def send(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            try:
                response = await self._http.request(**self._core.request(call))
            except httpx.TransportError as exc:
                delay = self._core.delay_after_error(call, attempt, exc)
                if delay is None:
                    return self._core.unreachable(call, exc)
            else:
                delay = self._core.delay_after_response(call, attempt, response)
                if delay is None:
                    result = self._core.result(call, response)
                    if self._core.should_remember(call, result):
                        await asyncio.to_thread(self._core.remember, result)  # fsync off the event loop
                    return result
            await asyncio.sleep(delay)
            attempt += 1

    # ---- live config ------------------------------------------------------------------------

    async def watch(self, *, masked: bool = False, stream_timeout: float = 45.0) -> AsyncIterator[EffectiveConfig]:
        """As `Client.watch`: the effective config now, then after every change."""
        first = await self.effective(masked=masked)
        plan = watch_plan(self._core, self._timeout, masked=masked, stream_timeout=stream_timeout)
        async for view in self._watch(plan, first, remember=not masked):
            yield view

    async def node_watch(
        self, org_id: str, node_id: str, *, stream_timeout: float = 45.0
    ) -> AsyncIterator[EffectiveConfig]:
        first = await self.node_effective(org_id, node_id)
        plan = watch_plan(self._core, self._timeout, org_id=org_id, node_id=node_id, stream_timeout=stream_timeout)
        async for view in self._watch(plan, first, remember=False):
            yield view

    async def _watch(
        self, plan: WatchPlan, first: EffectiveConfig, *, remember: bool
    ) -> AsyncIterator[EffectiveConfig]:
        plan.start(first)
        yield first
        while True:
            try:
                if plan.mode == "sse":
                    async with self._http.stream(**plan.sse_request()) as response:
                        action = plan.on_open(response.status_code, response.headers)
                        if action == "error":
                            await response.aread()
                            self._core.raise_for(response.status_code, response.headers, response.content)
                        if action == "stream":
                            async for line in response.aiter_lines():
                                view = plan.on_line(line)
                                if view is not None:
                                    if remember:
                                        await asyncio.to_thread(self._core.remember, view)
                                    yield view
                            plan.on_stream_end()
                else:
                    response = await self._http.request(**plan.poll_request())
                    outcome = plan.on_poll(response.status_code, response.headers, response.content)
                    if outcome == "error":
                        self._core.raise_for(response.status_code, response.headers, response.content)
                    if isinstance(outcome, EffectiveConfig):
                        if remember:
                            await asyncio.to_thread(self._core.remember, outcome)
                        yield outcome
            except httpx.ReadTimeout:
                plan.on_read_timeout()
            except httpx.TransportError:
                plan.on_transport_error()
            delay = plan.next_delay()
            if delay:
                await asyncio.sleep(delay)

    # ---- runs -----------------------------------------------------------------------------------

    def run(self, agent_name: str, **start: Any) -> AsyncRunContext:
        """`async with client.run("planner") as run:` (see `Client.run`)."""
        return AsyncRunContext(self, agent_name, start)

    # ---- operations (built in operations.py / admin_operations.py) --------------------------------

    whoami = _op(ops.whoami)
    effective = _op(ops.effective)
    raw = _op(ops.raw)
    explain = _op(ops.explain)
    patch = _op(ops.patch)
    put = _op(ops.put)
    history = _op(ops.history)
    version = _op(ops.version)
    diff = _op(ops.diff)
    rollback = _op(ops.rollback)
    preview = _op(ops.preview)
    integration_health = _op(ops.integration_health)
    integrations = _op(ops.integrations)
    integration = _op(ops.integration)
    start_run = _op(ops.start_run)
    finish_run = _op(ops.finish_run)
    get_run = _op(ops.get_run)
    run_config = _op(ops.run_config)
    runs = _op(ops.runs)
    run_stats = _op(ops.run_stats)
    lookup = _op(ops.lookup)
    exchange_token = _op(ops.exchange_token)

    orgs = _op(admin.orgs)
    org = _op(admin.org)
    create_org = _op(admin.create_org)
    delete_org = _op(admin.delete_org)
    nodes = _op(admin.nodes)
    node = _op(admin.node)
    create_node = _op(admin.create_node)
    update_node = _op(admin.update_node)
    delete_node = _op(admin.delete_node)
    tree = _op(admin.tree)
    node_config = _op(admin.node_config)
    node_patch = _op(admin.node_patch)
    node_put = _op(admin.node_put)
    node_rollback = _op(admin.node_rollback)
    node_preview = _op(admin.node_preview)
    node_history = _op(admin.node_history)
    node_version = _op(admin.node_version)
    node_diff = _op(admin.node_diff)
    node_explain = _op(admin.node_explain)
    node_effective = _op(admin.node_effective)
    node_raw = _op(admin.node_raw)
    node_integration_health = _op(admin.node_integration_health)
    locks = _op(admin.locks)
    set_locks = _op(admin.set_locks)
    issue_token = _op(admin.issue_token)
    tokens = _op(admin.tokens)
    revoke_token = _op(admin.revoke_token)
    issue_admin_token = _op(admin.issue_admin_token)
    admin_tokens = _op(admin.admin_tokens)
    revoke_admin_token = _op(admin.revoke_admin_token)
    audit = _op(admin.audit)
    export_audit = _op(admin.export_audit)
    routing_claims = _op(admin.routing_claims)
    export_org = _op(admin.export_org)
    plan_import = _op(admin.plan_import)
    apply_import = _op(admin.apply_import)
