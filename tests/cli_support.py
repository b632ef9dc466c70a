"""Running the installed `config-service` command as a subprocess, with a private config dir."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import ROOT, clean_env

COMMAND = Path(sys.executable).parent / "config-service"  # the console script `make` installed


@dataclass
class Cli:
    home: Path
    url: str | None = None
    token: str | None = None

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in clean_env().items() if not k.startswith("CONFIG_SERVICE_")}
        env |= {"XDG_CONFIG_HOME": str(self.home / "xdg"), "HOME": str(self.home), "COLUMNS": "200",
                "NO_COLOR": "1", "TERM": "dumb"}
        if self.url:
            env["CONFIG_SERVICE_URL"] = self.url
        if self.token:
            env["CONFIG_SERVICE_TOKEN"] = self.token
        return env | (extra or {})

    def run(self, *args: str, input: str | None = None, env: dict[str, str] | None = None,  # noqa: A002
            timeout: float = 90) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(COMMAND), *args], env=self.env(env), input=input if input is not None else "",
                              capture_output=True, text=True, timeout=timeout, cwd=ROOT)

    def ok(self, *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
        result = self.run(*args, **kw)
        assert result.returncode == 0, (args, result.returncode, result.stdout, result.stderr)
        return result

    def json(self, *args: str, **kw: Any) -> Any:
        return json.loads(self.ok(*args, "--json", **kw).stdout)

    def as_(self, token: str) -> Cli:
        return Cli(self.home, self.url, token)
