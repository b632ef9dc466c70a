"""The last-known-good file: the last effective config an agent read, for a start while the
service is unreachable.

It holds what the token may read — plaintext secrets for a `secrets:read` token — so it is
written 0600 (never wider than an existing file), atomically (a temp file in the same directory,
then a rename), and only read back for the node the token belongs to.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from config_service_client.models import EffectiveConfig

FORMAT = "config-service-client/last-known-good/v1"
log = logging.getLogger("config_service_client")


def token_node(token: str | None) -> tuple[str, str] | None:
    """(org, node) of a team token (`{org}.{node}.{random}`), None for any other credential."""
    if not token:
        return None
    parts = token.split(".")
    return (parts[0], parts[1]) if len(parts) == 3 else None


class LastKnownGood:
    def __init__(self, path: str | os.PathLike[str], token: str | None) -> None:
        self.path = Path(path)
        self._owner = token_node(token)
        self._saved_etag: str | None = None

    def save(self, view: EffectiveConfig) -> None:
        """Write `view` unless it is what the file already holds. A failure is logged, never raised:
        the read it follows succeeded."""
        if view.stale or view.etag == self._saved_etag:
            return
        document = {
            "format": FORMAT,
            "saved_at": datetime.now(UTC).isoformat(),
            "view": view.api_json,
        }
        try:
            self._write(json.dumps(document, separators=(",", ":")).encode())
        except OSError as exc:
            log.warning("could not write the last-known-good file %s: %s", self.path, exc.strerror or exc)
            return
        self._saved_etag = view.etag

    def _write(self, data: bytes) -> None:
        mode = 0o600
        try:
            mode &= os.stat(self.path).st_mode  # never wider than the file it replaces
        except FileNotFoundError:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def load(self) -> EffectiveConfig | None:
        """The saved view marked stale, or None (no file, unreadable, or another node's)."""
        try:
            document: Any = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            return None
        try:
            view: EffectiveConfig = EffectiveConfig.from_api(document["view"])
            saved_at = datetime.fromisoformat(document["saved_at"])
        except (KeyError, TypeError, ValueError):
            return None
        if self._owner is not None and self._owner != (view.org_id, view.node_id):
            return None
        stale: EffectiveConfig = view.model_copy(update={"stale": True, "saved_at": saved_at})
        stale._api_json = view.api_json
        return stale
