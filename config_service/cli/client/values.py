"""Pure helpers of the config commands: `key.path=value` pairs, documents from files, and the
RFC 6902 diff that `config edit` previews and saves."""

from __future__ import annotations

import json
from typing import Any

import yaml

from config_service.cli.client.errors import CliError


def parse_value(text: str) -> Any:
    """JSON when it parses (`3`, `true`, `null`, `["a"]`, `{"k": 1}`, `"quoted"`), else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def split_path(key: str) -> list[str]:
    """`a.b.c` (a `\\.` is a dot inside a key) or a JSON Pointer `/a/b/c`."""
    if key.startswith("/"):
        return [p.replace("~1", "/").replace("~0", "~") for p in key[1:].split("/")]
    parts: list[str] = []
    current = ""
    escaped = False
    for char in key:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ".":
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    if any(p == "" for p in parts):
        raise CliError(f"not a key path: {key!r} (use a.b.c, or a JSON Pointer /a/b/c)")
    return parts


def pointer(parts: list[str]) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def nest(parts: list[str], value: Any) -> dict[str, Any]:
    for part in reversed(parts):
        value = {part: value}
    return value


def merge_into(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            merge_into(target[key], value)
        else:
            target[key] = value


def assignments(items: list[str]) -> dict[str, Any]:
    """`a.b=1 a.c=x` → `{"a": {"b": 1, "c": "x"}}` (a merge patch)."""
    patch: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise CliError(f"expected key.path=value, got {item!r}")
        merge_into(patch, nest(split_path(key), parse_value(text)))
    return patch


def load_document(text: str, source: str) -> dict[str, Any]:
    """A JSON or YAML object (YAML with the safe loader)."""
    try:
        data = json.loads(text)
    except ValueError:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CliError(f"{source} is neither JSON nor YAML: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise CliError(f"{source} must hold an object (a mapping of keys), not {type(data).__name__}")
    return data


def dump(data: Any, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)


def json_patch(old: Any, new: Any, at: str = "") -> list[dict[str, Any]]:
    """The RFC 6902 operations that turn `old` into `new`: objects key by key, anything else
    (lists included: lists are leaves) replaced whole. A `null` value is kept as a value (it is a
    tombstone in an own config), never turned into a removal."""
    if isinstance(old, dict) and isinstance(new, dict):
        ops: list[dict[str, Any]] = []
        for key in old:
            if key not in new:
                ops.append({"op": "remove", "path": at + pointer([key])})
        for key, value in new.items():
            where = at + pointer([key])
            if key not in old:
                ops.append({"op": "add", "path": where, "value": value})
            else:
                ops.extend(json_patch(old[key], value, where))
        return ops
    if old == new and type(old) is type(new):
        return []
    return [{"op": "replace", "path": at, "value": new}]
