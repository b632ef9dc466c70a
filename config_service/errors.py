"""Domain errors, rendered as RFC 9457 problem+json by one handler (see app.py)."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status: int = 500
    code: str = "internal_error"
    title: str = "Internal error"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://config-service.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if instance is not None:
            body["instance"] = instance
        body.update(self.extra)
        return body


def _error(name: str, status: int, code: str, title: str) -> type[AppError]:
    return type(name, (AppError,), {"status": status, "code": code, "title": title})


InvalidJson = _error("InvalidJson", 400, "invalid_json", "Invalid JSON")
Unauthenticated = _error("Unauthenticated", 401, "unauthenticated", "Unauthenticated")
Forbidden = _error("Forbidden", 403, "forbidden", "Forbidden")
InsufficientScope = _error("InsufficientScope", 403, "insufficient_scope", "Insufficient scope")
LockedPath = _error("LockedPath", 403, "locked_path", "Locked path")
NotFound = _error("NotFound", 404, "not_found", "Not found")
Conflict = _error("Conflict", 409, "conflict", "Conflict")
Cycle = _error("Cycle", 409, "cycle", "Move would create a cycle")
HasChildren = _error("HasChildren", 409, "has_children", "Node has children")
RoutingConflict = _error("RoutingConflict", 409, "routing_conflict", "Routing identifier already claimed")
RunFinished = _error("RunFinished", 409, "run_finished", "Run already finished")
SchemaInUse = _error("SchemaInUse", 409, "schema_in_use", "Integration schema in use")
RequestTimeout = _error("RequestTimeout", 408, "request_timeout", "Request timeout")
PreconditionFailed = _error("PreconditionFailed", 412, "precondition_failed", "Precondition failed")
PayloadTooLarge = _error("PayloadTooLarge", 413, "payload_too_large", "Payload too large")
UnsupportedMediaType = _error(
    "UnsupportedMediaType", 415, "unsupported_media_type", "Unsupported media type"
)
InvalidConfig = _error("InvalidConfig", 422, "invalid_config", "Invalid configuration")
InvalidRequest = _error("InvalidRequest", 422, "invalid_request", "Invalid request")
SecretRebindRequired = _error(
    "SecretRebindRequired", 422, "secret_rebind_required", "Endpoint change needs the secret rewritten"
)
RateLimited = _error("RateLimited", 429, "rate_limited", "Too many requests")
ServiceUnavailable = _error("ServiceUnavailable", 503, "unavailable", "Service unavailable")
