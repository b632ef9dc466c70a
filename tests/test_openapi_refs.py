"""The OpenAPI document is whole: every `$ref` in it resolves inside it (ReDoc and generated
clients refuse a document with a dangling reference, such as pydantic's `#/$defs/…`)."""

from __future__ import annotations

from typing import Any

import httpx


def _refs(value: Any):
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str):
            yield ref
        for child in value.values():
            yield from _refs(child)
    elif isinstance(value, list):
        for child in value:
            yield from _refs(child)


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and token in node, f"dangling reference {ref}"
        node = node[token]
    return node


def test_every_reference_in_the_openapi_document_resolves(server) -> None:
    document = httpx.get(server.url + "/openapi.json", timeout=30).json()
    refs = set(_refs(document))
    assert refs  # the document does use references
    for ref in sorted(refs):
        _resolve(document, ref)
