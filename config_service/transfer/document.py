"""PURE: the export/import document (DESIGN §12.4) and the rules a document obeys on its own.

`{format: "config-service/v1", org: {org_id, name}, nodes: [{node_id, parent_node_id, name,
config, locked_paths}]}`: exactly one root (`parent_node_id: null`), first; every other node's
parent earlier in the list; no id twice; at most 32 levels; configs as the writes accept them
(shape limits of DESIGN §6, tombstones `null` allowed, `"********"` masks, `{"$secret": …}`
requests, never an envelope); locked paths are JSON Pointers. Whatever depends on the target
org (locks held there, depth with the nodes it keeps, its secrets) is the planner's.

Problems are raised as problem+json errors naming the JSON Pointer inside the document:
`invalid_config` for what is wrong inside a node's `config` (as the writes answer), else
`invalid_request`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from config_service.errors import AppError, InvalidConfig, InvalidRequest
from config_service.kit import jsondoc
from config_service.kit.ids import ID_PATTERN
from config_service.kit.limits import MAX_LOCKED_PATH_LENGTH, MAX_TREE_DEPTH
from config_service.kit.pointer import InvalidPointer, parse_pointer
from config_service.kit.secret_leaves import ENVELOPE_PREFIX, SECRET_KEY, SecretWriteError, pointer_of, secret_request
from config_service.routing.keys import WORKSPACE_LIST
from config_service.transfer.values import find_value_problem

FORMAT = "config-service/v1"
# no per-org node limit exists in the API; this bounds the work one import asks for
MAX_DOCUMENT_NODES = 10_000
MAX_NAME_LENGTH = 200  # as the node API (orgs.schemas)

_CONFIG_PATH = re.compile(r"^/nodes/\d+/config(/|$)")


class DocumentOrg(BaseModel):
    """The org the document was exported from (informational on import: the target is the
    org in the URL)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    org_id: str = Field(pattern=ID_PATTERN, min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)


class DocumentNode(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    node_id: str = Field(pattern=ID_PATTERN, min_length=1, max_length=64)
    parent_node_id: str | None = Field(pattern=ID_PATTERN, min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    config: dict[str, Any] = Field(description="the node's own config; secrets as masks, tombstones as null")
    locked_paths: list[str] = Field(description="JSON Pointers locked at this node, sorted")


class Document(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    format: Literal["config-service/v1"]
    org: DocumentOrg
    nodes: list[DocumentNode] = Field(min_length=1, max_length=MAX_DOCUMENT_NODES)


def problem(path: str, message: str) -> AppError:
    """The 422 for `message` at `path` (a JSON Pointer into the document)."""
    where = path or "/"
    if _CONFIG_PATH.match(path):
        return InvalidConfig(f"{where}: {message}", path=path)
    return InvalidRequest(f"{where}: {message}", path=path)


def _loc_pointer(loc: tuple[int | str, ...]) -> str:
    return "".join("/" + jsondoc.escape_token(str(part)) for part in loc)


def _validation_problem(exc: ValidationError) -> AppError:
    errors = exc.errors(include_url=False, include_input=False)
    unknown = [e for e in errors if e["type"] == "extra_forbidden"]
    chosen = unknown or errors  # unknown fields first: a misspelt field explains the rest
    parts = []
    for error in chosen[:10]:
        loc = tuple(error["loc"])
        if error["type"] == "extra_forbidden":
            message = f"unknown field {loc[-1]!r}"
        elif error["type"] == "missing":
            message = f"the field {loc[-1]!r} is required"
        else:
            message = error["msg"]
        parts.append(f"{_loc_pointer(loc) or '/'}: {message}")
    more = f" (and {len(chosen) - 10} more)" if len(chosen) > 10 else ""
    return InvalidRequest("; ".join(parts) + more, path=_loc_pointer(tuple(chosen[0]["loc"])))


def _check_tree(nodes: list[DocumentNode]) -> None:
    position: dict[str, int] = {}
    depth: dict[str, int] = {}
    parent_of = {node.node_id: node.parent_node_id for node in nodes}
    for index, node in enumerate(nodes):
        here = f"/nodes/{index}"
        if node.node_id in position:
            first = position[node.node_id]
            raise problem(f"{here}/node_id", f"the node '{node.node_id}' appears twice (first at /nodes/{first})")
        parent = node.parent_node_id
        if index == 0:
            if parent is not None:
                raise problem(f"{here}/parent_node_id", "the first node is the root: its parent_node_id is null")
            depth[node.node_id] = 1
        elif parent is None:
            raise problem(f"{here}/parent_node_id", f"only the first node is the root; '{node.node_id}' needs a parent")
        elif parent not in depth:
            raise problem(f"{here}/parent_node_id", _misplaced_parent(node.node_id, parent, parent_of))
        else:
            depth[node.node_id] = depth[parent] + 1
            if depth[node.node_id] > MAX_TREE_DEPTH:
                raise problem(
                    f"{here}/parent_node_id",
                    f"'{node.node_id}' would be at depth {depth[node.node_id]}; the limit is {MAX_TREE_DEPTH}",
                )
        position[node.node_id] = index


def _misplaced_parent(node_id: str, parent: str, parent_of: dict[str, str | None]) -> str:
    """Why `parent` is not yet known at `node_id`: a cycle, a parent listed later, or none."""
    if parent == node_id:
        return f"'{node_id}' cannot be its own parent"
    if parent not in parent_of:
        return f"the parent '{parent}' is not in the document"
    chain: list[str] = [node_id]
    here: str | None = parent
    while here is not None and here not in chain and len(chain) <= len(parent_of):
        chain.append(here)
        here = parent_of.get(here)
    if here == node_id:
        return "the parents form a cycle: " + " → ".join([*chain, node_id])
    return f"the parent '{parent}' must come before '{node_id}' (parents before children)"


def _check_config(index: int, config: dict[str, Any]) -> None:
    here = f"/nodes/{index}/config"
    shape = jsondoc.find_shape_problem(config)
    if shape is not None:
        path, message = shape
        raise problem(here + ("" if path == "/" else path), message)
    routing = config.get("routing")
    if isinstance(routing, dict) and WORKSPACE_LIST in routing:
        raise problem(
            f"{here}/routing/{WORKSPACE_LIST}",
            "Slack workspace bindings are the global admin's and are not part of a document; the target keeps its own",
        )
    # secrets: well-formed `{"$secret": …}` requests as object members only, never an envelope
    if SECRET_KEY in config:
        raise problem(here, "a config is an object of members; a secret is written as one of its members")
    stack: list[tuple[Any, list[str], bool]] = [(config, [], False)]
    while stack:
        value, tokens, in_list = stack.pop()
        if isinstance(value, dict):
            if SECRET_KEY in value:
                if in_list:
                    raise problem(here + pointer_of(tokens), "lists cannot hold secrets")
                try:
                    secret_request(value, tokens)
                except SecretWriteError as exc:
                    raise problem(here + exc.path, str(exc).split(": ", 1)[-1]) from None
                continue
            stack.extend((child, [*tokens, key], in_list) for key, child in value.items())
        elif isinstance(value, list):
            stack.extend((child, [*tokens, str(i)], True) for i, child in enumerate(value))
        elif isinstance(value, str) and value.startswith(ENVELOPE_PREFIX):
            raise problem(here + pointer_of(tokens), f"values starting with '{ENVELOPE_PREFIX}' are reserved")


def _locked_paths(index: int, paths: list[str]) -> list[str]:
    for position, path in enumerate(paths):
        here = f"/nodes/{index}/locked_paths/{position}"
        if len(path) > MAX_LOCKED_PATH_LENGTH:
            raise problem(here, f"a locked path is at most {MAX_LOCKED_PATH_LENGTH} characters")
        try:
            tokens = parse_pointer(path)
        except InvalidPointer as exc:
            raise problem(here, str(exc)) from None
        if not tokens or any(token == "" for token in tokens):
            raise problem(here, "empty segments are not lockable")
    return sorted(set(paths))


def validate_document(value: Any) -> Document:
    """The document `value` (parsed JSON or YAML) holds, checked and normalised (locked paths
    sorted and without repeats). Raises InvalidRequest / InvalidConfig (422) naming the path."""
    if not isinstance(value, dict):
        raise InvalidRequest("a document is an object {format, org, nodes}", path="")
    found = find_value_problem(value)
    if found is not None:
        raise problem(*found)
    try:
        document = Document.model_validate(value)
    except ValidationError as exc:
        raise _validation_problem(exc) from None
    _check_tree(document.nodes)
    root = document.nodes[0]
    if root.node_id != document.org.org_id:
        raise problem("/nodes/0/node_id", f"the root's node_id is the org's id ('{document.org.org_id}')")
    nodes = []
    for index, node in enumerate(document.nodes):
        _check_config(index, node.config)
        locked = _locked_paths(index, node.locked_paths)
        nodes.append(node if locked == node.locked_paths else node.model_copy(update={"locked_paths": locked}))
    return document.model_copy(update={"nodes": nodes})
