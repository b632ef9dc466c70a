"""`with client.run("planner") as run:` — one agent run recorded around a block of code."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from config_service_client.errors import ConfigServiceError
from config_service_client.models import EffectiveConfig, Run

if TYPE_CHECKING:
    from config_service_client.async_client import AsyncClient
    from config_service_client.client import Client

MAX_OUTPUT = 64 * 1024  # far below the server's 256 KiB, so a huge exception message cannot fail the finish


class RunHandle:
    """What the block gets: the run, the config it started with, and an `output` to record."""

    def __init__(self, run: Run, config: EffectiveConfig | None) -> None:
        self.run = run
        self.config = config
        self.output: str | None = None
        self.metadata: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        return self.run.id

    @property
    def config_version(self) -> str | None:
        return self.run.config_version


def start_arguments(kwargs: dict[str, Any], config: EffectiveConfig | None) -> dict[str, Any]:
    if config is not None and kwargs.get("config_version") is None:
        kwargs = {**kwargs, "config_version": config.etag}
    return kwargs


def reads_own_config(kwargs: dict[str, Any]) -> bool:
    """A team records its own runs against what it reads; the internal token names another team."""
    return kwargs.get("org_id") is None and kwargs.get("config_version") is None


def finish_arguments(handle: RunHandle, exc: BaseException | None) -> dict[str, Any]:
    if exc is None:
        return {"status": "success", "output": handle.output, "metadata": handle.metadata}
    message = str(exc) or type(exc).__name__
    return {"status": "error", "output": message[:MAX_OUTPUT], "metadata": handle.metadata}


def note_failed_finish(exc: BaseException | None, failure: ConfigServiceError) -> None:
    if exc is None:
        raise failure
    exc.add_note(f"config-service: recording the run's end failed as well: {failure}")


class RunContext:
    def __init__(self, client: Client, agent_name: str, kwargs: dict[str, Any]) -> None:
        self._client = client
        self._agent_name = agent_name
        self._kwargs = kwargs
        self._handle: RunHandle | None = None

    def __enter__(self) -> RunHandle:
        config = self._client.effective() if reads_own_config(self._kwargs) else None
        run = self._client.start_run(self._agent_name, **start_arguments(self._kwargs, config))
        self._handle = RunHandle(run, config)
        return self._handle

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        assert self._handle is not None
        try:
            self._client.finish_run(self._handle.id, **finish_arguments(self._handle, exc))
        except ConfigServiceError as failure:
            note_failed_finish(exc, failure)


class AsyncRunContext:
    def __init__(self, client: AsyncClient, agent_name: str, kwargs: dict[str, Any]) -> None:
        self._client = client
        self._agent_name = agent_name
        self._kwargs = kwargs
        self._handle: RunHandle | None = None

    async def __aenter__(self) -> RunHandle:
        config = await self._client.effective() if reads_own_config(self._kwargs) else None
        run = await self._client.start_run(self._agent_name, **start_arguments(self._kwargs, config))
        self._handle = RunHandle(run, config)
        return self._handle

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        assert self._handle is not None
        try:
            await self._client.finish_run(self._handle.id, **finish_arguments(self._handle, exc))
        except ConfigServiceError as failure:
            note_failed_finish(exc, failure)
