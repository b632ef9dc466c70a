"""Python client for Config Service (DESIGN §12.3): `Client` (blocking) and `AsyncClient`.

    from config_service_client import Client

    with Client("http://127.0.0.1:8080", token) as client:
        config = client.effective().effective_config
"""

from config_service_client._core import __version__
from config_service_client.async_client import AsyncClient
from config_service_client.calls import Call
from config_service_client.client import Client
from config_service_client.errors import (
    ApiError,
    BadRequest,
    ConfigServiceError,
    Conflict,
    ConnectionFailed,
    Cycle,
    Forbidden,
    HasChildren,
    IdempotencyMismatch,
    ImportRefused,
    InsufficientScope,
    InvalidConfig,
    InvalidJson,
    InvalidRequest,
    LockedPath,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    PreconditionRequired,
    RateLimited,
    RequestHeaderTooLarge,
    RequestTimeout,
    RoutingConflict,
    RunFinished,
    SchemaInUse,
    SecretRebindRequired,
    ServerError,
    ServiceUnavailable,
    Unauthenticated,
    UnexpectedResponse,
    Unprocessable,
    UnsupportedMediaType,
    WatchClosed,
    WatchGone,
    WatchRevoked,
)
from config_service_client.models import AppliedImport, EffectiveConfig, ImportPlan, OrgExport
from config_service_client.runs import RunHandle

__all__ = [
    "__version__", "AppliedImport", "AsyncClient", "Call", "Client", "EffectiveConfig", "ImportPlan", "OrgExport",
    "RunHandle", "ApiError", "BadRequest", "ConfigServiceError", "Conflict", "ConnectionFailed", "Cycle", "Forbidden",
    "HasChildren", "IdempotencyMismatch", "ImportRefused", "InsufficientScope", "InvalidConfig", "InvalidJson",
    "InvalidRequest", "LockedPath", "MethodNotAllowed", "NotFound", "PayloadTooLarge", "PreconditionFailed",
    "PreconditionRequired", "RateLimited", "RequestHeaderTooLarge", "RequestTimeout", "RoutingConflict", "RunFinished",
    "SchemaInUse", "SecretRebindRequired", "UnexpectedResponse",
    "ServerError", "ServiceUnavailable", "Unauthenticated", "Unprocessable", "UnsupportedMediaType", "WatchClosed",
    "WatchGone", "WatchRevoked",
]
