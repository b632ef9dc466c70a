"""Profiles in `$XDG_CONFIG_HOME/config-service/config.toml` (default `~/.config/…`).

The directory is 0700 and the file 0600 (it holds tokens); a file that anyone but its owner can
read or write is refused rather than used.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path

from config_service.cli.client.errors import CliError

PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


@dataclass(frozen=True)
class Profile:
    name: str
    url: str
    token: str


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "config-service"


def config_file() -> Path:
    return config_dir() / "config.toml"


def check_name(name: str) -> str:
    if not PROFILE_NAME.fullmatch(name):
        raise CliError(f"profile names are letters, digits, '_' and '-' (got {name!r})", exit_code=2)
    return name


def load() -> dict[str, Profile]:
    path = config_file()
    try:
        info = path.stat()
    except FileNotFoundError:
        return {}
    if info.st_mode & 0o077:
        raise CliError(
            f"refusing to read {path}: others can access it (mode {stat.filemode(info.st_mode)}); "
            f"run: chmod 600 {path}",
            exit_code=2,
        )
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc}", exit_code=2) from None
    profiles: dict[str, Profile] = {}
    for name, entry in (data.get("profiles") or {}).items():
        if isinstance(entry, dict) and isinstance(entry.get("url"), str) and isinstance(entry.get("token"), str):
            profiles[name] = Profile(name, entry["url"], entry["token"])
    return profiles


def save(profile: Profile) -> Path:
    """Add or replace one profile, keeping the others; atomic, 0600, in a 0700 directory."""
    profiles = load()
    profiles[profile.name] = profile
    directory = config_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if directory.stat().st_mode & 0o077:
        os.chmod(directory, 0o700)
    path = config_file()
    temp = directory / f".config.toml.{secrets.token_hex(6)}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(dump(profiles))
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path


def dump(profiles: dict[str, Profile]) -> str:
    # TOML basic strings take JSON's escapes; names are restricted, tokens and URLs are ASCII text
    lines = ["# config-service CLI profiles (written by `config-service login`; keep it 0600)"]
    for name in sorted(profiles):
        profile = profiles[name]
        lines += ["", f"[profiles.{json.dumps(name)}]", f"url = {json.dumps(profile.url)}",
                  f"token = {json.dumps(profile.token)}"]
    return "\n".join(lines) + "\n"
