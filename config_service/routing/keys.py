"""PURE: which external identifiers a node's own `routing` lists claim, and lookup precedence (DESIGN §9)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# routing list → compares case-insensitively?
ROUTING_LISTS: dict[str, bool] = {
    "slack_channel_ids": False,
    "services": True,
    "github_repos": True,
    "pagerduty_service_ids": False,
    "incidentio_team_ids": False,
    "incidentio_alert_source_ids": False,
    "coralogix_team_names": True,
}
WORKSPACE_LIST = "slack_workspace_ids"  # org roots only; globally unique; global admin only

# lookup identifier (singular) → routing list, in precedence order
LOOKUP_ORDER: tuple[tuple[str, str], ...] = (
    ("incidentio_team_id", "incidentio_team_ids"),
    ("pagerduty_service_id", "pagerduty_service_ids"),
    ("slack_channel_id", "slack_channel_ids"),
    ("github_repo", "github_repos"),
    ("coralogix_team_name", "coralogix_team_names"),
    ("incidentio_alert_source_id", "incidentio_alert_source_ids"),
    ("service", "services"),
)
WORKSPACE_IDENTIFIER = "slack_workspace_id"  # scopes a lookup to the org it is bound to
IDENTIFIER_KINDS: tuple[str, ...] = (*(singular for singular, _ in LOOKUP_ORDER), WORKSPACE_IDENTIFIER)
MAX_KEY_LENGTH = 500


class RoutingError(ValueError):
    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True, order=True)
class Claim:
    key_type: str
    key_norm: str
    key_value: str


def normalise(key_type: str, value: str) -> str:
    return value.lower() if ROUTING_LISTS.get(key_type, False) else value


def claims(own_config: dict[str, Any]) -> set[Claim]:
    """The identifiers a node's own config claims. Raises RoutingError on a malformed list."""
    routing = own_config.get("routing")
    if routing is None:
        return set()
    if not isinstance(routing, dict):
        raise RoutingError("routing must be an object", "/routing")
    found: dict[tuple[str, str], Claim] = {}
    for key_type in (*ROUTING_LISTS, WORKSPACE_LIST):
        values = routing.get(key_type)
        if values is None:
            continue
        path = f"/routing/{key_type}"
        if not isinstance(values, list):
            raise RoutingError(f"{path} must be a list of strings", path)
        for index, value in enumerate(values):
            if not isinstance(value, str) or not value.strip() or len(value) > MAX_KEY_LENGTH:
                raise RoutingError(f"{path}/{index} must be a non-empty string of at most {MAX_KEY_LENGTH} characters",
                    f"{path}/{index}")
            norm = normalise(key_type, value)
            found.setdefault((key_type, norm), Claim(key_type, norm, value))
    return set(found.values())


def identifier_problem(identifiers: dict[str, Any]) -> tuple[str, str] | None:
    """(path, message) of the first identifier a lookup cannot use: an unknown kind (a misspelt
    `slack_channel` would silently match nothing) or a value that is not a string. `null` and
    `""` mean "not given"."""
    for kind, value in identifiers.items():
        path = "/identifiers/" + kind.replace("~", "~0").replace("/", "~1")
        if kind not in IDENTIFIER_KINDS:
            return path, f"unknown identifier kind {kind!r}; the kinds are: {', '.join(IDENTIFIER_KINDS)}"
        if value is not None and not isinstance(value, str):
            return path, f"identifiers.{kind} must be a string (or null)"
        if isinstance(value, str) and len(value) > MAX_KEY_LENGTH:
            return path, f"identifiers.{kind} must be at most {MAX_KEY_LENGTH} characters"
    return None


def lookup_candidates(identifiers: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(identifier key, routing list, normalised value) for each identifier given, in precedence order."""
    out = []
    for singular, plural in LOOKUP_ORDER:
        value = identifiers.get(singular)
        if isinstance(value, str) and value:
            out.append((singular, plural, normalise(plural, value)))
    return out
