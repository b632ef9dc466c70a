"""Typed exceptions: one class per problem `code` of the API (DESIGN §7), grouped by status.

A code this SDK does not know maps to the class of its status, so a newer server's new code
still raises something an older caller catches (`except Conflict:` keeps working).
"""

from __future__ import annotations

import json
from typing import Any

from config_service_client.models import PlanError


class ConfigServiceError(Exception):
    """Base of every exception this SDK raises."""


class ConnectionFailed(ConfigServiceError, ConnectionError):
    """The service could not be reached (refused, timed out, reset), after the retries."""


class UnexpectedResponse(ConfigServiceError):
    """An answer that is not the API's: not JSON, or not the shape of the call's result (is
    `base_url` the service root, or another web server?)."""


class ApiError(ConfigServiceError):
    """A problem+json answer: `status`, `code`, `detail`, and `path` / `holder` / `current` where given."""

    status_code: int = 0
    default_code: str = "http_error"

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        path: str | None = None,
        holder: Any = None,
        current: str | None = None,
        retry_after: float | None = None,
        problem: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.path = path
        self.holder = holder
        self.current = current
        self.retry_after = retry_after
        self.problem = problem or {}

    def __str__(self) -> str:
        where = f" at {self.path}" if self.path else ""
        return f"{self.detail}{where} ({self.code}, HTTP {self.status})"


class BadRequest(ApiError):
    status_code = 400


class InvalidJson(BadRequest):
    default_code = "invalid_json"


class Unauthenticated(ApiError):
    status_code = 401
    default_code = "unauthenticated"


class Forbidden(ApiError):
    status_code = 403
    default_code = "forbidden"


class InsufficientScope(Forbidden):
    default_code = "insufficient_scope"


class LockedPath(Forbidden):
    default_code = "locked_path"


class NotFound(ApiError):
    status_code = 404
    default_code = "not_found"


class MethodNotAllowed(ApiError):
    status_code = 405
    default_code = "method_not_allowed"


class Conflict(ApiError):
    status_code = 409
    default_code = "conflict"


class Cycle(Conflict):
    default_code = "cycle"


class HasChildren(Conflict):
    default_code = "has_children"


class RoutingConflict(Conflict):
    default_code = "routing_conflict"


class RunFinished(Conflict):
    default_code = "run_finished"


class SchemaInUse(Conflict):
    default_code = "schema_in_use"


class PreconditionFailed(ApiError):
    status_code = 412
    default_code = "precondition_failed"


class RequestTimeout(ApiError):
    """The request's body (or head) did not arrive in time; the server closed the connection."""

    status_code = 408
    default_code = "request_timeout"


class RequestHeaderTooLarge(ApiError):
    status_code = 431
    default_code = "request_header_too_large"


class PayloadTooLarge(ApiError):
    status_code = 413
    default_code = "payload_too_large"


class UnsupportedMediaType(ApiError):
    status_code = 415
    default_code = "unsupported_media_type"


class Unprocessable(ApiError):
    status_code = 422


class InvalidConfig(Unprocessable):
    default_code = "invalid_config"


class InvalidRequest(Unprocessable):
    default_code = "invalid_request"


class IdempotencyMismatch(Unprocessable):
    default_code = "idempotency_mismatch"


class SecretRebindRequired(Unprocessable):
    default_code = "secret_rebind_required"


class ImportRefused(Unprocessable):
    """An import whose plan has errors: nothing was written. `errors` lists them (`PlanError`s,
    each with its node), `based_on` the org state they were found in."""

    default_code = "import_refused"

    @property
    def errors(self) -> list[PlanError]:
        found = self.problem.get("errors")
        items = found if isinstance(found, list) else []
        return [PlanError.from_api(item) for item in items if isinstance(item, dict)]

    @property
    def based_on(self) -> str | None:
        value = self.problem.get("based_on")
        return value if isinstance(value, str) else None


class PreconditionRequired(ApiError):
    status_code = 428
    default_code = "precondition_required"


class RateLimited(ApiError):
    status_code = 429
    default_code = "rate_limited"


class ServerError(ApiError):
    """Any 5xx."""

    status_code = 500


class ServiceUnavailable(ServerError):
    status_code = 503
    default_code = "unavailable"


class WatchClosed(ConfigServiceError):
    """The server closed a watch for good; reconnecting would not help."""

    def __init__(self, event: str, reason: str) -> None:
        super().__init__(f"the watch was closed by the server: {event} ({reason})")
        self.event = event
        self.reason = reason


class WatchRevoked(WatchClosed):
    """The token was revoked or expired (event `revoked`)."""


class WatchGone(WatchClosed):
    """The node was deleted or moved (event `gone`)."""


_CLASSES: list[type[ApiError]] = [
    BadRequest, InvalidJson, Unauthenticated, Forbidden, InsufficientScope, LockedPath, NotFound, MethodNotAllowed,
    Conflict, Cycle, HasChildren, RoutingConflict, RunFinished, SchemaInUse, PreconditionFailed, RequestTimeout,
    PayloadTooLarge, RequestHeaderTooLarge,
    UnsupportedMediaType, Unprocessable, InvalidConfig, InvalidRequest, IdempotencyMismatch, SecretRebindRequired,
    ImportRefused, PreconditionRequired, RateLimited, ServiceUnavailable,
]
BY_CODE: dict[str, type[ApiError]] = {cls.default_code: cls for cls in _CLASSES if cls.default_code != "http_error"}
BY_STATUS: dict[int, type[ApiError]] = {
    cls.status_code: cls for cls in _CLASSES if cls.__base__ is ApiError or cls is ServiceUnavailable
}


def class_for(status: int, code: str | None) -> type[ApiError]:
    """The exception class of a problem: by its code, else by its status, else 5xx/ApiError."""
    if code and code in BY_CODE:
        cls = BY_CODE[code]
        if cls.status_code == status or status == 0:
            return cls
    if status in BY_STATUS:
        return BY_STATUS[status]
    return ServerError if status >= 500 else ApiError


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from datetime import UTC, datetime
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def from_response(status: int, headers: Any, body: bytes, reason: str = "") -> ApiError:
    """Build the typed exception for an error answer (problem+json, plain JSON or anything else)."""
    problem: dict[str, Any] = {}
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        problem = parsed
    code = problem.get("code") if isinstance(problem.get("code"), str) else None
    detail = problem.get("detail")
    if not isinstance(detail, str):
        text = body[:200].decode("utf-8", "replace").strip() if body and not problem else ""
        detail = text or reason or f"HTTP {status}"
    cls = class_for(status, code)
    path = problem.get("path")
    current = problem.get("current")
    if current is None and status == 412 and headers.get("etag"):
        current = headers["etag"].strip().removeprefix("W/").strip('"')  # the validator to retry with
    return cls(
        status,
        code or (cls.default_code if cls.status_code == status else "http_error"),
        detail,
        path=path if isinstance(path, str) else None,
        holder=problem.get("holder"),
        current=current if isinstance(current, str) else None,
        retry_after=parse_retry_after(headers.get("retry-after")),
        problem=problem,
    )
