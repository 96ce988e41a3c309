"""The delivery ledger: which events Snap took, per asset, so that a re-run never sends one twice.

An SQLite database in the state directory, written as soon as each request is acknowledged (one
transaction per request). One run at a time: an exclusive lock file; a second run waits up to `wait`
seconds, then stops with LedgerError. The directory is kept to the user (0700) and the files to the user
(0600).

Durability, explicitly: the database is in WAL mode with synchronous=FULL, so a request's transaction is
on disk (the `-wal` file, fsynced) before the next request's outcome is counted, and survives a crash or
a power loss. The WAL is copied into the database file (a checkpoint) every 1000 pages and when the run
closes the ledger (TRUNCATE: the `-wal` file is then empty); until then the latest deliveries are only in
the `-wal` file, which must never be deleted on its own.

Trust: the database is checked when it is opened (`PRAGMA quick_check`, about 0.1 s per million
deliveries held). A damaged one stops the run (LedgerError) unless the caller asks to set it aside
(`--resend`): it is then renamed `ledger.sqlite3.damaged-STAMP` and a new ledger started.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType

from snapcapi import spec
from snapcapi.errors import LedgerError
from snapcapi.model import RunReport
from snapcapi.sqlarray import json_array

LEDGER_FILE = "ledger.sqlite3"
LOCK_FILE = "ledger.lock"
_CHUNK = 500  # bound parameters per query; SQLite's limit is 999 on old builds
_CHECKPOINT_PAGES = 1000  # the WAL is copied into the database every this many pages (SQLite's default)
_HAS_TABLE = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'delivered'"
# Entries older than this can never matter: Snap refuses events older than the age window anyway.
RETENTION_SECONDS = spec.MAX_EVENT_AGE + 30 * 24 * 3600

_SCHEMA = """
CREATE TABLE IF NOT EXISTS delivered (
    asset_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    delivered_at INTEGER NOT NULL,
    PRIMARY KEY (asset_id, event_id)
) WITHOUT ROWID
"""


class Ledger:
    """Open with `Ledger.open(state_dir)`; a context manager that releases the lock on exit."""

    def __init__(
        self, path: Path, connection: sqlite3.Connection, lock_fd: int, *, new: bool = False
    ) -> None:
        self.path = path
        self._db = connection
        self._lock_fd = lock_fd
        self.new = new  # no earlier delivery can be known: the ledger was missing, empty or set aside
        self.set_aside: Path | None = None  # where a damaged ledger was moved, when it was

    @classmethod
    def open(
        cls,
        state_dir: Path,
        *,
        wait: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.time,
        set_aside_damaged: bool = False,
    ) -> Ledger:
        """Lock, open and check the ledger in `state_dir` (created if need be).

        Raises LedgerError if it is locked, cannot be opened, or is damaged (unless `set_aside_damaged`:
        a damaged ledger is then renamed aside, see `set_aside`, and a new one started).
        """
        try:
            state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(state_dir, 0o700)  # the ledger names what was sent where: keep it to the user
            lock_fd = os.open(state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as err:
            raise LedgerError(f"cannot use the state directory {state_dir}: {err.strerror or err}") from None
        deadline = clock() + wait
        while True:
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if clock() >= deadline:
                    pid = _read_holder(lock_fd)
                    os.close(lock_fd)
                    # Never advise another --state-dir: a second ledger would send the same events again.
                    raise LedgerError(
                        f"another snapcapi run{f' (pid {pid})' if pid else ''} is using the delivery ledger"
                        f" in {state_dir}; wait for it to finish, then run again"
                        + (
                            f" (ps -p {pid} shows that run)"
                            if pid
                            else f" (its pid is in {state_dir / LOCK_FILE})"
                        )
                    ) from None
                sleep(0.2)
            except OSError as err:  # a file system without locks (some network mounts)
                os.close(lock_fd)
                raise LedgerError(
                    f"cannot lock the delivery ledger in {state_dir}: {err.strerror or err}"
                ) from None
        try:
            os.ftruncate(lock_fd, 0)
            os.pwrite(lock_fd, str(os.getpid()).encode(), 0)
        except OSError:
            pass  # the pid only makes the message of a waiting run clearer
        path = state_dir / LEDGER_FILE
        try:
            opened = _connect(path, wait, now)
        except _Damaged as damage:
            if not set_aside_damaged:
                os.close(lock_fd)
                raise LedgerError(
                    f"the delivery ledger {path} is damaged ({damage}): trusting it could send events twice"
                    " or not at all. Restore it (and its -wal file) from a backup; or run with --resend,"
                    " which sets it aside and starts a new ledger, sending every row again (Snap keeps one"
                    " event per event_id)"
                ) from None
            aside = _set_aside(path, now())
            try:
                opened = _connect(path, wait, now)
            except (_Damaged, LedgerError) as err:
                os.close(lock_fd)
                raise LedgerError(f"cannot start a new delivery ledger {path}: {err}") from None
            ledger = cls(path, opened[0], lock_fd, new=True)
            ledger.set_aside = aside
            return ledger
        except LedgerError:
            os.close(lock_fd)
            raise
        return cls(path, opened[0], lock_fd, new=opened[1])

    def describe(self, report: RunReport) -> None:
        """Put in `report` which ledger the run uses, and whether it knows any earlier delivery."""
        report.ledger_path = str(self.path)
        report.ledger_new = self.new
        report.ledger_set_aside = None if self.set_aside is None else str(self.set_aside)

    def delivered(self, asset_id: str, event_ids: Sequence[str]) -> set[str]:
        """Return those of `event_ids` that Snap already took for `asset_id`.

        Raises LedgerError when the database cannot be read (an I/O error, a file damaged meanwhile).
        """
        found: set[str] = set()
        try:
            for start in range(0, len(event_ids), _CHUNK):
                chunk = event_ids[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT event_id FROM delivered WHERE asset_id = ? AND event_id IN ({marks})",  # noqa: S608
                    (asset_id, *chunk),
                )
                found.update(row[0] for row in rows)
        except sqlite3.Error as err:
            raise LedgerError(f"cannot read the delivery ledger {self.path}: {err}") from None
        return found

    def holds(self, asset_id: str) -> bool:
        """Return True when the ledger holds any delivery for `asset_id`.

        Raises LedgerError when the database cannot be read.
        """
        try:
            query = "SELECT 1 FROM delivered WHERE asset_id = ? LIMIT 1"
            return self._db.execute(query, (asset_id,)).fetchone() is not None
        except sqlite3.Error as err:
            raise LedgerError(f"cannot read the delivery ledger {self.path}: {err}") from None

    def record(self, asset_id: str, event_ids: Sequence[str], *, now: float | None = None) -> None:
        """Record, in one transaction, that Snap took these events for `asset_id`.

        Raises LedgerError when the transaction cannot be committed (a full disk, an I/O error): nothing of
        it is recorded then.
        """
        stamp = int(time.time() if now is None else now)
        ids = json_array(event_ids)
        try:
            with self._transaction():
                if ids is not None:
                    self._db.execute(
                        "INSERT OR IGNORE INTO delivered (asset_id, event_id, delivered_at)"
                        " SELECT ?, value, ? FROM json_each(?)",
                        (asset_id, stamp, ids),
                    )
                else:  # an id holds a NUL
                    self._db.executemany(
                        "INSERT OR IGNORE INTO delivered (asset_id, event_id, delivered_at) VALUES (?, ?, ?)",
                        ((asset_id, event_id, stamp) for event_id in event_ids),
                    )
        except sqlite3.Error as err:
            raise LedgerError(
                f"cannot record deliveries in the delivery ledger {self.path}: {err}; the events of the last"
                " request reached Snap but a later run will send them again"
            ) from None

    def count(self) -> int:
        """Return how many deliveries the ledger holds."""
        return int(self._db.execute("SELECT count(*) FROM delivered").fetchone()[0])

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:  # a failed COMMIT may have rolled back already
                self._db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Copy the WAL into the database (a checkpoint), close it and release the lock."""
        with contextlib.suppress(sqlite3.Error):  # what the WAL holds is kept there, and read back
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.close()
        with contextlib.suppress(OSError):
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _read_holder(fd: int) -> str:
    """Return the pid the lock file names (the run holding the ledger), or "" when it names none."""
    try:
        pid = os.pread(fd, 32, 0).decode().strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return pid if pid.isdigit() else ""


class _Damaged(Exception):
    """The database fails its check, or is not an SQLite database at all."""


def _connect(path: Path, wait: float, now: Callable[[], float]) -> tuple[sqlite3.Connection, bool]:
    """Open and check the database; return it and whether it is new (no earlier delivery recorded).

    Raises _Damaged when it fails the check, LedgerError when it cannot be opened.
    """
    try:
        # Create the file ourselves so it (and SQLite's journal, which copies its mode) is 0600.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        new = path.stat().st_size == 0
        db = sqlite3.connect(path, timeout=wait, isolation_level=None)
    except (OSError, sqlite3.Error) as err:
        raise LedgerError(f"cannot open the delivery ledger {path}: {err}") from None
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute(f"PRAGMA wal_autocheckpoint={_CHECKPOINT_PAGES}")
        problems = [row[0] for row in db.execute("PRAGMA quick_check(3)")]
        if problems != ["ok"]:
            db.close()
            # One problem may be several lines ("*** in database main ***", then one a page): one line.
            raise _Damaged("; ".join(line for p in problems for line in str(p).splitlines() if line.strip()))
        new = new or db.execute(_HAS_TABLE).fetchone() is None
        db.execute(_SCHEMA)
        db.execute("DELETE FROM delivered WHERE delivered_at < ?", (int(now()) - RETENTION_SECONDS,))
    except sqlite3.DatabaseError as err:
        db.close()
        if isinstance(err, sqlite3.OperationalError) and "locked" in str(err):
            raise LedgerError(f"cannot open the delivery ledger {path}: {err}") from None
        raise _Damaged(str(err)) from None
    return db, new


def _set_aside(path: Path, stamp: float) -> Path:
    """Rename a damaged ledger (and its -wal and -shm files) out of the way; return its new name."""
    suffix = time.strftime("%Y%m%dT%H%M%S", time.gmtime(stamp))
    aside = path.with_name(f"{path.name}.damaged-{suffix}")
    try:
        for extra in ("-wal", "-shm", ""):
            source = Path(f"{path}{extra}")
            if source.exists():
                os.replace(source, f"{aside}{extra}")
    except OSError as err:
        raise LedgerError(
            f"cannot set the damaged delivery ledger {path} aside: {err.strerror or err}"
        ) from None
    return aside
