"""Shared fixtures: the emulator as a real process on loopback, and the CLI as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from snapcapi.emulator import LISTENING

PREFIX = LISTENING.split("{url}")[0]


@dataclass
class EmulatorProcess:
    """A `snapcapi mock-server` running as its own process."""

    url: str
    process: subprocess.Popen[str]

    def events(self) -> list[dict[str, Any]]:
        """Every event the emulator kept."""
        result: list[dict[str, Any]] = httpx.get(f"{self.url}/_emulator/events", timeout=10).json()["events"]
        return result

    def stats(self) -> dict[str, Any]:
        """The emulator's counters."""
        result: dict[str, Any] = httpx.get(f"{self.url}/_emulator/stats", timeout=10).json()
        return result


@pytest.fixture
def emulator() -> Iterator[Callable[..., EmulatorProcess]]:
    """Start `python -m snapcapi mock-server --port 0 ARGS...`; every one started is stopped afterwards."""
    started: list[subprocess.Popen[str]] = []

    def start(*args: str) -> EmulatorProcess:
        process = subprocess.Popen(
            [sys.executable, "-m", "snapcapi", "mock-server", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith(PREFIX), f"unexpected first line {line!r}"
        return EmulatorProcess(line[len(PREFIX) :].strip(), process)

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class Result:
    """A finished CLI process."""

    code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., Result]:
    """Run `python -m snapcapi ARGS...` as a process, with its own state directory and no .env."""
    state = tmp_path / "state"
    work = tmp_path / "work"
    work.mkdir()

    def run(
        *args: str, env: dict[str, str] | None = None, timeout: float = 120, stdin: str | None = None
    ) -> Result:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("SNAPCAPI_")}
        environ |= {"SNAPCAPI_STATE_DIR": str(state), "COLUMNS": "200", "NO_COLOR": "1"}
        environ |= env or {}
        done = subprocess.run(
            [sys.executable, "-m", "snapcapi", *args],
            capture_output=True,
            text=True,
            env=environ,
            cwd=work,
            timeout=timeout,
            input=stdin,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    return run


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    """Write a small CSV file (values must not need quoting)."""
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
