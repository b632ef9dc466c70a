"""Running wrk with the Lua scripts of `bench/lua` and reading the JSON their `done()` prints."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).resolve().parent / "lua"
MARKER = "BENCH_JSON "


class WrkError(RuntimeError):
    pass


@dataclass
class WrkResult:
    requests: int
    seconds: float
    errors: dict[str, int]
    latency_us: dict[str, float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def ms(self, key: str) -> float:
        return self.latency_us[key] / 1000.0

    def as_dict(self) -> dict:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "rps": round(self.rps, 1),
            "errors": self.errors,
            "latency_ms": {k: round(v / 1000.0, 3) for k, v in self.latency_us.items()},
        }


def parse(output: str) -> WrkResult:
    """The result of one wrk run from the `BENCH_JSON {...}` line of `lua/common.lua`."""
    for line in output.splitlines():
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER):])
            return WrkResult(
                requests=int(data["requests"]),
                seconds=data["duration_us"] / 1e6,
                errors={k: int(v) for k, v in data["errors"].items()},
                latency_us={k: float(v) for k, v in data["latency_us"].items()},
            )
    raise WrkError(f"no {MARKER.strip()} line in wrk output:\n{output[-2000:]}")


def available() -> bool:
    return shutil.which("wrk") is not None


def run(
    url: str,
    script: str,
    script_args: list[str],
    *,
    seconds: float,
    connections: int,
    threads: int = 2,
    timeout_s: int = 10,
) -> WrkResult:
    """`wrk` against `url` with `lua/<script>` for `seconds`; raises WrkError if it failed."""
    threads = max(1, min(threads, connections))
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", f"--timeout={timeout_s}s",
        "-s", str(LUA / script), url, "--", *script_args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + timeout_s + 60)
    if done.returncode != 0:
        raise WrkError(f"wrk exited with {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return parse(done.stdout)
