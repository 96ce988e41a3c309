"""Shared fixtures: the emulator as a real process on loopback, the CLI as a real process or in-process,
and the rows most end-to-end tests upload."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from typer.testing import CliRunner
from typer.testing import Result as InProcessResult

from snapcapi.cli.app import app
from snapcapi.emulator import LISTENING, Emulator, EmulatorConfig

PREFIX = LISTENING.split("{url}")[0]

TOKEN = "tok-3f9a1c0e-SECRET-77"
HEADER = ("event_id", "event_name", "event_time", "email", "phone", "first_name", "value", "currency")
EMAIL = "jane.rowe{}@example.com"
PHONE = "+1 415 555 {:04d}"


def purchase(i: int) -> list[object]:
    """One valid offline purchase row, its personal data unique to `i`."""
    return [
        f"ord-{i}",
        "PURCHASE",
        "now-2h",
        EMAIL.format(i),
        PHONE.format(i % 10000),
        "Jane",
        "12.50",
        "USD",
    ]


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    """Write a small CSV file (values must not need quoting)."""
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# -- the emulator as a process ----------------------------------------------------------------------------


@dataclass
class EmulatorProcess:
    """A `snapcapi mock-server` running as its own process."""

    url: str
    process: subprocess.Popen[str]

    @property
    def oauth_url(self) -> str:
        """The emulated OAuth token endpoint."""
        return f"{self.url}/login/oauth2/access_token"

    def events(self) -> list[dict[str, Any]]:
        """Every event the emulator kept."""
        result: list[dict[str, Any]] = httpx.get(f"{self.url}/_emulator/events", timeout=10).json()["events"]
        return result

    def event_ids(self) -> list[str]:
        """The event_id of every event kept, one per arrival (a duplicate appears twice)."""
        return [str(e["event"]["event_id"]) for e in self.events()]

    def stats(self) -> dict[str, Any]:
        """The emulator's counters."""
        result: dict[str, Any] = httpx.get(f"{self.url}/_emulator/stats", timeout=10).json()
        return result

    def wait_until(self, check: Callable[[dict[str, Any]], bool], timeout: float = 20) -> dict[str, Any]:
        """Poll the counters until `check` holds; return them. Fails the test after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            stats = self.stats()
            if check(stats):
                return stats
            assert time.monotonic() < deadline, f"the emulator never got there: {stats}"
            time.sleep(0.01)

    def settle(self) -> dict[str, Any]:
        """Wait until no request is in progress (every one answered or dropped); return the counters."""
        return self.wait_until(lambda s: s["requests"] == sum(s["by_status"].values()) + s["dropped"])


class Emulators:
    """Starts emulator processes and stops every one of them on `close()`."""

    def __init__(self) -> None:
        self._started: list[subprocess.Popen[str]] = []

    def start(self, *args: str) -> EmulatorProcess:
        """Start `python -m snapcapi mock-server --port 0 ARGS...` and wait for its URL."""
        process = subprocess.Popen(
            [sys.executable, "-m", "snapcapi", "mock-server", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._started.append(process)
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith(PREFIX), f"unexpected first line {line!r}"
        return EmulatorProcess(line[len(PREFIX) :].strip(), process)

    def close(self) -> None:
        """Stop every emulator started."""
        _end(self._started)


def _end(processes: list[subprocess.Popen[str]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def emulator() -> Iterator[Callable[..., EmulatorProcess]]:
    """Start `python -m snapcapi mock-server --port 0 ARGS...`; every one started is stopped afterwards."""
    emulators = Emulators()
    yield emulators.start
    emulators.close()


# -- the command line as a process ------------------------------------------------------------------------


@dataclass
class Result:
    """A finished CLI process."""

    code: int
    stdout: str
    stderr: str


@dataclass
class Workspace:
    """A state directory (the ledger) and a working directory (no .env) for `python -m snapcapi` runs."""

    root: Path
    spawned: list[subprocess.Popen[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)

    @property
    def state(self) -> Path:
        """The state directory: SNAPCAPI_STATE_DIR of every run."""
        return self.root / "state"

    @property
    def work(self) -> Path:
        """The working directory of every run."""
        return self.root / "work"

    def environ(self, env: dict[str, str] | None = None) -> dict[str, str]:
        """The environment of a run: no SNAPCAPI_* of the caller's, a wide terminal, no colour, `env`."""
        environ = {k: v for k, v in os.environ.items() if not k.startswith("SNAPCAPI_")}
        environ |= {"SNAPCAPI_STATE_DIR": str(self.state), "COLUMNS": "200", "NO_COLOR": "1"}
        return environ | (env or {})

    def run(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 120, stdin: str | None = None
    ) -> Result:
        """Run `python -m snapcapi ARGS...` to its end."""
        done = subprocess.run(
            [sys.executable, "-m", "snapcapi", *args],
            capture_output=True,
            text=True,
            env=self.environ(env),
            cwd=self.work,
            timeout=timeout,
            input=stdin,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def spawn(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """Start `python -m snapcapi ARGS...` in the background; `close()` ends it if it still runs."""
        process = subprocess.Popen(
            [sys.executable, "-m", "snapcapi", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.environ(env),
            cwd=self.work,
        )
        self.spawned.append(process)
        return process

    def stragglers(self) -> list[int]:
        """The processes still running whose command line names the working directory: worker processes a
        run started (they carry its `sys.path`), the runs themselves aside. Linux only: [] elsewhere."""
        mark = str(self.work).encode()
        found = []
        for entry in Path("/proc").glob("[0-9]*"):
            try:
                if mark in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:  # gone meanwhile
                continue
        return found

    def close(self) -> None:
        """End every spawned run still going, and what they left running."""
        for process in self.spawned:
            if process.poll() is None:
                process.kill()
        _end(self.spawned)
        for pid in self.stragglers():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    """A private state and working directory for CLI processes; spawned runs are ended afterwards."""
    space = Workspace(tmp_path)
    yield space
    space.close()


@pytest.fixture
def cli(workspace: Workspace) -> Callable[..., Result]:
    """Run `python -m snapcapi ARGS...` as a process, with its own state directory and no .env."""
    return workspace.run


@pytest.fixture
def api() -> Iterator[Emulator]:
    """An emulator in this process, on loopback, that takes the token TOKEN (for in-process runs)."""
    with Emulator(EmulatorConfig(access_tokens=frozenset({TOKEN}))) as emulator:
        yield emulator


# -- the command line in-process --------------------------------------------------------------------------


class Invoke(Protocol):
    """Runs the CLI in-process with arguments (and optional standard input)."""

    def __call__(self, *args: str, stdin: str | None = None) -> InProcessResult: ...


@pytest.fixture
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No SNAPCAPI_* variable from the caller and a private state directory (`tmp_path / "state"`)."""
    for name in list(os.environ):
        if name.startswith("SNAPCAPI_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SNAPCAPI_STATE_DIR", str(tmp_path / "state"))


@pytest.fixture
def invoke(clean_environment: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """Invoke the Typer app in-process: a clean environment, a private state directory, a wide terminal.

    CliRunner keeps standard error apart (`result.stderr`); an unexpected exception is in
    `result.exception` (anything but SystemExit), never raised.
    """
    monkeypatch.setenv("COLUMNS", "200")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None) -> InProcessResult:
        return runner.invoke(app, list(args), input=stdin)

    return run


def crashed(result: InProcessResult) -> BaseException | None:
    """The unexpected exception an in-process run raised (a traceback for a user), or None."""
    return None if isinstance(result.exception, SystemExit | None) else result.exception
