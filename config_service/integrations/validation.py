"""PURE: integration schemas and the config values written against them (DESIGN §8).

Messages name JSON paths and types, never the value that failed (it may be a credential).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from config_service.kit import secret_leaves
from config_service.kit.ids import is_valid_id
from config_service.kit.jsondoc import canonical, escape_token
from config_service.kit.pointer import ABSENT, get_path

FIELD_TYPES = ("string", "integer", "number", "boolean", "url", "email", "enum", "string_list")
STRING_TYPES = ("string", "url", "email", "enum")  # what a secret (a string) may be
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_FIELD_KEYS = {"name", "type", "required", "display_name", "description", "secret", "endpoint", "example", "options"}

Catalog = Mapping[str, Sequence[Mapping[str, Any]]]  # integration id → its fields
# Lenient writes (the compat mount, DESIGN §6): a field the catalog does not know is kept; one
# whose name says it holds a credential is sealed like a catalog secret, one whose name says where
# credentials go counts as an endpoint (the credential-redirection rule still applies).
_SECRET_NAME = re.compile(r"key|secret|token|password|passwd|credential|private", re.IGNORECASE)
_ENDPOINT_NAME = re.compile(r"(url|uri|endpoint|host|domain)$", re.IGNORECASE)


def unknown_field(name: str, value: Any) -> dict[str, Any]:
    """The field definition a lenient write gives a field its integration's schema lacks."""
    secret = isinstance(value, str) and _SECRET_NAME.search(name) is not None
    return {"name": name, "type": "string" if secret else "any", "secret": secret,
            "endpoint": _ENDPOINT_NAME.search(name) is not None}


class IntegrationError(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


def type_problem(field: Mapping[str, Any], value: Any) -> str | None:
    """Why `value` does not fit `field` ("expected …"), or None if it does."""
    kind = field.get("type")
    if kind == "string":
        return None if isinstance(value, str) else "expected a string"
    if kind == "integer":
        return None if isinstance(value, int) and not isinstance(value, bool) else "expected an integer"
    if kind == "number":
        return None if isinstance(value, int | float) and not isinstance(value, bool) else "expected a number"
    if kind == "boolean":
        return None if isinstance(value, bool) else "expected true or false"
    if kind == "string_list":
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return None if ok else "expected a list of strings"
    if kind == "url":
        if not isinstance(value, str):
            return "expected a URL string"
        try:
            parts = urlsplit(value)
        except ValueError:
            return "expected an http(s) URL"
        if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
            return "expected an http(s) URL"
        return None
    if kind == "email":
        return None if isinstance(value, str) and _EMAIL.match(value) else "expected an email address"
    if kind == "enum":
        options = list(field.get("options") or [])
        return None if isinstance(value, str) and value in options else f"expected one of {options}"
    return f"the schema has an unknown field type {kind!r}"


def schema_problem(fields: Any) -> tuple[str, str] | None:
    """(path, message) of the first problem in a list of field definitions, else None."""
    if not isinstance(fields, list):
        return "/fields", "fields must be a list"
    seen: set[str] = set()
    for index, field in enumerate(fields):
        at = f"/fields/{index}"
        if not isinstance(field, dict):
            return at, "a field must be an object"
        extra = set(field) - _FIELD_KEYS
        if extra:
            return f"{at}/{escape_token(sorted(extra)[0])}", "unknown field property"
        name = field.get("name")
        if not isinstance(name, str) or not is_valid_id(name):
            return f"{at}/name", "a field name is 1-64 of A-Z a-z 0-9 _ - starting with a letter or digit"
        if name in seen:
            return f"{at}/name", "field names must be unique"
        seen.add(name)
        if field.get("type") not in FIELD_TYPES:
            return f"{at}/type", f"type must be one of {list(FIELD_TYPES)}"
        for flag in ("required", "secret", "endpoint"):
            if not isinstance(field.get(flag, False), bool):
                return f"{at}/{flag}", f"{flag} must be true or false"
        for text in ("display_name", "description"):
            if not isinstance(field.get(text, ""), str) or len(field.get(text, "")) > 1000:
                return f"{at}/{text}", f"{text} must be a string of at most 1000 characters"
        if field["type"] == "enum":
            options = field.get("options")
            if not isinstance(options, list) or not options or not all(isinstance(o, str) for o in options):
                return f"{at}/options", "an enum field needs a non-empty list of string options"
        elif "options" in field:
            return f"{at}/options", "only enum fields have options"
        if field.get("secret") and field["type"] not in STRING_TYPES:
            return f"{at}/secret", "only string-like fields can be secret"
        if "example" not in field:
            return f"{at}/example", "every field needs an example"
        problem = type_problem(field, field["example"])
        if problem:
            return f"{at}/example", f"the example does not pass its own check: {problem}"
    return None


def normalise_fields(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every documented property present (defaults filled in)."""
    out = []
    for field in fields:
        item = {
            "name": field["name"],
            "type": field["type"],
            "required": bool(field.get("required", False)),
            "display_name": field.get("display_name") or field["name"],
            "description": field.get("description") or "",
            "secret": bool(field.get("secret", False)),
            "endpoint": bool(field.get("endpoint", False)),
            "example": field["example"],
        }
        if field["type"] == "enum":
            item["options"] = list(field["options"])
        out.append(item)
    return out


def _same(a: Any, b: Any) -> bool:
    return a is b or canonical(a) == canonical(b)


def _integrations(document: Any) -> dict[str, Any]:
    value = document.get("integrations") if isinstance(document, dict) else None
    return value if isinstance(value, dict) else {}


def changed_integrations(old_own: dict[str, Any], new_own: dict[str, Any]) -> list[str]:
    """Ids under `integrations` whose own value this write changes."""
    old, new = _integrations(old_own), _integrations(new_own)
    return [i for i, value in new.items() if i not in old or not _same(value, old[i])]


def check_write(
    old_own: dict[str, Any], new_own: dict[str, Any], catalog: Catalog, *, lenient: bool = False
) -> tuple[list[tuple[list[str], str]], list[tuple[str, str]]]:
    """Check every integration field this write sets against its schema.

    Returns the plaintexts of catalog `secret` fields to seal (tokens, plaintext) and the
    (integration, field) endpoint fields the write sets — or keeps, when it drops that
    integration's own secret (DESIGN §8: an inherited secret must not reach them). Every
    integration id the write sets is an identifier (DESIGN §2; a tombstone may clear any).
    Unknown integrations are open; values the write does not change are not judged again (a
    schema may have changed since).
    `lenient`: a field the schema lacks is kept (`unknown_field`) instead of refused.
    """
    to_seal: list[tuple[list[str], str]] = []
    endpoints: list[tuple[str, str]] = []
    old_all = _integrations(old_own)
    for integration, value in _integrations(new_own).items():
        fields = catalog.get(integration)
        old_value = old_all.get(integration, ABSENT)
        if value is None or (old_value is not ABSENT and _same(value, old_value)):
            continue
        base = f"/integrations/{escape_token(integration)}"
        if not is_valid_id(integration):  # DESIGN §2: an integration id is an identifier
            raise IntegrationError(base, f"{base}: an integration id is 1-64 of A-Z a-z 0-9 _ - starting with a "
                                         "letter or digit")
        if fields is None:
            continue
        if not isinstance(value, dict) or secret_leaves.SECRET_KEY in value:
            raise IntegrationError(base, f"{base}: an integration is an object of fields")
        by_name = {f["name"]: f for f in fields}
        old_fields = old_value if isinstance(old_value, dict) else {}
        for name, field_value in value.items():
            if name in old_fields and _same(field_value, old_fields[name]):
                continue
            path = f"{base}/{escape_token(name)}"
            field = by_name.get(name)
            if field is None and lenient:
                field = unknown_field(name, field_value)
            if field is None:
                raise IntegrationError(path,
                    f"{path}: '{integration}' has no field '{name}' (fields: {sorted(by_name)})")
            if field_value is None:
                continue
            tokens = ["integrations", integration, name]
            if field["type"] == "any":  # a lenient write's unknown, non-secret field: any JSON value
                problem = None
            elif secret_leaves.is_envelope(field_value):  # restored by a rollback: sealed, so string-like
                problem = None if field["type"] in STRING_TYPES else f"expected {field['type']}, not a secret"
            elif isinstance(field_value, dict) and secret_leaves.SECRET_KEY in field_value:
                plaintext = secret_leaves.secret_request(field_value, tokens)
                problem = type_problem(field, plaintext)
            else:
                problem = type_problem(field, field_value)
                if problem is None and field.get("secret") and isinstance(field_value, str):
                    to_seal.append((tokens, field_value))
            if problem:
                raise IntegrationError(path, f"{path}: {problem}")
            if field.get("endpoint"):
                endpoints.append((integration, name))
        if _drops_a_secret(by_name, old_fields, value):
            # the endpoints the node keeps are judged again: an inherited secret may now reach them
            endpoints += [(integration, n) for n, f in by_name.items()
                          if f.get("endpoint") and value.get(n) is not None and (integration, n) not in endpoints]
    return to_seal, endpoints


def _drops_a_secret(by_name: Mapping[str, Mapping[str, Any]], old_fields: dict[str, Any],
    new_fields: dict[str, Any]) -> bool:
    """Whether a write removes (or turns to `null`) a `secret` field this node's own config held."""
    return any(
        f.get("secret") and old_fields.get(n) is not None and new_fields.get(n) is None
        for n, f in by_name.items()
    )


def supplier(chain: Sequence[dict[str, Any]], tokens: list[str]) -> int | None:
    """Index in the lineage of the node that supplies the effective value at `tokens`: the
    deepest level where it took its final value (None when it is absent)."""
    final = get_path(chain[-1], tokens)
    if final is ABSENT:
        return None
    index = len(chain) - 1
    while index > 0:
        above = get_path(chain[index - 1], tokens)
        if above is ABSENT or not _same(above, final):
            break
        index -= 1
    return index


def rebind_problem(
    chain: Sequence[dict[str, Any]], endpoints: list[tuple[str, str]], catalog: Catalog
) -> tuple[str, str] | None:
    """(path, message) if the write points an integration's endpoint somewhere while its secret
    stays supplied by a node above the written one (the last of `chain`), else None."""
    here = len(chain) - 1
    for integration, name in endpoints:
        for field in catalog.get(integration, ()):
            if not field.get("secret"):
                continue
            source = supplier(chain, ["integrations", integration, field["name"]])
            if source is not None and source < here:
                path = f"/integrations/{escape_token(integration)}/{escape_token(name)}"
                return path, (
                    f"{path}: setting where '{integration}' sends credentials below the node that holds its "
                    f"'{field['name']}' needs that secret written here in the same change"
                )
    return None


def health(chain: Sequence[dict[str, Any]], hierarchy: Sequence[str], catalog: Catalog) -> dict[str, Any]:
    """DESIGN §8 integration health of the last node of the chain, for every catalog integration."""
    effective = _integrations(chain[-1]) if chain else {}
    result: dict[str, Any] = {}
    for integration in sorted(catalog):
        fields = catalog[integration]
        value = effective.get(integration)
        value = value if isinstance(value, dict) else {}
        configured = [f["name"] for f in fields if value.get(f["name"]) not in (None, "", [])]
        missing = [f["name"] for f in fields if f.get("required") and f["name"] not in configured]
        sources = {}
        for name in configured:
            index = supplier(chain, ["integrations", integration, name])
            if index is not None:
                sources[name] = hierarchy[index]
        if not configured:
            status = "not_configured"
        elif missing:
            status = "incomplete"
        else:
            status = "configured"
        result[integration] = {
            "status": status,
            "fields_configured": configured,
            "missing_fields": missing,
            "sources": sources,
        }
    return {"integrations": result}
