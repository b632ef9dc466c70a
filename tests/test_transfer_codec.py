"""PURE: reading and writing import/export documents (DESIGN §12.4): the strict YAML reader,
JSON with duplicate keys and I-JSON numbers, errors with line and column, byte-identical renders
that read back as themselves. No database, no server."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest

from config_service.errors import AppError, InvalidJson, UnsupportedMediaType
from config_service.kit import jsondoc
from config_service.transfer import codec, values, yaml_reader
from config_service.transfer.document import Document, validate_document

YAML = "application/yaml"
JSON = "application/json"


def doc_text(config_yaml: str) -> str:
    """A YAML document with one root whose config is `config_yaml` (indented under `config:`)."""
    indented = "\n".join("      " + line for line in config_yaml.strip("\n").splitlines())
    return (
        "format: config-service/v1\n"
        "org: {org_id: acme, name: Acme}\n"
        "nodes:\n"
        "  - node_id: acme\n"
        "    parent_node_id: null\n"
        "    name: Acme\n"
        "    locked_paths: []\n"
        "    config:\n" + indented + "\n"
    )


def doc_json(config: str) -> bytes:
    return (
        '{"format": "config-service/v1", "org": {"org_id": "acme", "name": "Acme"}, "nodes": ['
        '{"node_id": "acme", "parent_node_id": null, "name": "Acme", "locked_paths": [], "config": ' + config + "}]}"
    ).encode()


def refusal(body: bytes, content_type: str) -> AppError:
    with pytest.raises(AppError) as caught:
        codec.parse(body, content_type)
    return caught.value


# ---- YAML: what a document may not use is 422 with path, line and column ---------------------

YAML_REFUSALS = [
    # (label, config yaml, path, line, words in the detail)
    ("anchor", "a: &x 1\nb: 2", "/nodes/0/config/a", 9, "anchors"),
    ("alias", "a: 1\nb: *x", "/nodes/0/config/b", 10, "aliases"),
    ("anchor on a mapping", "a: &m {b: 1}", "/nodes/0/config/a", 9, "anchors"),
    ("timestamp (date)", "since: 2024-01-01", "/nodes/0/config/since", 9, "timestamp"),
    ("timestamp (date and time)", "at: 2024-01-01 10:00:00", "/nodes/0/config/at", 9, "timestamp"),
    ("explicit timestamp tag", "at: !!timestamp '2024-01-01'", "/nodes/0/config/at", 9, "timestamp"),
    ("duplicate key", "a: 1\nb: 2\na: 3", "/nodes/0/config/a", 11, "more than once"),
    ("duplicate key deeper", "a:\n  b: 1\n  b: 2", "/nodes/0/config/a/b", 11, "more than once"),
    ("python object", "a: !!python/object:os.system {}", "/nodes/0/config/a", 9, "!!python/object:os.system"),
    ("python name", "a: !!python/name:os.system ''", "/nodes/0/config/a", 9, "!!python/name:os.system"),
    ("python apply", "a: !!python/object/apply:os.system ['id']", "/nodes/0/config/a", 9, "!!python/object/apply"),
    ("custom tag", "a: !vault secret/x", "/nodes/0/config/a", 9, "!vault"),
    ("binary", "a: !!binary aGVsbG8=", "/nodes/0/config/a", 9, "binary"),
    ("set", "a: !!set {x: null}", "/nodes/0/config/a", 9, "!!set"),
    ("ordered map", "a: !!omap [{x: 1}]", "/nodes/0/config/a", 9, "!!omap"),
    ("merge key", "<<: {a: 1}\nb: 2", "/nodes/0/config", 9, "merge keys"),
    ("boolean key", "yes: 1", "/nodes/0/config", 9, "not a string"),
    ("integer key", "1: a", "/nodes/0/config", 9, "not a string"),
    ("null key", "~: a", "/nodes/0/config", 9, "not a string"),
    ("collection key", "? [a, b]\n: 1", "/nodes/0/config", 9, "keys must be strings"),
    ("explicit int that is not one", "a: !!int 'twelve'", "/nodes/0/config/a", 9, "not a valid !!int"),
]


@pytest.mark.parametrize("pure", [False, True], ids=["libyaml", "python"])
@pytest.mark.parametrize(("label", "config", "path", "line", "words"), YAML_REFUSALS, ids=[c[0] for c in YAML_REFUSALS])
def test_yaml_refusals(label: str, config: str, path: str, line: int, words: str, pure: bool,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    if pure:
        monkeypatch.setattr(yaml_reader, "_CParser", None)
    error = refusal(doc_text(config).encode(), YAML)
    assert error.status == 422
    assert error.extra["path"] == path
    assert error.extra["line"] == line and error.extra["column"] >= 1
    assert words in error.detail and f"line {line}" in error.detail


def test_an_alias_is_refused_before_it_can_expand() -> None:
    # a "billion laughs": each level refers to the previous one nine times
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 12)]
    error = refusal(doc_text("\n".join(levels)).encode(), YAML)
    assert error.status == 422 and "anchors" in error.detail and error.extra["line"] == 9


def test_a_second_yaml_document_is_refused() -> None:
    error = refusal((doc_text("a: 1") + "---\nb: 2\n").encode(), YAML)
    assert error.status == 422 and "second" in error.detail and error.extra["line"] == 10


def test_yaml_refusal_outside_a_config_is_invalid_request() -> None:
    text = doc_text("a: 1").replace("name: Acme}", "name: &n Acme}")
    error = refusal(text.encode(), YAML)
    assert (error.status, error.code, error.extra["path"]) == (422, "invalid_request", "/org/name")


def test_yaml_nesting_is_bounded_without_recursion() -> None:
    deep = "a: " + "[" * 5000 + "]" * 5000
    error = refusal(doc_text(deep).encode(), YAML)
    assert error.status == 422 and "nested deeper" in error.detail


# ---- malformed text is 400 invalid_json with line and column ---------------------------------

MALFORMED = [
    ("yaml: unclosed flow sequence", YAML, doc_text("a: [1, 2").encode(), 10, 1),
    ("yaml: unterminated quote", YAML, doc_text("a: 'open").encode(), 10, 1),
    ("yaml: bad indentation", YAML, b"format: x\n  org: y\n nodes: z\n", 2, 6),
    ("yaml: control character", YAML, b"format: x\norg: \x07\n", 2, 6),
    ("yaml: undefined tag handle", YAML, b"a: !e!x 1\n", 1, 4),
    ("json: missing comma", JSON, b'{"format": "x"\n "org": 1}', 2, 2),
    ("json: truncated", JSON, b'{"format": "x",\n"nodes": [', 2, 11),
    ("json: trailing garbage", JSON, b'{"a": 1}\n}', 2, 1),
    ("json: single quotes", JSON, b"{'a': 1}", 1, 2),
    ("json: not utf-8", JSON, b'{"a": "\xff"}', 1, 8),
    ("yaml: not utf-8", YAML, b"a: 1\nb: \xc3\x28\n", 2, 4),
    ("json: empty", JSON, b"  \n", 1, 1),
    ("yaml: empty", YAML, b"", 1, 1),
]


@pytest.mark.parametrize(("label", "media", "body", "line", "column"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_input_is_400_with_line_and_column(label: str, media: str, body: bytes, line: int,
                                                       column: int) -> None:
    error = refusal(body, media)
    assert isinstance(error, InvalidJson) and error.status == 400 and error.code == "invalid_json"
    assert (error.extra["line"], error.extra["column"]) == (line, column)
    if body.strip():
        assert f"line {line}, column {column}" in error.detail


# ---- JSON: duplicate keys and what JSON numbers and text may not be --------------------------

VALUE_REFUSALS = [
    # (label, media, body, code, path, words)
    ("json duplicate key", JSON, doc_json('{"a": 1, "b": {"c": 1, "c": 2}}'), "invalid_config",
     "/nodes/0/config/b/c", "more than once"),
    ("json duplicate document key", JSON,
     b'{"format": "config-service/v1", "format": "config-service/v1", "org": {}, "nodes": []}', "invalid_request",
     "/format", "more than once"),
    ("json integer above 2^53-1", JSON, doc_json('{"n": 9007199254740992}'), "invalid_config", "/nodes/0/config/n",
     "2^53"),
    ("json integer below -(2^53-1)", JSON, doc_json('{"n": [1, -9007199254740992]}'), "invalid_config",
     "/nodes/0/config/n/1", "2^53"),
    ("json integer of 5000 digits", JSON, doc_json('{"n": ' + "9" * 5000 + "}"), "invalid_config",
     "/nodes/0/config/n", "2^53"),
    ("json float above 2^53-1", JSON, doc_json('{"n": 1e16}'), "invalid_config", "/nodes/0/config/n", "2^53"),
    ("json float of 300 digits", JSON, doc_json('{"n": [-1e300]}'), "invalid_config", "/nodes/0/config/n/0",
     "2^53"),
    ("json NaN", JSON, doc_json('{"n": NaN}'), "invalid_config", "/nodes/0/config/n", "NaN"),
    ("json -Infinity", JSON, doc_json('{"n": -Infinity}'), "invalid_config", "/nodes/0/config/n", "Infinity"),
    ("json float overflow", JSON, doc_json('{"n": 1e999}'), "invalid_config", "/nodes/0/config/n", "Infinity"),
    ("json lone surrogate", JSON, doc_json('{"s": "\\ud800"}'), "invalid_config", "/nodes/0/config/s", "surrogate"),
    ("json NUL in text", JSON, doc_json('{"s": "a\\u0000b"}'), "invalid_config", "/nodes/0/config/s", "NUL"),
    ("json NUL in a name", JSON, doc_json("{}").replace(b'"name": "Acme", "locked', b'"name": "A\\u0000", "locked'),
     "invalid_request", "/nodes/0/name", "NUL"),
    ("yaml integer above 2^53-1", YAML, doc_text("n: 9007199254740992").encode(), "invalid_config",
     "/nodes/0/config/n", "2^53"),
    ("yaml hex integer above 2^53-1", YAML, doc_text("n: 0x20000000000000").encode(), "invalid_config",
     "/nodes/0/config/n", "2^53"),
    ("yaml float above 2^53-1", YAML, doc_text("n: 1.0e+16").encode(), "invalid_config", "/nodes/0/config/n",
     "2^53"),
    ("yaml .nan", YAML, doc_text("n: .nan").encode(), "invalid_config", "/nodes/0/config/n", "NaN"),
    ("yaml .inf", YAML, doc_text("n: [.inf]").encode(), "invalid_config", "/nodes/0/config/n/0", "Infinity"),
]


@pytest.mark.parametrize(("label", "media", "body", "code", "path", "words"), VALUE_REFUSALS,
                         ids=[v[0] for v in VALUE_REFUSALS])
def test_values_json_cannot_carry_are_422(label: str, media: str, body: bytes, code: str, path: str,
                                          words: str) -> None:
    error = refusal(body, media)
    assert (error.status, error.code, error.extra["path"]) == (422, code, path)
    assert words in error.detail


def test_an_escaped_lone_surrogate_in_yaml_is_refused_by_either_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    body = doc_text('s: "\\ud800"').encode()
    error = refusal(body, YAML)  # libyaml refuses the escape itself
    assert (error.status, error.extra["line"]) == (400, 9)
    monkeypatch.setattr(yaml_reader, "_CParser", None)
    error = refusal(body, YAML)  # PyYAML reads it; the value check refuses it
    assert (error.status, error.extra["path"]) == (422, "/nodes/0/config/s") and "surrogate" in error.detail


def test_json_nesting_beyond_the_parser_is_422_not_a_crash() -> None:
    error = refusal(doc_json('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"), JSON)
    assert error.status == 422


def test_the_largest_safe_integers_are_accepted() -> None:
    # a float beyond 2^53 is refused (PostgreSQL would store and serve it as a long integer); one
    # below is kept, as are fractions of any size
    raw = '{"max": 9007199254740991, "min": -9007199254740991, "f": 1.5e15, "tiny": 5e-324}'
    document = codec.parse(doc_json(raw), JSON)
    assert document.nodes[0].config == {"max": 2**53 - 1, "min": -(2**53 - 1), "f": 1.5e15, "tiny": 5e-324}


# ---- media types -----------------------------------------------------------------------------

@pytest.mark.parametrize(("content_type", "kind"), [
    (None, "json"), ("application/json", "json"), ("application/json; charset=utf-8", "json"),
    ("application/yaml", "yaml"), ("application/x-yaml", "yaml"), ("text/yaml", "yaml"), ("TEXT/YAML", "yaml"),
    ("text/x-yaml; charset=utf-8", "yaml"),
])
def test_body_kinds(content_type: str | None, kind: str) -> None:
    assert codec.body_kind(content_type) == kind


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/merge-patch+json"])
def test_other_media_types_are_415(content_type: str) -> None:
    with pytest.raises(UnsupportedMediaType):
        codec.parse(doc_json("{}"), content_type)


@pytest.mark.parametrize(("accept", "kind"), [
    (None, "json"), ("", "json"), ("*/*", "json"), ("application/json", "json"), ("application/yaml", "yaml"),
    ("text/yaml", "yaml"), ("application/json, application/yaml", "json"),
    ("application/yaml;q=0.9, application/json", "yaml"), ("text/html, application/x-yaml", "yaml"),
])
def test_negotiate(accept: str | None, kind: str) -> None:
    assert codec.negotiate(accept) == kind


def test_json_and_yaml_read_the_same_document() -> None:
    config = {"a": {"b": [1, 2.5, "x", None, True]}, "c": None}
    from_json = codec.parse(doc_json(json.dumps(config)), JSON)
    from_yaml = codec.parse(doc_text("a:\n  b: [1, 2.5, x, null, true]\nc: ~").encode(), YAML)
    assert from_json == from_yaml and from_json.nodes[0].config == config


# ---- rendering: stable bytes, and YAML that reads back as itself ----------------------------

TRICKY_STRINGS = [
    "123", "-1", "0x1F", "017", "1_000", "1:30", "1.5", ".5", "1e3", ".inf", "-.inf", ".nan", "NaN",
    "true", "false", "True", "yes", "no", "on", "off", "Y", "n", "null", "Null", "~", "", " ",
    "2024-01-01", "2024-01-01T10:00:00Z", "2024-01-01 10:00:00", "<<", "=", "!tag", "&anchor", "*alias",
    "- item", "? key", "key: value", "a #comment", "#comment", "'quoted'", '"double"', "{flow}", "[seq]",
    "multi\nline\n", "trailing space ", " leading", "tab\there", "back\\slash", "percent %", "@at", "`tick`",
    "|", ">", "unicode é 漢字 🚀", "\u2028line separator", "\x85next line", "********", "$secret", "%YAML",
    "---", "...", "a" * 300,
]


def tricky_document() -> Document:
    config: dict[str, Any] = {f"k{i:02d}": value for i, value in enumerate(TRICKY_STRINGS)}
    config.update({value: i for i, value in enumerate(TRICKY_STRINGS) if len(value) <= 256 and value != "$secret"})
    config["numbers"] = [0, -0.0, 1.5, 1e-7, 1e15, 2**53 - 1, -(2**53 - 1), 0.1, 123456789.125]
    config["literals"] = [True, False, None, [], {}]
    config["nested"] = {"z": {"y": {"x": None}}, "a": [{"b": "2024-01-01"}]}
    config["k" * 256] = "a key of 256 characters"
    return validate_document({
        "format": "config-service/v1",
        "org": {"org_id": "acme", "name": "yes"},
        "nodes": [
            {"node_id": "acme", "parent_node_id": None, "name": "2024-01-01", "config": config,
             "locked_paths": ["/z", "/a~1b"]},
            {"node_id": "123", "parent_node_id": "acme", "name": "null", "config": {"true": "false"},
             "locked_paths": []},
        ],
    })


@pytest.mark.parametrize("pure", [False, True], ids=["libyaml", "python"])
def test_yaml_round_trips_strings_that_look_like_other_types(pure: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if pure:
        monkeypatch.setattr(yaml_reader, "_CParser", None)
    document = tricky_document()
    back = codec.parse(codec.render_yaml(document), YAML)
    assert back == document
    assert back.nodes[0].config["k00"] == "123" and back.nodes[0].name == "2024-01-01"
    assert back.org.name == "yes" and back.nodes[1].node_id == "123"


def test_json_round_trips() -> None:
    document = tricky_document()
    assert codec.parse(codec.render_json(document), JSON) == document


@pytest.mark.parametrize("render", [codec.render_json, codec.render_yaml], ids=["json", "yaml"])
def test_renders_are_byte_identical_whatever_the_key_order(render: Any) -> None:
    document = tricky_document()
    node = document.nodes[0]
    reversed_config = dict(reversed(list(node.config.items())))
    shuffled = document.model_copy(update={"nodes": [node.model_copy(update={"config": reversed_config}),
                                                     *document.nodes[1:]]})
    assert list(shuffled.nodes[0].config) != list(node.config)
    assert render(document) == render(document) == render(shuffled)


def test_render_orders_document_keys_and_sorts_config_keys() -> None:
    document = validate_document({
        "nodes": [{"locked_paths": [], "config": {"b": {"d": 1, "c": 2}, "a": 1}, "name": "A",
                   "parent_node_id": None, "node_id": "acme"}],
        "org": {"name": "A", "org_id": "acme"},
        "format": "config-service/v1",
    })
    data = json.loads(codec.render_json(document))
    assert list(data) == ["format", "org", "nodes"]
    assert list(data["org"]) == ["org_id", "name"]
    assert list(data["nodes"][0]) == ["node_id", "parent_node_id", "name", "config", "locked_paths"]
    assert list(data["nodes"][0]["config"]) == ["a", "b"] and list(data["nodes"][0]["config"]["b"]) == ["c", "d"]
    text = codec.render_yaml(document).decode()
    assert text.index("format:") < text.index("org:") < text.index("nodes:")
    assert text.index("a: 1") < text.index("b:") and text.index("c: 2") < text.index("d: 1")


def test_long_values_are_not_folded() -> None:
    document = validate_document({
        "format": "config-service/v1", "org": {"org_id": "acme", "name": "A"},
        "nodes": [{"node_id": "acme", "parent_node_id": None, "name": "A", "locked_paths": [],
                   "config": {"prompt": " ".join(["word"] * 200)}}],
    })
    lines = codec.render_yaml(document).decode().splitlines()
    assert any(line.strip().startswith("prompt: word word") and line.endswith("word") for line in lines)


# ---- the value check itself ------------------------------------------------------------------

@pytest.mark.parametrize(("value", "found"), [
    ({"a": [1, {"b/c": {"~d": 2**53}}]}, ("/a/1/b~1c/~0d", jsondoc.NUMBER_MESSAGE)),
    ({"a": [True, False, None, 1.5, "x", 2**53 - 1]}, None),
    ({"when": datetime.date(2024, 1, 1)}, ("/when", "a date is not a JSON value")),
    ({"a": {1: "x"}}, ("/a", "object keys must be strings")),
    ({"k\ud800": 1}, ("/k", jsondoc.SURROGATE_MESSAGE)),
    ([float("nan")], ("/0", jsondoc.NON_FINITE_MESSAGE)),
], ids=["escaped path", "all fine", "a date", "a non-string key", "a surrogate key", "nan"])
def test_find_value_problem(value: Any, found: tuple[str, str] | None) -> None:
    assert values.find_value_problem(value) == found
