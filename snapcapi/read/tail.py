"""An input's bytes on their way to the text reader, and a file's last line held back while it is written.

`HeldTail` is the one Python layer between the bytes of an input (a file, standard input, a `GzipFile`)
and the text reader: every chunk the reader takes passes through it, so it does all there is to do in one
call. It gives back the bytes opening read ahead (the first few to tell gzip, then the sample to tell the
format), then the input's own.

A cron job that reads an export still being written reads its cut-off last line (no newline yet) as a
whole row: `1.0` sent for `15.50`, and the complete row skipped as "already delivered" by the next run.
For a plain file (`fd` given), `HeldTail` passes the bytes on up to the last newline it has seen; at the
end of the file, the bytes after the last newline (a line without its end) are passed on only if the file
did not change while it was read (size and modification time, as `fstat` saw them at the start): many
exports end without a newline, and a file that stands still is read whole, as before. When it did change,
that line is held back and `warnings` says so: a later run, reading the finished file, sends it.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Callable
from typing import Protocol

# A "line" without a newline longer than this is passed on as it comes: no half-written row is that long,
# and holding it would hold its memory (a line past the reader's record limit is skipped in slices).
_MAX_HELD = 64 * 1024


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class HeldTail(io.BufferedIOBase):
    """`head`, then `inner`'s bytes; the last unterminated line held back when the file `fd` changed
    meanwhile (no `fd`: nothing is held, as for standard input and the text of a gzip file).

    `inner` reads the file `fd` from its start. Reads may be short, as from a pipe. It never closes
    `inner`: a file is closed by whoever opened it, and standard input is left open.
    """

    def __init__(self, inner: _Readable, fd: int | None, name: str, head: bytes = b"") -> None:
        super().__init__()
        self.name = name
        self.warnings: list[str] = []
        self._inner = inner
        # read1 returns what is available instead of waiting for a full buffer: right for pipes.
        self._inner_read1: Callable[[int], bytes] = getattr(inner, "read1", inner.read)
        self._head = head  # bytes read ahead of `inner`, passed on as its own (and held back likewise)
        self._back = b""  # bytes read from here and given back (`give_back`), passed on as they are
        self._fd = fd
        self._start = self._stat()
        self._pending = b""  # bytes after the last newline passed on
        self._passed = 0  # bytes passed on, to name the line held back
        # Newlines passed on, counted as they pass only where the file cannot be read again to count
        # them when a line is held back (a named pipe): counting them all costs 5-7% of reading a file.
        self._lines: int | None = None if fd is None or _regular(fd) else 0
        self._ended = False

    def give_back(self, data: bytes) -> None:
        """Have `data`, just read from here, read again first (the sample that told the format)."""
        self._back = data + self._back

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        if size is None:
            size = -1
        if self._back:
            return self._take_back(size)
        if self._fd is None:
            return self._take_head(size) if self._head else self._inner.read(size)
        while not self._ended:
            chunk = self._take_head(size) if self._head else self._inner.read(size)
            if not chunk:
                self._end()
                break
            data = self._pending + chunk if self._pending else chunk
            cut = data.rfind(b"\n") + 1
            if cut == 0 and len(data) <= _MAX_HELD:
                self._pending = data  # no line ends here yet: read on
                continue
            if cut == 0:
                cut = len(data)
            self._pending = data[cut:]
            passed = data[:cut]
            self._passed += cut
            if self._lines is not None:
                self._lines += passed.count(b"\n")
            return passed
        passed, self._pending = self._pending, b""
        return passed

    def read1(self, size: int = -1, /) -> bytes:
        if self._back:
            return self._take_back(size)
        if self._fd is None:
            return self._take_head(size) if self._head else self._inner_read1(size)
        return self.read(size)

    def _take_back(self, size: int) -> bytes:
        part, self._back = _split(self._back, size)
        return part

    def _take_head(self, size: int) -> bytes:
        part, self._head = _split(self._head, size)
        return part

    def _end(self) -> None:
        self._ended = True
        if self._pending and self._stat() != self._start:
            line = self._line_held()
            which = f"line {line}" if line is not None else "its last line (the file shrank meanwhile)"
            self.warnings.append(
                f"{self.name}: {which} has no end yet and the file changed while it was read"
                " (it is still being written?): that line is left for a later run to send"
            )
            self._pending = b""

    def _line_held(self) -> int | None:
        """The number of the line held back: one more than the newlines passed on, which for a regular
        file are counted now, in what was read of it (the part a writer appending to it leaves alone).
        None when the file no longer holds all that was read of it (truncated or rewritten shorter)."""
        if self._lines is not None or self._fd is None:
            return (self._lines or 0) + 1
        lines = at = 0
        while at < self._passed:
            try:
                part = os.pread(self._fd, min(_MAX_HELD, self._passed - at), at)
            except OSError:
                return None
            if not part:
                return None
            lines += part.count(b"\n")
            at += len(part)
        return lines + 1

    def _stat(self) -> tuple[int, int]:
        if self._fd is None:
            return (0, 0)
        try:
            status = os.fstat(self._fd)
        except OSError:
            return (-1, -1)
        return (status.st_size, status.st_mtime_ns)


def _regular(fd: int) -> bool:
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        return False


def _split(data: bytes, size: int) -> tuple[bytes, bytes]:
    """The first `size` bytes of `data` (all of them when `size` is negative), and the rest."""
    if size < 0:
        return data, b""
    return data[:size], data[size:]
