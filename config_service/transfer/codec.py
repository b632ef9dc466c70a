"""PURE: reading and writing the document (DESIGN §12.4) as JSON or YAML.

Reading: the body must be UTF-8; malformed JSON or YAML is 400 `invalid_json` with the line and
column (also as `line` and `column` members of the problem); valid text a document may not use —
duplicate keys, YAML anchors, aliases, timestamps and other non-JSON types, numbers outside
I-JSON, unknown fields — is 422 naming the path. JSON is read by the standard library so that
duplicate keys and long integers can be seen at all (orjson keeps the last key and turns a long
integer into a float); nesting beyond its recursion limit is 422, never a 500.

Writing: the document's keys in their fixed order, every config's keys sorted, so two exports
of one state are byte-identical and diff well in git. YAML is written by PyYAML's safe dumper,
which quotes every string its resolver — the one `yaml_reader` uses — would read as another
type (`"true"`, `"1.0"`, `"2024-01-01"`, `"null"`, `"yes"`), so a rendered document reads back
as itself.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import orjson
import yaml

from config_service.errors import AppError, InvalidJson, InvalidRequest, UnsupportedMediaType
from config_service.transfer import yaml_reader
from config_service.transfer.document import Document, problem, validate_document
from config_service.transfer.values import DuplicateKeys, LongInteger

JSON_MEDIA_TYPE = "application/json"
YAML_MEDIA_TYPE = "application/yaml"
YAML_MEDIA_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"})
Kind = Literal["json", "yaml"]

_DUMPER: type[Any]
try:
    _DUMPER = yaml.CSafeDumper  # same output as SafeDumper, several times faster
except AttributeError:  # pragma: no cover - PyYAML wheels ship libyaml on every platform we run
    _DUMPER = yaml.SafeDumper
_YAML_WIDTH = 1 << 16  # no folding: a changed value stays one line in a diff
_LONGEST_INTEGER = 40


def _media_type(content_type: str | None) -> str:
    return (content_type or JSON_MEDIA_TYPE).split(";")[0].strip().lower()


def body_kind(content_type: str | None) -> Kind:
    """How to read a request body: JSON (also when no Content-Type is sent) or YAML; else 415."""
    media = _media_type(content_type)
    if media == JSON_MEDIA_TYPE:
        return "json"
    if media in YAML_MEDIA_TYPES:
        return "yaml"
    raise UnsupportedMediaType(
        f"a document is sent as {JSON_MEDIA_TYPE} or {YAML_MEDIA_TYPE} (also application/x-yaml, text/yaml), "
        f"not {media}"
    )


def negotiate(accept: str | None) -> Kind:
    """The export's form: YAML when `Accept` names a YAML type before (or without) JSON, else JSON."""
    for part in (accept or "").split(","):
        media = part.split(";")[0].strip().lower()
        if media in YAML_MEDIA_TYPES:
            return "yaml"
        if media == JSON_MEDIA_TYPE:
            return "json"
    return "json"


def _line_column(data: bytes, offset: int) -> tuple[int, int]:
    before = data[:offset]
    return before.count(b"\n") + 1, offset - (before.rfind(b"\n") + 1) + 1


def _text(body: bytes) -> str:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _line_column(body, exc.start)
        raise InvalidJson(
            f"the body is not UTF-8 (byte {exc.start}, line {line}, column {column})", line=line, column=column
        ) from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise InvalidJson("the request body is empty; a document is required", line=1, column=1)
    return text


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) == len(pairs):
        return result
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            return DuplicateKeys(pairs, key)
        seen.add(key)
    return result  # unreachable: fewer keys than pairs means a repeat


def _integer(digits: str) -> int | LongInteger:
    return LongInteger(digits) if len(digits) > _LONGEST_INTEGER else int(digits)


def _read_json(text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_int=_integer, parse_constant=float)
    except json.JSONDecodeError as exc:
        raise InvalidJson(
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", line=exc.lineno, column=exc.colno
        ) from None
    except RecursionError:
        raise InvalidRequest("the document is nested too deeply", path="") from None


def _read_yaml(text: str) -> Any:
    try:
        return yaml_reader.load(text)
    except yaml_reader.YamlSyntaxError as exc:
        raise InvalidJson(str(exc), line=exc.line, column=exc.column) from None
    except yaml_reader.YamlRefused as exc:
        error: AppError = problem(exc.path, str(exc))
        error.extra.update(line=exc.line, column=exc.column)
        raise error from None


def read(body: bytes, content_type: str | None) -> Any:
    """The value a body holds (JSON or YAML by `content_type`), before the document's rules."""
    kind = body_kind(content_type)
    text = _text(body)
    return _read_json(text) if kind == "json" else _read_yaml(text)


def parse(body: bytes, content_type: str | None) -> Document:
    """The document a request body holds, checked (see `document.validate_document`)."""
    return validate_document(read(body, content_type))


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def document_dict(document: Document) -> dict[str, Any]:
    """The document as plain data: its keys in the fixed order, each config's keys sorted."""
    return {
        "format": document.format,
        "org": {"org_id": document.org.org_id, "name": document.org.name},
        "nodes": [
            {
                "node_id": node.node_id,
                "parent_node_id": node.parent_node_id,
                "name": node.name,
                "config": _sorted(node.config),
                "locked_paths": list(node.locked_paths),
            }
            for node in document.nodes
        ],
    }


def render_json(document: Document) -> bytes:
    return orjson.dumps(document_dict(document), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


def render_yaml(document: Document) -> bytes:
    text = yaml.dump(
        document_dict(document),
        Dumper=_DUMPER,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=_YAML_WIDTH,
    )
    return text.encode("utf-8")


def render(document: Document, kind: Kind) -> bytes:
    return render_yaml(document) if kind == "yaml" else render_json(document)
