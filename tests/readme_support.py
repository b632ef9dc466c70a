"""The documentation's code blocks, run as a reader runs them: each shell command as written (a
reader substitutes only the URL, the tokens and, here, a unique org id), each Python example as
saved to a file. Used by tests/test_smoke.py."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import ROOT, clean_env

BIN = Path(sys.executable).parent  # the .venv `make` installed: config-service and python
DOC_URL = "http://127.0.0.1:8080"


def blocks(doc: str, heading: str, lang: str) -> list[str]:
    """The `lang` code blocks of the section `heading` (any level, up to the next heading of its
    level or above) of `doc`, a path below ROOT."""
    found: list[str] = []
    level = 0
    fence: str | None = None  # the language of the open block, "" for one without
    body: list[str] = []
    for line in (ROOT / doc).read_text().splitlines():
        if fence is None and line.startswith("#"):
            hashes = len(line) - len(line.lstrip("#"))
            if level and hashes <= level:
                break
            if line[hashes:].strip() == heading:
                level = hashes
        elif line.startswith("```"):
            if fence is None:
                fence, body = line[3:].strip(), []
            else:
                if level and fence == lang:
                    found.append("\n".join(body) + "\n")
                fence = None
        elif fence is not None:
            body.append(line)
    assert level, f"{doc} has no section {heading!r}"
    assert found, f"{doc} {heading!r} has no {lang} block"
    return found


def commands(block: str) -> list[str]:
    """The commands of a shell block: continuation lines joined, blank and comment lines dropped."""
    joined = re.sub(r"\\\n\s*", " ", block)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@dataclass
class Reader:
    """A shell session of someone following the docs: `export`s carry over between commands."""

    home: Path
    url: str
    admin_token: str
    renames: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        base = {k: v for k, v in clean_env().items() if not k.startswith("CONFIG_SERVICE_")}
        self.env = base | {"HOME": str(self.home), "XDG_CONFIG_HOME": str(self.home / "xdg"),
                           "PATH": f"{BIN}:{base.get('PATH', '')}", "COLUMNS": "200", "NO_COLOR": "1",
                           "TERM": "dumb", "CONFIG_SERVICE_URL": self.url, "CONFIG_SERVICE_TOKEN": self.admin_token,
                           **self.env}

    def substitute(self, text: str) -> str:
        """What a reader changes: the service's address, the venv's place, the org ids."""
        text = text.replace(DOC_URL, self.url).replace(".venv/bin/", f"{BIN}/")
        for old, new in self.renames.items():
            text = re.sub(rf"\b{re.escape(old)}\b", new, text)
        return text

    def sh(self, command: str, *, answer: str = "y\n", extra: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess[str]:
        """One command; an `export NAME=…` line sets NAME for the commands after it. A prompt is
        answered `answer`. A failure is an assertion naming the command and its output."""
        command = self.substitute(command)
        exported = re.match(r"export (\w+)=(.*)$", command)
        if exported and exported.group(2).startswith("..."):  # `export X=...  # the token …`: set by the test
            return subprocess.CompletedProcess(command, 0, "", "")
        script = f"{command}\nprintf '%s' \"${exported.group(1)}\"" if exported else command
        result = subprocess.run(["bash", "-o", "pipefail", "-c", script], env=self.env | (extra or {}),
                                input=answer, capture_output=True, text=True, timeout=90, cwd=self.home)
        assert result.returncode == 0, (command, result.returncode, result.stdout, result.stderr)
        if exported:
            self.env[exported.group(1)] = result.stdout
        return result

    def python(self, code: str, *, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """A Python example saved to a file and run with the venv's python."""
        path = self.home / "example.py"
        path.write_text(self.substitute(code))
        return subprocess.run([str(BIN / "python"), str(path)], env=self.env | (extra or {}), capture_output=True,
                              text=True, timeout=120, cwd=self.home)
