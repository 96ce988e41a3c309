"""--timeout bounds a whole request, and SIGTERM ends a run within seconds, against a server on 127.0.0.1
that trickles its answer a byte at a time (which never lets a single read time out)."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from snapcapi.emulator import Emulator, EmulatorConfig
from snapcapi.errors import DeliveryError
from snapcapi.send.auth import StaticToken
from snapcapi.send.client import SnapClient, make_http_client
from snapcapi.send.deadline import DeadlineTransport
from tests.conftest import HEADER, TOKEN, Workspace, purchase, write_csv
from tests.fakeserver import Canned, FakeServer, always, wait_for

VALID = b'{"status": "VALID", "reason": "' + b"x" * 200 + b'"}'
# A byte every 0.2 s: 44 s for the whole answer, and never 0.2 s without a byte.
TRICKLE = Canned(200, VALID, "application/json", trickle=0.2)
EVENTS = [{"event_name": "PURCHASE", "event_id": "e1"}]


def test_the_timeout_bounds_the_whole_request_not_each_read() -> None:
    """--timeout 1.5 against a 44 s trickle: the request times out after about 1.5 s, not 44."""
    with FakeServer(always(TRICKLE)) as server:
        http = make_http_client(timeout=1.5)
        client = SnapClient(http, server.url, StaticToken(TOKEN), max_retries=0)
        started = time.monotonic()
        with pytest.raises(DeliveryError, match="timed out"):
            client.post_events("px-1", EVENTS)
        took = time.monotonic() - started
        http.close()
    assert took < 15, f"the request took {took:.1f} s"  # bounded: the answer alone takes 44 s


def test_a_quick_answer_within_the_timeout_is_read_whole() -> None:
    """The deadline does not cut an answer that arrives in time, trickled or not."""
    quick = Canned(200, b'{"status": "VALID", "reason": "ok"}', "application/json", trickle=0.01)
    with FakeServer(always(quick)) as server:
        http = make_http_client(timeout=10)
        answer = SnapClient(http, server.url, StaticToken(TOKEN), max_retries=0).post_events("px-1", EVENTS)
        http.close()
    assert answer.ok
    assert answer.reason == "ok"


def test_a_halt_cuts_a_request_in_flight_after_the_grace() -> None:
    """With a 60 s timeout, a request still in flight 1 s after the halt is cut then."""
    halted = threading.Event()
    limits = httpx.Limits(max_connections=1)
    with FakeServer(always(TRICKLE)) as server:
        transport = DeadlineTransport(60, limits=limits, halted=halted.is_set, grace=1.0)
        http = httpx.Client(transport=transport, timeout=60)
        threading.Timer(0.5, halted.set).start()
        started = time.monotonic()
        with pytest.raises(httpx.TimeoutException):
            http.post(f"{server.url}/v3/px-1/events", content=b"{}")
        took = time.monotonic() - started
        http.close()
    assert took < 15, f"the request took {took:.1f} s"


def test_sigterm_ends_an_upload_stuck_on_a_trickling_server(workspace: Workspace, tmp_path: Path) -> None:
    """SIGTERM during a request to a trickling server, --timeout 60: the run ends within seconds, exit
    130, every row failed (not recorded: a later run sends them)."""
    path = write_csv(tmp_path / "e.csv", HEADER, [purchase(i) for i in range(10)])
    with FakeServer(always(TRICKLE)) as server:
        process = workspace.spawn(
            "upload", str(path), "--api-url", server.url, "--pixel-id", "px-1", "--conversion-type",
            "OFFLINE", "--access-token", TOKEN, "--timeout", "60", "--no-progress", "--json",
        )  # fmt: skip
        assert wait_for(lambda: bool(server.requests), timeout=60), "the upload never sent its request"
        time.sleep(0.5)
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            stdout, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail("the upload did not stop within 30 s of SIGTERM")
        took = time.monotonic() - signalled
    assert process.returncode == 130, stderr
    summary = json.loads(stdout)
    assert (summary["sent"], summary["failed"]) == (0, 10)
    assert took < 20, f"it took {took:.1f} s to stop"


def test_a_second_ctrl_c_stops_at_once_without_a_leaked_semaphore_warning(
    workspace: Workspace, tmp_path: Path
) -> None:
    """Two SIGINTs while worker processes run: exit 130 at once, and multiprocessing's resource tracker
    (which still removes the pool's semaphores) says nothing of "leaked semaphore objects"."""
    path = write_csv(tmp_path / "e.csv", HEADER, [purchase(i) for i in range(6000)])
    slow = Emulator(EmulatorConfig(access_tokens=frozenset({TOKEN}), latency=0.5))
    with slow:
        process = workspace.spawn(
            "upload", str(path), "--api-url", slow.url, "--pixel-id", "px-1", "--conversion-type", "OFFLINE",
            "--access-token", TOKEN, "--no-progress", "--workers", "2", "--batch-size", "100",
            "--concurrency", "1",
        )  # fmt: skip
        assert wait_for(lambda: slow.stats()["requests"] >= 2, timeout=60), "the upload never got going"
        process.send_signal(signal.SIGINT)
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        try:
            _, stderr = process.communicate(timeout=60)  # the tracker shares stderr: this waits for it too
        except subprocess.TimeoutExpired:
            pytest.fail("the upload did not stop after a second Ctrl-C")
    assert process.returncode == 130, stderr
    assert "stopped at once" in stderr
    assert "leaked semaphore" not in stderr
