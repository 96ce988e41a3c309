"""Running out of this machine's resources mid-run: one clear line and exit 5, never a traceback, never
exit 1 (which says rows were refused), never a hang.

A symbolic-link loop as input or output, too few file descriptors, no thread to be had for the worker
pool, and no room for the duplicate-id database in TMPDIR.
"""

from __future__ import annotations

import errno
import json
import multiprocessing
import sqlite3
import subprocess
import sys
import threading
from concurrent.futures import process as futures_process
from pathlib import Path

import pytest

import snapcapi
from snapcapi.emulator import Emulator
from snapcapi.errors import ResourceError, exhausted
from tests.conftest import HEADER, TOKEN, Invoke, Workspace, crashed, purchase, write_csv

# Sets a limit, then becomes `python -m snapcapi ARGS...` (no preexec_fn: this process runs threads).
_LIMITED = (
    "import os, resource, sys; kind = getattr(resource, sys.argv[1]); limit = int(sys.argv[2]);"
    " resource.setrlimit(kind, (limit, limit));"
    " os.execv(sys.executable, [sys.executable, '-m', 'snapcapi', *sys.argv[3:]])"
)


def test_a_symlink_loop_as_input_or_output_is_one_line_and_exit_2(invoke: Invoke, tmp_path: Path) -> None:
    """A loop of symbolic links: the file named, the reason, exit 2 (nothing sent), no traceback."""
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    rows = write_csv(tmp_path / "e.csv", HEADER, [purchase(i) for i in range(3)])
    for args in ([str(loop)], [str(rows), "--report", str(loop)], [str(rows), "--rejects", str(loop)]):
        result = invoke(
            "validate", *args, "--pixel-id", "px", "--conversion-type", "OFFLINE", "--no-progress"
        )
        assert crashed(result) is None, result.exception
        assert result.exit_code == 2, result.stderr
        assert "symbolic links" in result.stderr
        assert "Traceback" not in result.stderr
    assert loop.is_symlink()  # left as it was


def test_too_few_file_descriptors_is_one_line_and_exit_5(workspace: Workspace, tmp_path: Path) -> None:
    """`ulimit -n 12` and worker processes to start: a clear line, exit 5, the counts in --json."""
    path = write_csv(tmp_path / "e.csv", HEADER, [purchase(i) for i in range(3000)])
    done = subprocess.run(
        [sys.executable, "-c", _LIMITED, "RLIMIT_NOFILE", "12", "validate", str(path), "--pixel-id", "px",
         "--conversion-type", "OFFLINE", "--workers", "2", "--no-progress", "--json"],
        capture_output=True, text=True, env=workspace.environ(), cwd=workspace.work, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 5, done.stderr
    assert "Traceback" not in done.stderr
    summary = json.loads(done.stdout)
    assert summary["exit_code"] == 5
    assert "too many" in summary["resource_error"]  # open files, or no temporary file could be made
    assert summary["rows"] == summary["valid"] + summary["invalid"] + summary["skipped"]
    quiet = subprocess.run(
        [sys.executable, "-c", _LIMITED, "RLIMIT_NOFILE", "12", "validate", str(path), "--pixel-id", "px",
         "--conversion-type", "OFFLINE", "--workers", "2", "--quiet"],
        capture_output=True, text=True, env=workspace.environ(), cwd=workspace.work, timeout=120, check=False,
    )  # fmt: skip
    assert quiet.returncode == 5, quiet.stderr
    assert "stopped: " in quiet.stderr  # --quiet (cron) still says why: one line on stderr
    assert "too many" in quiet.stderr


def test_no_thread_for_the_worker_pool_ends_the_run_instead_of_hanging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool's manager thread cannot start (a memory limit): the run ends with ResourceError, and its
    worker processes are ended rather than waited for forever."""
    workers: list[multiprocessing.Process] = []

    def no_thread(self: threading.Thread) -> None:
        workers.extend(self.processes.values())  # type: ignore[attr-defined]
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(futures_process._ExecutorManagerThread, "start", no_thread)
    path = write_csv(tmp_path / "e.csv", HEADER, [purchase(i) for i in range(3000)])
    with pytest.raises(ResourceError, match="cannot start a thread"):
        snapcapi.validate(path, pixel_id="px", conversion_type="OFFLINE", workers=2)
    monkeypatch.undo()
    assert workers
    for process in workers:
        process.join(timeout=10)
        assert not process.is_alive()


def test_no_room_for_the_duplicate_id_database_is_a_resource_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The duplicate-id database cannot grow (a full TMPDIR): ResourceError naming TMPDIR, no traceback of
    sqlite3's own."""
    real_connect = sqlite3.connect

    def small(*args: object, **kwargs: object) -> sqlite3.Connection:
        db: sqlite3.Connection = real_connect(*args, **kwargs)  # type: ignore[call-overload]
        db.execute("PRAGMA max_page_count = 8")
        return db

    monkeypatch.setattr(sqlite3, "connect", small)
    path = write_csv(tmp_path / "e.csv", HEADER, [purchase(i) for i in range(3000)])
    with pytest.raises(ResourceError, match=r"temporary files in .* \(TMPDIR\): database or disk is full"):
        snapcapi.validate(path, pixel_id="px", conversion_type="OFFLINE", workers=1)


@pytest.mark.parametrize(
    ("err", "says"),
    [
        (OSError(errno.EMFILE, "Too many open files"), "too many open files"),
        (OSError(errno.ENOSPC, "No space left on device", "/srv/x"), "no space left on the device (/srv/x)"),
        (OSError(errno.EFBIG, "File too large"), "file-size limit"),
        (MemoryError(), "out of memory"),
        (RuntimeError("can't start new thread"), "cannot start a thread"),
        (sqlite3.OperationalError("database or disk is full"), "(TMPDIR): database or disk is full"),
    ],
)
def test_what_ran_out_is_told_apart(err: BaseException, says: str) -> None:
    """Each resource's failure has its own line."""
    line = exhausted(err)
    assert line is not None
    assert says in line


@pytest.mark.parametrize(
    "err", [OSError(errno.ENOENT, "No such file"), RuntimeError("something else"), ValueError("x")]
)
def test_other_failures_are_not_taken_for_a_resource(err: BaseException) -> None:
    """A bug stays a bug: exhausted() says nothing of it, and it is raised as it is."""
    assert exhausted(err) is None


def test_no_thread_for_sending_stops_the_upload_before_any_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api: Emulator
) -> None:
    """The send pool's threads cannot all start (a memory limit): the upload ends with ResourceError and
    Snap has taken nothing, so that nothing it took goes unrecorded (the re-trial of issue 18 saw
    2,000-6,000 events taken by Snap and counted nowhere)."""
    start = threading.Thread.start

    def no_second_sender(self: threading.Thread) -> None:
        if self.name.startswith("snapcapi-send") and not self.name.endswith("_0"):
            raise RuntimeError("can't start new thread")
        start(self)

    monkeypatch.setattr(threading.Thread, "start", no_second_sender)
    monkeypatch.setenv("SNAPCAPI_STATE_DIR", str(tmp_path / "state"))
    path = write_csv(tmp_path / "e.csv", HEADER, [purchase(i) for i in range(3000)])
    with pytest.raises(ResourceError, match="cannot start a thread"):
        snapcapi.upload(
            path, api_url=api.url, access_token=TOKEN, pixel_id="px", conversion_type="OFFLINE",
            batch_size=500, workers=1,
        )  # fmt: skip
    assert api.events() == []
