"""PURE: limits shared by the node API, the lock API and import (DESIGN §5, §6, §12.4)."""

from __future__ import annotations

MAX_TREE_DEPTH = 32  # nodes from the root inclusive: the root is level 1
MAX_LOCKED_PATH_LENGTH = 1024  # characters of one locked JSON Pointer
