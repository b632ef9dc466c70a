"""Pure parts of the SDK and the CLI, table-driven: SSE decoding, argument hoisting, key paths,
the edit diff, error classes."""

from __future__ import annotations

import pytest

from config_service.cli.client.errors import CliError
from config_service.cli.client.session import hoist, is_loopback
from config_service.cli.client.values import assignments, json_patch, load_document, split_path
from config_service_client import errors
from config_service_client.sse import Decoder


def test_sse_decoder():
    decoder = Decoder()
    lines = [": ping", "event: config", "id: e1", 'data: {"a":', "data: 1}", "", "", "event: gone", "data: {}", ""]
    events = [e for e in (decoder.feed(line) for line in lines) if e is not None]
    assert [(e.event, e.id, e.data) for e in events] == [("config", "e1", '{"a":\n1}'), ("gone", None, "{}")]
    assert decoder.last_id == "e1"


@pytest.mark.parametrize(("argv", "expected"), [
    (["config", "get", "--url", "U", "--json"], ["--url", "U", "config", "get", "--json"]),
    (["whoami", "--token=T", "--insecure"], ["--token=T", "--insecure", "whoami"]),
    (["config", "set", "--", "--url"], ["config", "set", "--", "--url"]),
    (["--profile", "p", "login"], ["--profile", "p", "login"]),
])
def test_global_options_are_hoisted(argv, expected):
    assert hoist(argv) == expected


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.8.9.1", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("10.0.0.1", False), ("example.com", False), ("localhost.example.com", False),
])
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback


def test_assignments_and_paths():
    assert assignments(["a.b=1", "a.c=x", "d=null", 'e=["p"]', r"f\.g=true", "/h/i~1j=2"]) == {
        "a": {"b": 1, "c": "x"}, "d": None, "e": ["p"], "f.g": True, "h": {"i/j": 2}}
    assert split_path("/a~0b") == ["a~b"]
    for bad in ("a..b", "nokey", "=1"):
        with pytest.raises(CliError):
            assignments([bad])


def test_edit_diff_keeps_tombstones_and_replaces_lists():
    old = {"a": 1, "b": {"c": [1, 2], "d": True}, "gone": "x"}
    new = {"a": 1, "b": {"c": [1], "d": None}, "new/key": 2}
    assert json_patch(old, new) == [
        {"op": "remove", "path": "/gone"},
        {"op": "replace", "path": "/b/c", "value": [1]},
        {"op": "replace", "path": "/b/d", "value": None},
        {"op": "add", "path": "/new~1key", "value": 2},
    ]
    assert json_patch({"x": 1}, {"x": 1.0}) == [{"op": "replace", "path": "/x", "value": 1.0}]
    assert json_patch(old, old) == []


def test_documents_json_or_yaml_objects_only():
    assert load_document('{"a": 1}', "x") == {"a": 1}
    assert load_document("a:\n  b: yes\n", "x") == {"a": {"b": True}}
    assert load_document("", "x") == {}
    with pytest.raises(CliError):
        load_document("- 1\n- 2\n", "x")


@pytest.mark.parametrize(("status", "code", "cls"), [
    (403, "locked_path", errors.LockedPath), (403, "something_new", errors.Forbidden),
    (409, "routing_conflict", errors.RoutingConflict), (422, "idempotency_mismatch", errors.IdempotencyMismatch),
    (422, None, errors.Unprocessable), (404, "locked_path", errors.NotFound), (418, None, errors.ApiError),
    (503, None, errors.ServiceUnavailable), (500, None, errors.ServerError), (429, "rate_limited", errors.RateLimited),
    (422, "import_refused", errors.ImportRefused), (428, "precondition_required", errors.PreconditionRequired),
])
def test_error_classes(status, code, cls):
    assert errors.class_for(status, code) is cls


def test_every_problem_code_of_the_server_has_its_class():
    from config_service import errors as server

    codes = {(cls.status, cls.code) for cls in vars(server).values()
             if isinstance(cls, type) and issubclass(cls, server.AppError) and cls is not server.AppError}
    assert ("import_refused", 422) in {(code, status) for status, code in codes}
    for status, code in codes:
        assert errors.class_for(status, code).default_code == code, code


def test_import_refused_carries_the_plans_errors():
    body = b'{"code": "import_refused", "detail": "the import has 1 error", "based_on": "abc", "errors": [' \
           b'{"node_id": "sre", "code": "locked_path", "detail": "locked", "path": "/model", "holder": null}]}'
    refused = errors.from_response(422, {}, body)
    assert isinstance(refused, errors.ImportRefused) and refused.based_on == "abc"
    assert [(e.node_id, e.code, e.path) for e in refused.errors] == [("sre", "locked_path", "/model")]
    assert errors.ImportRefused(422, "import_refused", "x").errors == []


def test_retry_after_forms():
    assert errors.parse_retry_after("5") == 5.0
    assert errors.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert errors.parse_retry_after("soon") is None and errors.parse_retry_after(None) is None
