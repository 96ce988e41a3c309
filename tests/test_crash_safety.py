"""Crash safety: an upload killed, interrupted or run twice at once sends each event once and loses none.

Each scenario runs once per module against the emulator (both real processes on loopback); the tests read
what it left: the emulator's events, the ledger, the reports. With the emulator's `--latency`, an upload in
requests of 10 events, 2 in flight, takes a quarter of a second per 20 events, and the tests act on it
part-way, when the emulator has taken 60 events. They act half a latency after that, when the requests
answered so far are recorded and the next ones are in flight, so that "in flight" means the same thing on
every run. The run after is sent in one request, so that it takes one latency.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import snapcapi.api
import snapcapi.cli.app
from snapcapi.emulator import Emulator
from snapcapi.errors import LedgerError
from snapcapi.send.ledger import Ledger
from tests.conftest import (
    HEADER,
    TOKEN,
    EmulatorProcess,
    Emulators,
    Invoke,
    Result,
    Workspace,
    crashed,
    purchase,
    write_csv,
)

pytestmark = pytest.mark.e2e

ROWS = 200
BATCH = 10
CONCURRENCY = 2
IN_FLIGHT = BATCH * CONCURRENCY  # events in requests sent and not yet answered, at most
LATENCY = 0.25
PART_WAY = 60  # events the emulator has taken when the test acts
PIXEL = "px-1"
EARLIER_REPORT = "an earlier run's report\n"
ALL_IDS = [f"ord-{i}" for i in range(ROWS)]


def upload_args(emu: EmulatorProcess, path: Path, *args: str, pixel: str = PIXEL) -> list[str]:
    """`upload` of `path` to the emulator as OFFLINE events, in small requests, a few at a time."""
    return [
        "upload", str(path), "--api-url", emu.url, "--pixel-id", pixel, "--conversion-type", "OFFLINE",
        "--access-token", TOKEN, "--batch-size", str(BATCH), "--concurrency", str(CONCURRENCY),
        "--no-progress", *args,
    ]  # fmt: skip


def delivered(state: Path, rows: int = ROWS) -> set[str]:
    """The event ids, of the first `rows` rows, that the ledger in `state` records as taken for the pixel."""
    with Ledger.open(state, wait=5) as ledger:
        return ledger.delivered(PIXEL, [f"ord-{i}" for i in range(rows)])


def when_part_way(emu: EmulatorProcess) -> None:
    """Return once the emulator has taken PART_WAY events, half a latency after a request was answered."""
    emu.wait_until(lambda s: s["events_kept"] >= PART_WAY)
    time.sleep(LATENCY / 2)


def records(path: Path) -> list[dict[str, Any]]:
    """The records of a JSON Lines report (every line must be one)."""
    return [json.loads(line) for line in path.read_text().splitlines()]


def mode(path: Path) -> int:
    """The permission bits of a file."""
    return stat.S_IMODE(path.stat().st_mode)


# -- SIGKILL -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Killed:
    """What a run killed part-way left, and what the run after it did."""

    ledger: set[str]  # the ledger after the kill
    taken_after_kill: list[str]  # what the emulator took, once the requests in flight ended
    report_after_kill: str
    left_running: list[int]  # processes of the killed run still there a while after the kill
    rerun: Result
    taken: list[str]  # what the emulator took in all, duplicates included
    report: Path


KILLED_ROWS = 1500  # more than one chunk of rows: the run builds them in worker processes (--workers 2)


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Killed]:
    """Upload 1500 rows, SIGKILL the run part-way, then run the same upload again."""
    tmp = tmp_path_factory.mktemp("killed")
    emulators, space = Emulators(), Workspace(tmp)
    try:
        emu = emulators.start("--access-token", TOKEN, "--latency", str(LATENCY))
        path = write_csv(tmp / "events.csv", HEADER, [purchase(i) for i in range(KILLED_ROWS)])
        report = tmp / "report.jsonl"
        report.write_text(EARLIER_REPORT)
        first = space.spawn(*upload_args(emu, path, "--report", str(report), "--workers", "2"))
        when_part_way(emu)
        first.kill()
        assert first.wait(timeout=10) == -signal.SIGKILL
        emu.settle()
        taken_after_kill = emu.event_ids()
        assert PART_WAY <= len(taken_after_kill) < KILLED_ROWS, "the run was not killed part-way"
        ledger = delivered(space.state, KILLED_ROWS)
        report_after_kill = report.read_text()
        deadline = time.monotonic() + 3  # time for workers to see that their run is gone
        while (left_running := space.stragglers()) and time.monotonic() < deadline:
            time.sleep(0.05)
        rerun = space.run(*upload_args(emu, path, "--report", str(report), "--json", "--batch-size", "2000"))
        yield Killed(
            ledger, taken_after_kill, report_after_kill, left_running, rerun, emu.event_ids(), report
        )
    finally:
        space.close()
        emulators.close()


def test_after_a_kill_and_a_rerun_every_event_is_delivered(killed: Killed) -> None:
    """Every row's event reached Snap: as many distinct event ids as rows, and the rerun exits 0."""
    assert killed.rerun.code == 0, killed.rerun.stderr
    assert sorted(set(killed.taken)) == sorted(f"ord-{i}" for i in range(KILLED_ROWS))


def test_after_a_kill_events_sent_twice_are_at_most_those_in_flight(killed: Killed) -> None:
    """Only the requests in flight at the kill are sent again: at most concurrency x batch size events."""
    twice = len(killed.taken) - len(set(killed.taken))
    assert twice <= IN_FLIGHT


def test_a_kill_leaves_the_ledger_short_of_at_most_the_requests_in_flight(killed: Killed) -> None:
    """The ledger was written per acknowledged request: it holds only events Snap took, and misses at most
    those of the requests in flight when the run was killed."""
    taken = set(killed.taken_after_kill)
    assert killed.ledger <= taken
    assert len(taken - killed.ledger) <= IN_FLIGHT


def test_the_run_after_a_kill_skips_what_the_ledger_recorded(killed: Killed) -> None:
    """The rerun marks the recorded events skipped and sends the others."""
    summary = json.loads(killed.rerun.stdout)
    assert (summary["skipped"], summary["sent"]) == (len(killed.ledger), KILLED_ROWS - len(killed.ledger))


def test_a_kill_leaves_the_earlier_report_whole(killed: Killed) -> None:
    """The report is written atomically: after the kill, the earlier report is there, untouched; the
    rerun's report replaces it, one record per row."""
    assert killed.report_after_kill == EARLIER_REPORT
    assert len(records(killed.report)) == KILLED_ROWS


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="finds processes through Linux's /proc")
def test_a_killed_run_leaves_no_process_behind(killed: Killed) -> None:
    """The worker processes building rows end with the run, even when it is killed."""
    assert killed.left_running == []


# -- SIGTERM and SIGINT --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interrupted:
    """What an interrupted run printed and left, and what the run after it did."""

    result: Result
    summary: dict[str, Any]
    report: list[dict[str, Any]]
    rejects: list[str]  # event ids of the rejects file's rows
    modes: tuple[int, int]  # of the report and rejects files
    ledger: set[str]
    taken: list[str]  # what the emulator took from the interrupted run
    rerun: dict[str, Any]
    taken_in_all: list[str]


INVALID_EVERY = 20  # every 20th row has an unknown event name
VALID_IDS = {f"ord-{i}" for i in range(ROWS) if i % INVALID_EVERY}


@pytest.fixture(scope="module", params=[signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def interrupted(request: pytest.FixtureRequest) -> Iterator[Interrupted]:
    """Upload 200 rows (10 invalid) with a report and a rejects file, signal the run part-way, then run
    the same upload again."""
    sig: signal.Signals = request.param
    tmp: Path = request.getfixturevalue("tmp_path_factory").mktemp(sig.name)
    emulators, space = Emulators(), Workspace(tmp)
    try:
        emu = emulators.start("--access-token", TOKEN, "--latency", str(LATENCY))
        rows = [purchase(i) for i in range(ROWS)]
        for i in range(0, ROWS, INVALID_EVERY):
            rows[i][1] = "NOPE"
        path = write_csv(tmp / "events.csv", HEADER, rows)
        report, rejects = tmp / "report.jsonl", tmp / "rejects.csv"
        outputs = ("--report", str(report), "--rejects", str(rejects), "--json")
        first = space.spawn(*upload_args(emu, path, *outputs))
        when_part_way(emu)
        first.send_signal(sig)
        stdout, stderr = first.communicate(timeout=30)
        result = Result(first.returncode, stdout, stderr)
        emu.settle()
        taken = emu.event_ids()
        assert len(taken) < len(VALID_IDS), "the run ended before the signal"
        rejected = [line.split(",")[0] for line in rejects.read_text().splitlines()[1:]]
        ledger = delivered(space.state)
        modes = (mode(report), mode(rejects))
        rerun = space.run(*upload_args(emu, path, "--json", "--batch-size", "2000"))
        assert rerun.code == 1, rerun.stderr  # the invalid rows
        yield Interrupted(
            result, json.loads(stdout), records(report), rejected, modes, ledger, taken,
            json.loads(rerun.stdout), emu.event_ids(),
        )  # fmt: skip
    finally:
        space.close()
        emulators.close()


def test_an_interrupted_upload_exits_130_saying_so(interrupted: Interrupted) -> None:
    """The run stops with exit 130, says what to do next, and its JSON summary says it was interrupted."""
    assert interrupted.result.code == 130, interrupted.result.stderr
    assert (
        "interrupted: what was delivered is recorded; run again to send the rest" in interrupted.result.stderr
    )
    assert (interrupted.summary["exit_code"], interrupted.summary["interrupted"]) == (130, True)


def test_an_interrupted_upload_says_at_once_that_it_is_stopping(interrupted: Interrupted) -> None:
    """The signal is acknowledged on standard error before the requests in flight have finished."""
    # The first line after the one saying the ledger is new (a new state directory: every test's own).
    lines = interrupted.result.stderr.splitlines()
    first_line = lines[1] if lines[0].startswith("a new delivery ledger, ") else lines[0]
    assert first_line.startswith("snapcapi: SIG")
    assert "finishing the requests in flight, then stopping" in first_line


def test_after_an_interruption_the_report_has_one_record_per_row_read(interrupted: Interrupted) -> None:
    """The report is complete JSON Lines: one record for each row the run read, lines 2..N+1 in a row, as
    many as the summary's rows; the run stopped before sending them all."""
    lines = sorted(record["line"] for record in interrupted.report)
    assert lines == list(range(2, interrupted.summary["rows"] + 2))
    assert interrupted.summary["sent"] < len(VALID_IDS)


def test_after_an_interruption_every_row_reported_sent_is_in_the_ledger(interrupted: Interrupted) -> None:
    """What the report calls sent is recorded as delivered."""
    sent = {r["event_id"] for r in interrupted.report if r["status"] == "sent"}
    assert sent
    assert sent <= interrupted.ledger


def test_after_an_interruption_the_ledger_and_report_hold_exactly_what_snap_took(
    interrupted: Interrupted,
) -> None:
    """The requests in flight were let finish and recorded: Snap, the ledger and the report agree."""
    sent = {r["event_id"] for r in interrupted.report if r["status"] == "sent"}
    assert set(interrupted.taken) == interrupted.ledger == sent
    assert interrupted.summary["sent"] == len(sent)


def test_after_an_interruption_the_rows_not_sent_are_reported_failed(interrupted: Interrupted) -> None:
    """Valid rows read but not sent are `failed`, to be sent by a later run; every row has one status."""
    statuses = {r["status"] for r in interrupted.report}
    assert statuses <= {"sent", "failed", "invalid"}
    failed = [r for r in interrupted.report if r["status"] == "failed"]
    assert all(r["errors"] == ["row: not sent: interrupted"] for r in failed)
    summary = interrupted.summary
    assert summary["rows"] == summary["sent"] + summary["failed"] + summary["invalid"]


def test_after_an_interruption_the_rejects_file_holds_the_invalid_rows_reported(
    interrupted: Interrupted,
) -> None:
    """The rejects file was written too, with the invalid rows the report lists."""
    invalid = [r["event_id"] for r in interrupted.report if r["status"] == "invalid"]
    assert invalid
    assert interrupted.rejects == invalid


def test_after_an_interruption_the_report_and_rejects_are_private(interrupted: Interrupted) -> None:
    """Both files are readable by their owner only."""
    assert interrupted.modes == (0o600, 0o600)


def test_the_run_after_an_interruption_sends_the_rest_and_skips_what_was_sent(
    interrupted: Interrupted,
) -> None:
    """The next run skips what the interrupted one delivered and sends the rest: every valid row reaches
    Snap exactly once."""
    already = len(interrupted.ledger)
    assert (interrupted.rerun["skipped"], interrupted.rerun["sent"]) == (already, len(VALID_IDS) - already)
    assert sorted(interrupted.taken_in_all) == sorted(VALID_IDS)


def test_after_an_interruption_the_quality_counts_cover_only_the_rows_reported(
    interrupted: Interrupted,
) -> None:
    """The summary's data-quality counts are over the same rows as its statuses."""
    summary = interrupted.summary
    assert summary["quality"]["matchable"] == summary["sent"] + summary["failed"]
    assert summary["quality"]["identifiers"]["email"] <= summary["rows"]


@dataclass(frozen=True)
class Aborted:
    """What a run stopped by a second Ctrl-C left."""

    code: int | None
    seconds: float  # from the second Ctrl-C to the end of the run
    report: str
    files: list[str]  # in the directory of the report
    left_running: list[int]  # processes of the run still there a little after it ended


@pytest.fixture(scope="module")
def aborted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Aborted]:
    """Upload 1500 rows (built by worker processes) to an emulator that answers after 5 s, with a report
    and a rejects file; press Ctrl-C once a request is in flight, then again."""
    tmp = tmp_path_factory.mktemp("aborted")
    emulators, space = Emulators(), Workspace(tmp)
    try:
        emu = emulators.start("--access-token", TOKEN, "--latency", "5")
        path = write_csv(tmp / "events.csv", HEADER, [purchase(i) for i in range(KILLED_ROWS)])
        report, rejects = tmp / "report.jsonl", tmp / "rejects.jsonl"
        report.write_text(EARLIER_REPORT)
        outputs = ("--report", str(report), "--rejects", str(rejects), "--workers", "2")
        run = space.spawn(*upload_args(emu, path, *outputs))
        emu.wait_until(lambda s: s["requests"] >= 1)  # a request is in flight, for 5 s
        run.send_signal(signal.SIGINT)
        assert run.stderr is not None
        line = run.stderr.readline()
        if line.startswith("a new delivery ledger, "):  # said first: the test's state directory is new
            line = run.stderr.readline()
        assert line.startswith("snapcapi: SIGINT: finishing the requests in flight")
        started = time.monotonic()
        code = None
        while code is None and time.monotonic() - started < 3:
            # Again if need be, as a user would: a signal that comes while Python is still in the handler
            # of the first one waits for the main thread's next wake-up (here: the answer, in 5 s).
            run.send_signal(signal.SIGINT)
            with suppress(subprocess.TimeoutExpired):
                code = run.wait(timeout=0.2)
        seconds = time.monotonic() - started
        deadline = time.monotonic() + 1  # the pool's server process ends once its workers are gone
        while (left_running := space.stragglers()) and time.monotonic() < deadline:
            time.sleep(0.05)
        files = sorted(p.name for p in tmp.iterdir())
        yield Aborted(code, seconds, report.read_text(), files, left_running)
    finally:
        space.close()
        emulators.close()


def test_a_second_ctrl_c_stops_at_once_with_exit_130(aborted: Aborted) -> None:
    """The run ends with 130 without waiting for its requests in flight (answered only after 5 s)."""
    assert aborted.code == 130
    assert aborted.seconds < 3


def test_a_second_ctrl_c_leaves_the_earlier_report_and_no_partial_file(aborted: Aborted) -> None:
    """The report and rejects files being written are dropped: the earlier report stays as it was."""
    assert aborted.report == EARLIER_REPORT
    assert aborted.files == ["events.csv", "report.jsonl", "state", "work"]


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="finds processes through Linux's /proc")
def test_a_second_ctrl_c_leaves_no_process_behind(aborted: Aborted) -> None:
    """The worker processes that were building rows end with the run."""
    assert aborted.left_running == []


# -- two runs at once ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TwoRuns:
    """A run, and a second one started on the same ledger while the first was sending."""

    first: Result
    first_pid: int
    second_code: int
    second_stderr: str
    second_crash: BaseException | None
    second_seconds: float
    requests_by_asset: dict[str, int]
    ledger: set[str]
    state: Path


SECOND_WAIT = 0.3  # how long the second run waits for the ledger (the real default is 10 s)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoRuns]:
    """Start an upload; while it sends, run a second upload (in-process) on the same state directory."""
    tmp = tmp_path_factory.mktemp("two_runs")
    emulators, space = Emulators(), Workspace(tmp)
    try:
        emu = emulators.start("--access-token", TOKEN, "--latency", "0.1")
        path = write_csv(tmp / "events.csv", HEADER, [purchase(i) for i in range(ROWS)])
        first = space.spawn(*upload_args(emu, path, "--json", "-q"))
        emu.wait_until(lambda s: s["events_kept"] >= BATCH)  # it holds the ledger, and is sending
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(snapcapi.api, "LEDGER_WAIT", SECOND_WAIT)
            started = time.monotonic()
            second = CliRunner().invoke(
                snapcapi.cli.app.app,
                upload_args(emu, path, "--state-dir", str(space.state), pixel="px-2"),
                env={"COLUMNS": "200"},
            )
            seconds = time.monotonic() - started
        stdout, stderr = first.communicate(timeout=30)
        stats = emu.stats()
        yield TwoRuns(
            Result(first.returncode, stdout, stderr), first.pid, second.exit_code, second.stderr,
            crashed(second), seconds, stats["requests_by_asset"], delivered(space.state), space.state,
        )  # fmt: skip
    finally:
        space.close()
        emulators.close()


def test_a_second_run_on_a_busy_ledger_waits_then_exits_2_naming_the_first(two_runs: TwoRuns) -> None:
    """The second run waits a little for the ledger, then stops with exit 2 and says which run has it."""
    assert (two_runs.second_code, two_runs.second_crash) == (2, None)
    assert two_runs.second_stderr == (
        f"error: another snapcapi run (pid {two_runs.first_pid}) is using the delivery ledger in"
        f" {two_runs.state}; wait for it to finish, then run again (ps -p {two_runs.first_pid} shows that"
        " run)\n"
    )
    assert two_runs.second_seconds >= SECOND_WAIT


def test_a_second_run_on_a_busy_ledger_sends_nothing(two_runs: TwoRuns) -> None:
    """No request of the second run (its own pixel) reached Snap."""
    assert set(two_runs.requests_by_asset) == {PIXEL}


def test_the_first_run_finishes_unharmed_by_the_second(two_runs: TwoRuns) -> None:
    """The first run sends every row and exits 0; its ledger records them all."""
    assert two_runs.first.code == 0, two_runs.first.stderr
    assert json.loads(two_runs.first.stdout)["sent"] == ROWS
    assert two_runs.ledger == set(ALL_IDS)


# -- a ledger that cannot be written ------------------------------------------------------------------------


MANY = 1000  # events whose ids fill more than one page of the ledger's database


def fill_up(ledger: Ledger) -> None:
    """Make the ledger's database as full as a full disk would: no page can be added to it."""
    db = ledger._db
    db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")


def test_a_full_disk_while_recording_is_a_ledger_error_recording_nothing(tmp_path: Path) -> None:
    """The failed transaction records none of its events, says why, and leaves the ledger usable."""
    with Ledger.open(tmp_path / "state") as ledger:
        fill_up(ledger)
        with pytest.raises(LedgerError, match="database or disk is full; the events of the last request"):
            ledger.record(PIXEL, [f"ord-{i}" for i in range(MANY)])
        assert ledger.count() == 0
        ledger._db.execute("PRAGMA max_page_count = 1000000")
        ledger.record(PIXEL, ["ord-0"])
        assert ledger.delivered(PIXEL, ["ord-0", "ord-1"]) == {"ord-0"}


def test_an_upload_whose_ledger_cannot_record_stops_with_exit_5_saying_why(
    invoke: Invoke, api: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk under the ledger ends the upload with exit 5 (not 2, "nothing was sent") and the
    reason, not a traceback."""
    opened = Ledger.open

    def full(state_dir: Path, **kwargs: Any) -> Ledger:
        ledger = opened(state_dir, **kwargs)
        fill_up(ledger)
        return ledger

    monkeypatch.setattr(Ledger, "open", full)
    path = write_csv(tmp_path / "events.csv", HEADER, [purchase(i) for i in range(MANY)])
    result = invoke(
        "upload", str(path), "--api-url", api.url, "--access-token", TOKEN, "--pixel-id", PIXEL,
        "--conversion-type", "OFFLINE", "--no-progress",
    )  # fmt: skip
    assert (result.exit_code, crashed(result)) == (5, None)
    assert "stopped: cannot record deliveries in the delivery ledger " in result.stderr
    assert "database or disk is full" in result.stderr


# -- where the reports go -----------------------------------------------------------------------------------


def invalid_rows_file(tmp_path: Path) -> Path:
    """Three rows that validate finds invalid (an unknown event name), for the reports to list."""
    rows = [purchase(i) for i in range(3)]
    for values in rows:
        values[1] = "NOPE"
    return write_csv(tmp_path / "events.csv", HEADER, rows)


def test_a_report_path_that_is_a_link_replaces_the_file_it_points_to(invoke: Invoke, tmp_path: Path) -> None:
    """A link to the report (`latest.jsonl`) stays a link; the file it points to gets the report, 0600."""
    path = invalid_rows_file(tmp_path)
    (tmp_path / "reports").mkdir()
    target = tmp_path / "reports" / "today.jsonl"
    target.write_text(EARLIER_REPORT)
    link = tmp_path / "latest.jsonl"
    link.symlink_to(target)
    result = invoke("validate", str(path), "--pixel-id", PIXEL, "--report", str(link))
    assert (result.exit_code, crashed(result)) == (1, None)
    assert link.is_symlink()
    assert len(records(target)) == 3
    assert mode(target) == 0o600


def test_a_report_to_a_pipe_is_streamed_and_the_pipe_left_in_place(invoke: Invoke, tmp_path: Path) -> None:
    """A named pipe (or /dev/stdout) cannot be replaced by a file: the report is written into it."""
    pipe = tmp_path / "report.pipe"
    os.mkfifo(pipe)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()), daemon=True)
    reader.start()
    result = invoke("validate", str(invalid_rows_file(tmp_path)), "--pixel-id", PIXEL, "--report", str(pipe))
    reader.join(timeout=10)
    assert (result.exit_code, crashed(result)) == (1, None)
    assert stat.S_ISFIFO(pipe.stat().st_mode)
    assert [json.loads(line)["line"] for line in received[0].splitlines()] == [2, 3, 4]


def test_report_and_rejects_on_one_path_is_a_usage_error(invoke: Invoke, tmp_path: Path) -> None:
    """The two files would overwrite each other: exit 2 before anything is read."""
    out = tmp_path / "out.csv"
    result = invoke(
        "validate", str(invalid_rows_file(tmp_path)), "--pixel-id", PIXEL, "--report", str(out),
        "--rejects", str(out),
    )  # fmt: skip
    assert (result.exit_code, crashed(result)) == (2, None)
    assert result.stderr == f"error: --report and --rejects are the same file, {out}; give each its own\n"
    assert not out.exists()
