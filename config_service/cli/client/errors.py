"""The CLI's exit codes (DESIGN §12.2) and its own refusals."""

from __future__ import annotations

OK = 0
REFUSED = 1  # the server refused (4xx), or the user declined
USAGE = 2
UNREACHABLE = 3  # cannot reach the server, or it failed (5xx)


class CliError(Exception):
    """A refusal of the CLI itself (bad arguments, unsafe settings): message on stderr, then exit."""

    def __init__(self, message: str, *, exit_code: int = USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code
