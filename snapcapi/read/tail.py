"""A file's last line, held back while the file is still being written.

A cron job that reads an export still being written reads its cut-off last line (no newline yet) as a
whole row: `1.0` sent for `15.50`, and the complete row skipped as "already delivered" by the next run.
`HeldTail` passes a plain file's bytes on up to the last newline it has seen; at the end of the file, the
bytes after the last newline (a line without its end) are passed on only if the file did not change while
it was read (size and modification time, as `fstat` saw them at the start): many exports end without a
newline, and a file that stands still is read whole, as before. When it did change, that line is held back
and `warnings` says so: a later run, reading the finished file, sends it.
"""

from __future__ import annotations

import io
import os
from typing import Protocol

# A "line" without a newline longer than this is passed on as it comes: no half-written row is that long,
# and holding it would hold its memory (a line past the reader's record limit is skipped in slices).
_MAX_HELD = 64 * 1024


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class HeldTail(io.BufferedIOBase):
    """`inner`'s bytes, the last unterminated line held back when the file `fd` changed meanwhile."""

    def __init__(self, inner: _Readable, fd: int, name: str) -> None:
        super().__init__()
        self.name = name
        self.warnings: list[str] = []
        self._inner = inner
        self._fd = fd
        self._start = self._stat()
        self._pending = b""  # bytes after the last newline passed on
        self._lines = 0  # newlines passed on, to name the line held back
        self._ended = False

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        while not self._ended:
            chunk = self._inner.read(-1 if size is None else size)
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
            self._lines += passed.count(b"\n")
            return passed
        passed, self._pending = self._pending, b""
        return passed

    def read1(self, size: int = -1, /) -> bytes:
        return self.read(size)

    def _end(self) -> None:
        self._ended = True
        if self._pending and self._stat() != self._start:
            self.warnings.append(
                f"{self.name}: line {self._lines + 1} has no end yet and the file changed while it was read"
                " (it is still being written?): that line is left for a later run to send"
            )
            self._pending = b""

    def _stat(self) -> tuple[int, int]:
        try:
            status = os.fstat(self._fd)
        except OSError:
            return (-1, -1)
        return (status.st_size, status.st_mtime_ns)
