"""PURE: a strict YAML reader for import documents (DESIGN §12.4).

A document holds JSON values only, so the reader builds them straight from the parser's events
(libyaml's when available) and refuses everything else YAML can say, each with its line and
column: anchors and aliases (a "billion laughs" document, and a value whose edit silently edits
another), timestamps, binary, sets and any other tag (`!!python/object` included), merge keys,
keys that are not strings (`yes:`, `1:`, `null:`), duplicate keys and more than one document.
Scalars are resolved with PyYAML's own resolver — the one its dumper uses to decide what to
quote — so what `codec.render_yaml` writes reads back as the same values.

The building is iterative with an explicit nesting limit: no input reaches Python's recursion
limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from config_service.kit.jsondoc import escape_token
from config_service.transfer.values import LongInteger

_CParser: Any
try:  # libyaml's event parser: several times faster than the pure-Python one
    from yaml import _yaml

    _CParser = _yaml.CParser
except ImportError:  # pragma: no cover - PyYAML wheels ship libyaml on every platform we run
    _CParser = None

# the document's own levels (document, nodes, node) plus a config's 32, with room to spare:
# anything between the config limit and this is refused later with the config's exact path
MAX_NESTING = 100

_LONGEST_INTEGER = 40  # characters; any integer JSON may carry is far shorter, in any YAML notation
_PREFIX = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL, _INT, _FLOAT = (_PREFIX + t for t in ("str", "null", "bool", "int", "float"))
_MAP, _SEQ = _PREFIX + "map", _PREFIX + "seq"
_NOT_JSON = {
    _PREFIX + "timestamp": "timestamps are not JSON values: quote it to keep it a string",
    _PREFIX + "merge": "merge keys (<<) are not supported: write the keys out",
    _PREFIX + "binary": "binary values are not JSON values",
    _PREFIX + "value": "value keys (=) are not supported: quote it to keep it a string",
}


class YamlSyntaxError(ValueError):
    """Not YAML at all (400): the text cannot be parsed."""

    def __init__(self, message: str, line: int | None, column: int | None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


class YamlRefused(ValueError):
    """Valid YAML that a document may not use (422)."""

    def __init__(self, message: str, path: str, line: int, column: int) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.column = column


class _PythonEvents(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):
    """PyYAML's pure-Python event parser (the fallback, and the twin the tests compare)."""

    def __init__(self, text: str) -> None:
        yaml.reader.Reader.__init__(self, text)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)


_RESOLVER = Resolver()
_CONSTRUCTOR = SafeConstructor()


@dataclass
class _Frame:
    container: dict[str, Any] | list[Any]
    tokens: list[str]
    key: str | None = None  # a mapping's key waiting for its value


def _pointer(tokens: list[str]) -> str:
    return "".join("/" + escape_token(t) for t in tokens)


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_PREFIX):] if tag.startswith(_PREFIX) else tag


def _refuse(message: str, tokens: list[str], event: Any) -> YamlRefused:
    mark = event.start_mark
    return YamlRefused(
        f"{message} (line {mark.line + 1}, column {mark.column + 1})", _pointer(tokens), mark.line + 1, mark.column + 1
    )


def _scalar(event: Any, tokens: list[str]) -> Any:
    tag = event.tag
    if tag is None or tag == "!":
        tag = _RESOLVER.resolve(ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
    if tag == _STR:
        return event.value
    if tag in (_NULL, _BOOL, _INT, _FLOAT):
        node = ScalarNode(tag, event.value)
        try:
            if tag == _NULL:
                return None
            if tag == _BOOL:
                return _CONSTRUCTOR.construct_yaml_bool(node)
            if tag == _INT:
                if len(event.value) > _LONGEST_INTEGER:  # never convert thousands of digits
                    return LongInteger(event.value)
                return _CONSTRUCTOR.construct_yaml_int(node)
            return _CONSTRUCTOR.construct_yaml_float(node)
        except (ValueError, KeyError):
            raise _refuse(f"{event.value!r} is not a valid {_tag_name(tag)}", tokens, event) from None
    message = _NOT_JSON.get(tag, f"the tag {_tag_name(tag)} is not supported: a document holds JSON values only")
    raise _refuse(message, tokens, event)


def _check_collection_tag(event: Any, default: str, tokens: list[str]) -> None:
    if event.tag not in (None, "!", default):
        raise _refuse(f"the tag {_tag_name(event.tag)} is not supported: a document holds JSON values only",
                      tokens, event)


def _build(events: Any) -> Any:
    """The value of one YAML document, from its first node event to its end."""
    stack: list[_Frame] = []
    while True:
        event = events.get_event()
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            value: Any = stack.pop().container
        else:
            parent = stack[-1] if stack else None
            if parent is None:
                tokens: list[str] = []
            elif isinstance(parent.container, list):
                tokens = [*parent.tokens, str(len(parent.container))]
            else:
                tokens = [*parent.tokens, parent.key] if parent.key is not None else parent.tokens
            if isinstance(event, yaml.AliasEvent):
                raise _refuse(f"aliases (*{event.anchor}) are not allowed: write the value out", tokens, event)
            if event.anchor is not None:
                raise _refuse(f"anchors (&{event.anchor}) are not allowed", tokens, event)
            is_key = parent is not None and isinstance(parent.container, dict) and parent.key is None
            if isinstance(event, yaml.ScalarEvent):
                value = _scalar(event, tokens)
                if is_key:
                    assert parent is not None and isinstance(parent.container, dict)
                    if not isinstance(value, str):
                        shown = "null" if value is None else str(value).lower() if isinstance(value, bool) else value
                        raise _refuse(f"the key {shown} is not a string: quote it", tokens, event)
                    if value in parent.container:
                        raise _refuse(f"the key {value!r} appears more than once", [*tokens, value], event)
                    parent.key = value
                    continue
            else:
                if is_key:
                    raise _refuse("keys must be strings, not collections", tokens, event)
                if len(stack) >= MAX_NESTING:
                    raise _refuse(f"nested deeper than {MAX_NESTING} levels", tokens, event)
                if isinstance(event, yaml.MappingStartEvent):
                    _check_collection_tag(event, _MAP, tokens)
                    stack.append(_Frame({}, tokens))
                else:
                    _check_collection_tag(event, _SEQ, tokens)
                    stack.append(_Frame([], tokens))
                continue
        if not stack:
            return value
        parent = stack[-1]
        if isinstance(parent.container, list):
            parent.container.append(value)
        else:
            assert parent.key is not None
            parent.container[parent.key] = value
            parent.key = None


def _line_column(text: str, position: int) -> tuple[int, int]:
    before = text[:position]
    line = before.count("\n") + 1
    return line, position - (before.rfind("\n") + 1) + 1


def load(text: str, *, pure: bool = False) -> Any:
    """The one document in `text` as JSON values. Raises YamlSyntaxError or YamlRefused.

    `pure` uses PyYAML's Python parser even where libyaml is available (for tests)."""
    events: Any = None
    try:
        events = _PythonEvents(text) if pure or _CParser is None else _CParser(text)
        events.get_event()  # stream start
        start = events.get_event()
        if isinstance(start, yaml.StreamEndEvent):
            raise YamlSyntaxError("the YAML document is empty", 1, 1)
        value = _build(events)
        events.get_event()  # document end
        after = events.get_event()
        if not isinstance(after, yaml.StreamEndEvent):
            raise _refuse("a document is one YAML document; found a second one", [], after)
        return value
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        where = f" (line {line}, column {column})" if line is not None else ""
        problem = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise YamlSyntaxError(f"not valid YAML: {problem}{where}", line, column) from None
    except yaml.reader.ReaderError as exc:
        line, column = _line_column(text, exc.position)
        raise YamlSyntaxError(
            f"not valid YAML: character #x{exc.character:04x} is not allowed (line {line}, column {column})",
            line, column,
        ) from None
    finally:
        if events is not None:
            events.dispose()
