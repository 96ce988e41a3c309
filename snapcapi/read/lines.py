"""Checks of one physical line, shared by the CSV and JSON Lines readers and the block splitter.

- Text is decoded with surrogateescape: bytes that are not UTF-8, and NUL bytes, make their record an error
  row (`line_problem`), not the file.
- Memory is bounded by a cap on one line: a longer line is skipped to its end (`skip_rest_of_line`).
- A read of compressed or piped input can fail mid-stream (`STREAM_ERRORS`); `describe` says why, for the
  InputError that ends the file.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable
from typing import Final

# What a read of compressed or piped input raises when the data is corrupt, truncated or unreadable.
STREAM_ERRORS: Final = (OSError, EOFError, zlib.error)


def describe(error: BaseException) -> str:
    """Say what a read of the byte stream ran into: one of `STREAM_ERRORS`."""
    if isinstance(error, EOFError):
        return "compressed data ends too early (a truncated file?)"
    if isinstance(error, gzip.BadGzipFile | zlib.error):
        return f"not valid gzip data ({error})"
    if isinstance(error, OSError) and error.strerror:
        return f"read error ({error.strerror})"
    return f"read error ({error})"


class LineState:
    """What the line feeder tells the record loop: lines read so far, the current record's size and the
    first problem found in its lines.

    For a CSV, also the current record's lines as read (`held`), how its quoted field went wrong when it
    ran past the record limit (`unclosed`), and the lines to read again before the file's next one
    (`replay`, last first): those of a record that turned out to be none.
    """

    __slots__ = ("held", "lines", "problem", "record", "replay", "unclosed")

    def __init__(self) -> None:
        self.lines = 0
        self.record = 0
        self.problem: str | None = None
        self.held: list[str] = []
        self.replay: list[str] = []
        self.unclosed: str | None = None


def line_problem(line: str, line_no: int) -> str | None:
    """Return why a line's bytes are unusable (not UTF-8, or a NUL byte), or None when they are fine."""
    try:
        line.encode("utf-8")
    except UnicodeEncodeError as error:
        # surrogateescape decoded each bad byte to U+DC80..U+DCFF: the byte is that minus 0xDC00.
        byte = ord(line[error.start]) - 0xDC00
        return (
            f"line {line_no}: not valid UTF-8 (byte 0x{byte:02x} at column {error.start + 1});"
            " save the file as UTF-8"
        )
    if "\0" in line:
        return f"line {line_no}: contains a NUL byte (column {line.index(chr(0)) + 1})"
    return None


def skip_rest_of_line(readline: Callable[[int], str], line: str, cap: int) -> int:
    """Read and drop the rest of an overlong line, at most `cap` characters at a time.

    Returns the number of `"` the whole line had.
    """
    quotes = line.count('"')
    # A chunk ending in \r at the size limit may be the first half of \r\n: read on to be sure.
    while line and line[-1] != "\n" and not (line[-1] == "\r" and len(line) < cap):
        line = readline(cap)
        quotes += line.count('"')
    return quotes


def size_text(chars: int) -> str:
    if chars >= 1024 * 1024 and chars % (1024 * 1024) == 0:
        return f"{chars // (1024 * 1024)} MiB"
    return f"{chars} characters"
