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


class InvalidJson(AppError):
    status = 400
    code = "invalid_json"
    title = "Invalid JSON"


class Unauthenticated(AppError):
    status = 401
    code = "unauthenticated"
    title = "Unauthenticated"


class Forbidden(AppError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class InsufficientScope(AppError):
    status = 403
    code = "insufficient_scope"
    title = "Insufficient scope"


class LockedPath(AppError):
    status = 403
    code = "locked_path"
    title = "Locked path"


class NotFound(AppError):
    status = 404
    code = "not_found"
    title = "Not found"


def org_not_found(org_id: str) -> NotFound:
    return NotFound(f"org '{org_id}' does not exist")


def node_not_found(org_id: str, node_id: str) -> NotFound:
    """A node missing from an org that exists (else `org_not_found`: say what is missing)."""
    return NotFound(f"node '{node_id}' does not exist in org '{org_id}'")


class Conflict(AppError):
    status = 409
    code = "conflict"
    title = "Conflict"


class Cycle(AppError):
    status = 409
    code = "cycle"
    title = "Move would create a cycle"


class HasChildren(AppError):
    status = 409
    code = "has_children"
    title = "Node has children"


class RoutingConflict(AppError):
    status = 409
    code = "routing_conflict"
    title = "Routing identifier already claimed"


class RunFinished(AppError):
    status = 409
    code = "run_finished"
    title = "Run already finished"


class SchemaInUse(AppError):
    status = 409
    code = "schema_in_use"
    title = "Integration schema in use"


class RequestTimeout(AppError):
    """A request head or body that stopped coming (ops/server.py, ops/middleware.py)."""

    status = 408
    code = "request_timeout"
    title = "Request timeout"


class RequestHeaderTooLarge(AppError):
    """A request head larger than the server reads (ops/server.py)."""

    status = 431
    code = "request_header_too_large"
    title = "Request head too large"


class PreconditionFailed(AppError):
    status = 412
    code = "precondition_failed"
    title = "Precondition failed"


class PreconditionRequired(AppError):
    status = 428
    code = "precondition_required"
    title = "Precondition required"


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"


class InvalidConfig(AppError):
    status = 422
    code = "invalid_config"
    title = "Invalid configuration"


class InvalidRequest(AppError):
    status = 422
    code = "invalid_request"
    title = "Invalid request"


class ImportRefused(AppError):
    """An import whose plan has errors: nothing is written; the problem lists them (`errors`)."""

    status = 422
    code = "import_refused"
    title = "Import refused"


class IdempotencyMismatch(AppError):
    status = 422
    code = "idempotency_mismatch"
    title = "Idempotency key reused with another request"


class SecretRebindRequired(AppError):
    status = 422
    code = "secret_rebind_required"
    title = "Endpoint change needs the secret rewritten"


class RateLimited(AppError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"


class ServiceUnavailable(AppError):
    status = 503
    code = "unavailable"
    title = "Service unavailable"
