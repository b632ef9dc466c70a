"""Static files held in memory, each with a content-hash validator.

The set is whatever one directory holds when first asked (flat: names never contain a `/`), so a
request can only name a file that shipped with the package — there is no path to traverse.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: str
    mtime_ns: int


class AssetDir:
    """The files of one directory with a known media type.

    The names are listed once; a file is read on first use and read again when its modification
    time changes (one `stat` per request), so an edited file is served without a restart.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._names: frozenset[str] | None = None
        self._files: dict[str, Asset] = {}

    def names(self) -> frozenset[str]:
        if self._names is None:
            self._names = frozenset(
                path.name for path in self.directory.iterdir() if path.suffix in MEDIA_TYPES and path.is_file()
            )
        return self._names

    def get(self, name: str) -> Asset | None:
        if name not in self.names():
            return None
        path = self.directory / name
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            return None
        asset = self._files.get(name)
        if asset is None or asset.mtime_ns != mtime:
            body = path.read_bytes()
            asset = Asset(body, MEDIA_TYPES[path.suffix], hashlib.sha256(body).hexdigest()[:20], mtime)
            self._files[name] = asset
        return asset
