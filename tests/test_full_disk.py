"""A report or the ledger that fails mid-run (a full disk, `ulimit -f`): what was sent is counted, the
replies in flight are collected and recorded, and the run stops with its own exit code (5).

The disk fills by a file-size limit (RLIMIT_FSIZE) on the CLI process alone; the emulator runs beside it
in this process, without one, and says what it was really sent.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from snapcapi.emulator import Emulator
from snapcapi.send.ledger import Ledger
from tests.conftest import HEADER, TOKEN, Workspace, purchase, write_csv

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE as Linux has it")

ROWS = 6000


# Sets the limit, then becomes `python -m snapcapi ARGS...` (no preexec_fn: this process runs threads).
_CAPPED = (
    "import os, resource, sys; limit = int(sys.argv[1]);"
    " resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit));"
    " os.execv(sys.executable, [sys.executable, '-m', 'snapcapi', *sys.argv[2:]])"
)


def _limited(workspace: Workspace, limit: int, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m snapcapi ARGS...` with no file written past `limit` bytes."""
    return subprocess.run(
        [sys.executable, "-c", _CAPPED, str(limit), *args],
        capture_output=True,
        text=True,
        env=workspace.environ(),
        cwd=workspace.work,
        timeout=120,
        check=False,
    )


def _upload(api: Emulator, path: Path, *args: str) -> list[str]:
    return [
        "upload", str(path), "--api-url", api.url, "--pixel-id", "px-1", "--conversion-type", "OFFLINE",
        "--access-token", TOKEN, "--no-progress", "--json", "--batch-size", "250", "--workers", "1", *args,
    ]  # fmt: skip


def _statuses(summary: dict[str, Any]) -> int:
    return sum(summary[s] for s in ("sent", "invalid", "rejected", "failed", "skipped"))


def test_a_ledger_that_fills_up_stops_the_run_with_exit_5_and_every_reply_counted(
    workspace: Workspace, api: Emulator, tmp_path: Path
) -> None:
    """The ledger cannot grow past 96 kB: the run stops taking rows, still counts (and tries to record)
    the requests in flight, and says how many rows went out unrecorded. A later run resends just those."""
    path = write_csv(tmp_path / "e.csv", HEADER, [purchase(i) for i in range(ROWS)])
    done = _limited(workspace, 96 * 1024, *_upload(api, path))
    assert done.returncode == 5, done.stderr
    assert "Traceback" not in done.stderr
    summary = json.loads(done.stdout)
    assert summary["exit_code"] == 5
    assert "delivery ledger" in summary["output_error"]
    arrived = api.stats()["distinct_events"]
    assert 0 < summary["sent"] == arrived < ROWS  # every acknowledged row counted, in flight included
    assert summary["rows"] == _statuses(summary)
    assert summary["unrecorded"] > 0
    with Ledger.open(workspace.state) as ledger:
        recorded = ledger.count()
    assert recorded == summary["sent"] - summary["unrecorded"]
    again = workspace.run(*_upload(api, path))
    assert again.code == 0, again.stderr
    second = json.loads(again.stdout)
    assert (second["skipped"], second["sent"]) == (recorded, ROWS - recorded)
    assert api.stats()["distinct_events"] == ROWS


def test_a_report_that_fills_up_stops_the_run_with_exit_5_and_the_counts_in_json(
    workspace: Workspace, api: Emulator, tmp_path: Path
) -> None:
    """The report cannot grow past 256 kB: exit 5 (not 2, "nothing was sent"), the counts in --json match
    what the emulator took, and no half report nor temporary file is left."""
    path = write_csv(tmp_path / "e.csv", HEADER, [purchase(i) for i in range(ROWS)])
    report = tmp_path / "out" / "report.jsonl"
    report.parent.mkdir()
    # No ledger: it would fill up too, and which file fills first is not the point here.
    done = _limited(workspace, 256 * 1024, *_upload(api, path, "--report", str(report), "--no-ledger"))
    assert done.returncode == 5, done.stderr
    assert "Traceback" not in done.stderr
    summary = json.loads(done.stdout)
    assert "--report" in summary["output_error"]
    assert 0 < summary["sent"] == api.stats()["distinct_events"] < ROWS
    assert summary["rows"] == _statuses(summary)
    assert list(report.parent.iterdir()) == []
    assert "stopped: --report" in done.stderr
    # The rest of the file was not read: the count says so, not that the file had that many rows.
    assert f"\n{summary['rows']} rows read before the stop: {summary['sent']} sent" in done.stderr


def test_quiet_still_says_why_a_full_disk_stopped_the_run(
    workspace: Workspace, api: Emulator, tmp_path: Path
) -> None:
    """--quiet is for cron, which mails standard error: a run stopped by a full report (exit 5) says so in
    one line there, as a run stopped by anything else does; silence would read as success."""
    path = write_csv(tmp_path / "e.csv", HEADER, [purchase(i) for i in range(ROWS)])
    report = tmp_path / "report.jsonl"
    args = [a for a in _upload(api, path, "--report", str(report), "--no-ledger") if a != "--json"]
    done = _limited(workspace, 256 * 1024, *args, "--quiet")
    assert done.returncode == 5, done.stderr
    assert "stopped: --report" in done.stderr
    assert "cannot write" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
