"""The peer service's request forms, translated to the canonical ones (DESIGN §6)."""

from __future__ import annotations

from typing import Any

from config_service.configs.changes import MergePatch

DEPRECATION_HEADERS = {
    "Deprecation": "true",
    "Link": '</docs/API.md>; rel="deprecation"',
}


def put_with_patch(body: dict[str, Any]) -> MergePatch | None:
    """`PUT …/config {"patch": <merge patch>}` means PATCH; None when the body is a canonical PUT."""
    if "config" in body or "patch" not in body:
        return None
    patch = body["patch"]
    if not isinstance(patch, dict):
        return None
    return MergePatch(patch)
