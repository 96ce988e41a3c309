"""Tests of snapcapi.send.ledger: what Snap took, per asset; private files; one run at a time; retention."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from snapcapi.errors import LedgerError
from snapcapi.send.ledger import LEDGER_FILE, LOCK_FILE, RETENTION_SECONDS, Ledger

NOW = 1_800_000_000  # 2027-01-15T08:00:00Z

# A second process that holds the ledger until its standard input is closed.
HOLDER = """
import sys
from pathlib import Path
from snapcapi.send.ledger import Ledger
ledger = Ledger.open(Path(sys.argv[1]), wait=5)
print("locked", flush=True)
sys.stdin.read()
ledger.close()
"""


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    """A state directory that does not exist yet."""
    return tmp_path / "state" / "snapcapi"


@pytest.fixture
def ledger(state_dir: Path) -> Iterator[Ledger]:
    """An open ledger, closed after the test."""
    with Ledger.open(state_dir, now=lambda: NOW) as opened:
        yield opened


@contextmanager
def held_by_another_process(state_dir: Path) -> Iterator[int]:
    """Hold the ledger's lock from a separate process; yield that process's pid."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(state_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "locked"
        yield process.pid
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=10)


def mode(path: Path) -> int:
    """The permission bits of a file or directory."""
    return stat.S_IMODE(path.stat().st_mode)


# --- what was delivered -------------------------------------------------------------------------------------


def test_recorded_events_are_delivered(ledger: Ledger) -> None:
    """After record, delivered reports those event ids for that asset."""
    ledger.record("PIXEL-1", ["e1", "e2"], now=NOW)
    assert ledger.delivered("PIXEL-1", ["e1", "e2", "e3"]) == {"e1", "e2"}


def test_delivery_is_per_asset(ledger: Ledger) -> None:
    """An event id delivered to one asset is not delivered to another (Snap dedupes per asset)."""
    ledger.record("PIXEL-1", ["e1"], now=NOW)
    assert ledger.delivered("SNAP-APP-1", ["e1"]) == set()


def test_nothing_is_delivered_in_a_new_ledger(ledger: Ledger) -> None:
    """A fresh ledger knows no deliveries."""
    assert (ledger.delivered("PIXEL-1", ["e1"]), ledger.count()) == (set(), 0)


def test_holds_says_whether_an_asset_has_any_delivery(ledger: Ledger) -> None:
    """holds is per asset: what a run checks once, to skip lookups for an asset never delivered to."""
    assert not ledger.holds("PIXEL-1")
    ledger.record("PIXEL-1", ["e1"], now=NOW)
    assert (ledger.holds("PIXEL-1"), ledger.holds("SNAP-APP-1")) == (True, False)


def test_asking_about_no_ids_gives_none(ledger: Ledger) -> None:
    """delivered of an empty list is an empty set."""
    ledger.record("PIXEL-1", ["e1"], now=NOW)
    assert ledger.delivered("PIXEL-1", []) == set()


def test_recording_twice_keeps_one_entry(ledger: Ledger) -> None:
    """Recording an event again (a retried request) does not duplicate it."""
    ledger.record("PIXEL-1", ["e1", "e1"], now=NOW)
    ledger.record("PIXEL-1", ["e1"], now=NOW + 5)
    assert ledger.count() == 1


def test_count_is_over_all_assets(ledger: Ledger) -> None:
    """count() is the number of (asset, event id) deliveries."""
    ledger.record("PIXEL-1", ["e1", "e2"], now=NOW)
    ledger.record("SNAP-APP-1", ["e1"], now=NOW)
    assert ledger.count() == 3


def test_many_ids_are_looked_up_in_chunks(ledger: Ledger) -> None:
    """Lookups of more ids than SQLite takes parameters in one query still answer for all of them."""
    ids = [f"e{n}" for n in range(2500)]
    ledger.record("PIXEL-1", ids[::2], now=NOW)
    assert ledger.delivered("PIXEL-1", ids) == set(ids[::2])


def test_deliveries_survive_reopening(state_dir: Path) -> None:
    """What one run records, the next run reads."""
    with Ledger.open(state_dir, now=lambda: NOW) as first:
        first.record("PIXEL-1", ["e1"], now=NOW)
    with Ledger.open(state_dir, now=lambda: NOW + 3600) as second:
        assert second.delivered("PIXEL-1", ["e1", "e2"]) == {"e1"}


@pytest.mark.parametrize(
    "ids",
    [["e1", "e2", "\ud800"], ["e1", "a\x00b", "\ud800"]],
    ids=["one statement", "row by row (an id with a NUL)"],
)
def test_failed_transaction_records_nothing(ledger: Ledger, ids: list[str]) -> None:
    """A record whose ids cannot all be written leaves nothing behind (one transaction per request)."""
    with pytest.raises(UnicodeEncodeError):  # a lone surrogate cannot be stored
        ledger.record("PIXEL-1", ids, now=NOW)
    assert ledger.count() == 0


def test_ids_with_a_nul_are_recorded_whole(ledger: Ledger) -> None:
    """An id holding a NUL is recorded as it is, not cut at the NUL (SQLite's JSON reader would cut it)."""
    ledger.record("PIXEL-1", ["a\x00b", "a", 'q"\\'], now=NOW)
    assert ledger.count() == 3
    assert ledger.delivered("PIXEL-1", ["a\x00b", "a", 'q"\\', "a\x00c"]) == {"a\x00b", "a", 'q"\\'}


# --- files and permissions ----------------------------------------------------------------------------------


def test_state_directory_is_created_private(state_dir: Path) -> None:
    """The state directory (parents included) is created, and is the user's only (0700)."""
    with Ledger.open(state_dir):
        assert mode(state_dir) == 0o700


def test_ledger_files_are_private(ledger: Ledger, state_dir: Path) -> None:
    """The database, its WAL files and the lock file are the user's only (0600)."""
    ledger.record("PIXEL-1", ["e1"], now=NOW)
    files = sorted(path.name for path in state_dir.iterdir())
    assert LEDGER_FILE in files
    assert LOCK_FILE in files
    assert {name: mode(state_dir / name) for name in files} == dict.fromkeys(files, 0o600)


def test_files_are_private_even_with_a_permissive_umask(state_dir: Path) -> None:
    """The modes are set explicitly, not left to the umask (a umask of 000 still gives 0700/0600)."""
    previous = os.umask(0)
    try:
        with Ledger.open(state_dir) as opened:
            opened.record("PIXEL-1", ["e1"], now=NOW)
            modes = {path.name: mode(path) for path in state_dir.iterdir()}
        assert mode(state_dir) == 0o700
    finally:
        os.umask(previous)
    assert modes == dict.fromkeys(modes, 0o600)


def test_ledger_path_is_in_the_state_directory(ledger: Ledger, state_dir: Path) -> None:
    """Ledger.path is the SQLite file in the state directory."""
    assert ledger.path == state_dir / LEDGER_FILE


def test_unusable_state_directory_is_a_ledger_error(tmp_path: Path) -> None:
    """A state directory that cannot be made (a file is in the way) is a LedgerError naming it."""
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    with pytest.raises(LedgerError, match="cannot use the state directory") as caught:
        Ledger.open(blocker / "state")
    assert str(blocker / "state") in str(caught.value)


def test_corrupt_ledger_file_is_a_ledger_error(state_dir: Path) -> None:
    """A ledger file that is not an SQLite database is a LedgerError, and the lock is released."""
    state_dir.mkdir(parents=True)
    (state_dir / LEDGER_FILE).write_bytes(b"this is not a database" * 100)
    with pytest.raises(LedgerError, match=r"is damaged \(file is not a database\)"):
        Ledger.open(state_dir)
    (state_dir / LEDGER_FILE).unlink()
    Ledger.open(state_dir, wait=0).close()


# --- one run at a time --------------------------------------------------------------------------------------


def test_second_open_in_the_same_process_is_refused_after_waiting(ledger: Ledger, state_dir: Path) -> None:
    """flock is per open file description, so a second open in one process conflicts: it waits, then stops."""
    started = time.monotonic()
    with pytest.raises(LedgerError) as caught:
        Ledger.open(state_dir, wait=0.3)
    assert time.monotonic() - started >= 0.3
    assert str(caught.value) == (
        f"another snapcapi run (pid {os.getpid()}) is using the delivery ledger in {state_dir};"
        f" wait for it to finish, then run again (ps -p {os.getpid()} shows that run)"
    )


def test_ledger_held_by_another_process_is_refused_naming_its_pid(state_dir: Path) -> None:
    """A second run while another process holds the ledger stops with a clear message naming that run."""
    with held_by_another_process(state_dir) as pid, pytest.raises(LedgerError) as caught:
        Ledger.open(state_dir, wait=0.3)
    message = str(caught.value)
    assert message == (
        f"another snapcapi run (pid {pid}) is using the delivery ledger in {state_dir}; wait for it to"
        f" finish, then run again (ps -p {pid} shows that run)"
    )
    assert "--state-dir" not in message  # a second ledger would send the same events twice


def test_a_lock_that_names_no_pid_says_where_the_pid_would_be(state_dir: Path) -> None:
    """A lock file without a pid (written by a run that was killed at once): the message says where to
    look, and still never advises another --state-dir."""
    first = Ledger.open(state_dir)
    try:
        (state_dir / "ledger.lock").write_text("", encoding="utf-8")
        with pytest.raises(LedgerError) as caught:
            Ledger.open(state_dir, wait=0)
    finally:
        first.close()
    assert str(caught.value) == (
        f"another snapcapi run is using the delivery ledger in {state_dir}; wait for it to finish, then run"
        f" again (its pid is in {state_dir / 'ledger.lock'})"
    )


def test_ledger_is_free_again_when_the_other_process_ends(state_dir: Path) -> None:
    """Once the other run has finished, the ledger opens."""
    with held_by_another_process(state_dir):
        pass
    Ledger.open(state_dir, wait=0).close()


def test_second_open_waits_for_the_first_to_finish(state_dir: Path) -> None:
    """A run that finds the ledger busy keeps trying until the holder closes it, then proceeds."""
    first = Ledger.open(state_dir)
    first.record("PIXEL-1", ["e1"], now=NOW)
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 3:
            first.close()

    with Ledger.open(state_dir, wait=60, sleep=sleep) as second:
        assert second.delivered("PIXEL-1", ["e1"]) == {"e1"}
    assert len(naps) == 3


def test_wait_is_bounded_by_the_clock(state_dir: Path) -> None:
    """The wait ends when `wait` seconds have passed on the injected clock, without real sleeping."""
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    with Ledger.open(state_dir), pytest.raises(LedgerError, match="another snapcapi run"):
        Ledger.open(state_dir, wait=5, clock=lambda: clock[0], sleep=sleep)
    assert 5 <= clock[0] < 6


def test_close_releases_the_lock(state_dir: Path) -> None:
    """After close, the next run opens without waiting."""
    Ledger.open(state_dir).close()
    Ledger.open(state_dir, wait=0).close()


def test_leaving_the_with_block_releases_the_lock(state_dir: Path) -> None:
    """The context manager closes the ledger, even when the block raises."""
    with pytest.raises(RuntimeError, match="boom"), Ledger.open(state_dir):
        raise RuntimeError("boom")
    Ledger.open(state_dir, wait=0).close()


def test_refused_open_leaves_the_holder_working(ledger: Ledger, state_dir: Path) -> None:
    """A refused second run does not disturb the run that holds the ledger."""
    with pytest.raises(LedgerError, match="another snapcapi run"):
        Ledger.open(state_dir, wait=0)
    ledger.record("PIXEL-1", ["e1"], now=NOW)
    assert ledger.delivered("PIXEL-1", ["e1"]) == {"e1"}


# --- retention ----------------------------------------------------------------------------------------------


def test_retention_outlasts_snaps_age_window() -> None:
    """Entries are kept longer than Snap's 37-day window, so no event that Snap would take is forgotten."""
    assert RETENTION_SECONDS > 37 * 86400


def test_old_entries_are_pruned_on_open(state_dir: Path) -> None:
    """Opening the ledger drops entries older than the retention period."""
    with Ledger.open(state_dir, now=lambda: NOW) as first:
        first.record("PIXEL-1", ["old"], now=NOW - RETENTION_SECONDS - 1)
        first.record("PIXEL-1", ["recent"], now=NOW - 86400)
    with Ledger.open(state_dir, now=lambda: NOW) as second:
        assert second.delivered("PIXEL-1", ["old", "recent"]) == {"recent"}


def test_entry_exactly_at_the_retention_limit_is_kept(state_dir: Path) -> None:
    """An entry exactly RETENTION_SECONDS old is still kept."""
    with Ledger.open(state_dir, now=lambda: NOW) as first:
        first.record("PIXEL-1", ["edge"], now=NOW - RETENTION_SECONDS)
    with Ledger.open(state_dir, now=lambda: NOW) as second:
        assert second.count() == 1


def test_pruning_uses_the_injected_now(state_dir: Path) -> None:
    """Retention is measured from the `now` given to open, not the machine's clock."""
    with Ledger.open(state_dir, now=lambda: NOW) as first:
        first.record("PIXEL-1", ["e1"], now=NOW)
    with Ledger.open(state_dir, now=lambda: NOW + RETENTION_SECONDS + 1) as later:
        assert later.count() == 0


def test_record_without_now_stamps_the_current_time(state_dir: Path) -> None:
    """record() without `now` uses the clock, so a ledger opened today keeps today's entries."""
    with Ledger.open(state_dir) as first:
        first.record("PIXEL-1", ["e1"])
    with Ledger.open(state_dir) as second:
        assert second.count() == 1


def test_an_existing_state_directory_is_made_private(tmp_path: Path) -> None:
    """A state directory that already exists with looser permissions is kept to the user (0700)."""
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    os.chmod(state, 0o755)  # noqa: S103 - the looser mode is the point of the test
    with Ledger.open(state):
        pass
    assert mode(state) == 0o700
