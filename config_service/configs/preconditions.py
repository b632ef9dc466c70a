"""PURE: HTTP preconditions (`If-Match` / `If-None-Match`) on configs (DESIGN §6)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_OWN_VERSION_TAG = re.compile(r"^v(\d{1,10})$")


WEAK_MARK = "W/"


def parse_tags(header: str | None, *, weak: bool = True) -> list[str] | None:
    """The entity tags of an If-Match / If-None-Match header, unquoted; `*` kept as is.

    `weak=False` is If-Match's strong comparison (RFC 9110 §13.1.1): a weak tag keeps its
    `W/` mark, so it can never match, instead of vanishing and leaving the write unconditional.
    """
    if header is None:
        return None
    tags = []
    for part in header.split(","):
        tag = part.strip()
        is_weak = tag.startswith(WEAK_MARK)
        if is_weak:
            tag = tag[len(WEAK_MARK):]
        if len(tag) >= 2 and tag[0] == '"' and tag[-1] == '"':
            tag = tag[1:-1]
        if tag:
            tags.append(WEAK_MARK + tag if is_weak and not weak else tag)
    return tags


@dataclass(frozen=True)
class Precondition:
    """What a write's `If-Match` conditions on (DESIGN §6, §7), and the validator its 412 names.

    Every config write accepts the node's effective etag or `"v<version>"` (its own version);
    the admin node routes (`own_resource`) also the bare `"<version>"` — the `ETag` their reads
    and writes answer with. `tags` None: no `If-Match`, the write is unconditional."""

    tags: list[str] | None
    own_resource: bool  # True on …/nodes/{node}/config…, False on /config/me…

    def holds(self, version: int, effective_etag: str) -> bool:
        if self.tags is None:
            return True
        for tag in self.tags:
            if tag == "*" or tag == effective_etag:
                return True
            if self.own_resource and tag == str(version):
                return True
            match = _OWN_VERSION_TAG.match(tag)
            if match and int(match.group(1)) == version:
                return True
        return False

    def current(self, version: int, effective_etag: str) -> str:
        """The validator a 412 names (bare; the `ETag` header quotes it): the own version on the
        admin node routes, the effective etag on `/config/me`."""
        return str(version) if self.own_resource else effective_etag


UNCONDITIONAL = Precondition(None, own_resource=False)


def none_match(header: str | None, etag: str) -> bool:
    """True when `If-None-Match` names the current tag (→ 304)."""
    tags = parse_tags(header)
    return tags is not None and ("*" in tags or etag in tags)
