"""Write a file atomically, readable by its owner only (0600): readers see the old file or the whole new one.

Output files (reports, rejects) hold personal data and are read by users' scripts, so a crash must never
leave one half-written, and other users on the machine must not read them:

    with atomic_writer(Path("report.jsonl")) as out:   # a text file in the destination's directory
        out.write(...)                                  # on success: flushed, synced, renamed into place

`AtomicFile` is the same for a file kept open across calls (commit or discard it explicitly).
The temporary file is a hidden `.NAME.XXXXXXXX.tmp` next to the destination (a rename is only atomic within
one file system); a process killed before the commit can leave it behind, never a torn destination, and the
next writer of the same destination removes it (a temporary file is locked while it is written, so one
that is still being written is never taken for a leftover).

Decisions:
- A destination that is a symbolic link is followed: the file it points to is replaced, the link stays.
- A destination that is not a regular file (a pipe, `/dev/stdout`, a terminal) cannot be replaced, and
  must not be: renaming over `/dev/stdout` as root would replace the system's link. It is written directly,
  as a stream, and its mode is left alone.
- The path `-` is standard output (`sys.stdout`, flushed at the end, never closed).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import TextIO

MODE = 0o600
STDOUT = "-"  # the path that means standard output, as `-` means standard input for an input file


class AtomicFile:
    """A text file written under a temporary name, moved over `path` by `commit()`.

    Raises OSError at construction when the directory cannot take a new file (missing, not writable), or
    when `path` is a directory: before anything is written, so a run can fail early.
    """

    def __init__(self, path: str | os.PathLike[str], *, newline: str = "", errors: str = "strict") -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise IsADirectoryError(21, "Is a directory", str(self.path))
        self._done = False
        self._temp: Path | None = None
        self._lock: int | None = None  # a descriptor of the temporary file, holding its lock
        self._stdout = str(path) == STDOUT
        if self._stdout:
            self._target = self.path
            self.file: TextIO = sys.stdout  # flushed, never closed: the process goes on writing to it
            return
        # newline="" by default: csv writes its own line endings, JSON Lines are written with "\n".
        if is_stream(self.path):
            self._target = self.path
            # Appending: `--report /dev/stdout > out.txt` must not truncate what else went to standard output.
            self.file = open(  # noqa: SIM115  (closed by commit or discard)
                self.path, "a", encoding="utf-8", newline=newline, errors=errors
            )
            return
        self._target = Path(os.path.realpath(self.path))
        # mkstemp opens with O_EXCL and mode 0600; fchmod makes sure of it whatever the platform does.
        fd, temp = tempfile.mkstemp(dir=self._target.parent, prefix=f".{self._target.name}.", suffix=".tmp")
        self._temp = Path(temp)
        try:
            os.fchmod(fd, MODE)
            # Locked while it is written (a lock of its own, held until the rename): a later run removes
            # the temporary files of runs that died (killed), never one still being written.
            self._lock = os.open(temp, os.O_RDONLY)
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.file = open(fd, "w", encoding="utf-8", newline=newline, errors=errors)  # noqa: SIM115
        except BaseException:
            os.close(fd)
            self._unlock()
            self._temp.unlink(missing_ok=True)
            raise
        remove_leftovers(self._target, keep=self._temp)

    @property
    def temporary(self) -> Path | None:
        """The hidden file being written, until `commit()` moves it into place; None for a stream."""
        return self._temp

    def commit(self) -> None:
        """Flush and sync the file, then rename it over `path`. Does nothing once committed or discarded.

        Raises OSError when the data cannot be written (disk full) or moved; the temporary file is then
        removed and `path` is left as it was.
        """
        if self._done:
            return
        self._done = True
        if self._stdout:
            self.file.flush()
            return
        if self._temp is None:
            self.file.close()  # a stream: what was written is gone already
            return
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            os.replace(self._temp, self._target)
        except BaseException:
            self._abandon()
            raise
        self._unlock()
        _sync_directory(self._target.parent)

    def discard(self) -> None:
        """Drop what was written; `path` is left as it was (a stream keeps what it was sent). Does nothing
        once committed or discarded."""
        if self._done:
            return
        self._done = True
        self._abandon()

    def _abandon(self) -> None:
        with contextlib.suppress(OSError):
            if self._stdout:
                self.file.flush()
            else:
                self.file.close()
        if self._temp is not None:
            self._temp.unlink(missing_ok=True)
        self._unlock()

    def _unlock(self) -> None:
        if self._lock is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock)
            self._lock = None

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


@contextlib.contextmanager
def atomic_writer(
    path: str | os.PathLike[str], *, newline: str = "", errors: str = "strict"
) -> Iterator[TextIO]:
    """Yield a UTF-8 text file that replaces `path` (mode 0600) when the block ends without an exception.

    On an exception the file is dropped and `path` is left as it was. Raises OSError when the file cannot
    be created, written or moved into place.
    """
    with AtomicFile(path, newline=newline, errors=errors) as atomic:
        yield atomic.file


def remove_leftovers(target: Path, *, keep: Path | None = None) -> list[Path]:
    """Remove the temporary files (`.NAME.XXXXXXXX.tmp`) that runs killed while writing `target` left
    behind, and return them. A file still locked by the run writing it is left alone."""
    prefix, removed = f".{target.name}.", list[Path]()
    try:
        names = os.listdir(target.parent)
    except OSError:
        return removed
    for name in names:
        middle = name[len(prefix) : -len(".tmp")]
        if not (name.startswith(prefix) and name.endswith(".tmp")) or len(middle) != 8 or "." in middle:
            continue
        path = target.parent / name
        if path == keep:
            continue
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # taken only when its writer is gone
            path.unlink()
            removed.append(path)
        except OSError:
            continue
        finally:
            os.close(fd)
    return removed


def _sync_directory(directory: Path) -> None:
    # The rename is durable only once the directory entry is on disk; not every platform can open a directory.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def is_stream(path: Path) -> bool:
    """True when `path` exists and is not a file to replace: a pipe, a device, a socket, or anything under
    /dev or /proc (`/dev/stdout` is a link to whatever standard output is, a regular file included)."""
    try:
        mode = path.stat().st_mode  # follows links
    except OSError:
        return False
    if stat.S_ISDIR(mode):
        return False
    return not stat.S_ISREG(mode) or str(path.absolute()).startswith(("/dev/", "/proc/"))
