"""Runs of whole records as text (`Block`s), cut by the reading process and parsed in another (`Layout`).

Source.pieces(...) -> Iterator[Block | Row]     runs of whole records, and the irregular records as Rows
Layout.records(block) / .rows(block)            parse a block: the same rows `Source.rows()` gives there
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, Final

from snapcapi.errors import InputError
from snapcapi.model import Row
from snapcapi.read.csv import csv_lines, csv_reader, csv_rows, readable, widen_field_limit, width_message
from snapcapi.read.jsonl import jsonl_rows
from snapcapi.read.lines import STREAM_ERRORS, LineState, describe


@dataclass(frozen=True, slots=True)
class Block:
    """Whole records of a file as its text, read by `Source.pieces` and parsed elsewhere by `Layout.rows`.

    `line` is the line the text starts on; `records` how many records it holds (blank lines are none).
    """

    line: int
    text: str
    records: int


@dataclass(frozen=True, slots=True)
class Layout:
    """How to parse a `Block` of one file: what opening it learned (plain values, cheap to pickle)."""

    name: str
    delimiter: str | None  # None for JSON Lines
    columns: tuple[str, ...] | None  # None for JSON Lines
    cap: int  # max_record_chars

    def rows(self, block: Block) -> list[Row]:
        """Return the block's rows: the same rows, line numbers and errors `Source.rows()` gives there."""
        return self.rows_of(self.records(block))

    def rows_of(self, records: Iterable[Record]) -> list[Row]:
        """Return the rows of the records `records` gave (`Row`s, their CSV fields by column name)."""
        columns, name = self.columns, self.name
        if columns is None:
            return [Row(name, line, data, error) for line, data, error in records]
        return [
            Row(name, line, {} if error is not None else dict(zip(columns, data, strict=True)), error)
            for line, data, error in records
        ]

    def records(self, block: Block) -> Iterator[Record]:
        """Return the block's records as (line, data, error), lighter than `rows`: `data` is the row's
        JSON object, or its CSV fields in column order (a list, not a dict); empty when `error` is set."""
        state = LineState()
        state.lines = block.line - 1
        readline = io.StringIO(block.text, newline="").readline
        delimiter, columns = self.delimiter, self.columns
        if delimiter is None or columns is None:
            rows = jsonl_rows(self.name, readline, state, self.cap)
            return ((row.line, row.data, row.error) for row in rows)
        widen_field_limit(self.cap)  # this may be another process than the one that opened the file
        if readable(block.text):
            return _plain_csv_records(block, delimiter, len(columns))
        reader = csv_reader(csv_lines(readline, state, self.cap), delimiter)
        parsed = csv_rows(self.name, reader, state, list(columns))
        return ((row.line, list(row.data.values()), row.error) for row in parsed)


def _plain_csv_records(block: Block, delimiter: str, width: int) -> Iterator[Record]:
    """`Layout.records` of a CSV block without NUL or undecodable bytes: the line checks of `csv_lines`
    have nothing to find in it, and each of its records is one line (that is how blocks are cut)."""
    before = block.line - 1
    reader = csv_reader(io.StringIO(block.text, newline=""), delimiter)
    for fields in reader:
        if len(fields) == width:
            yield before + reader.line_num, fields, None
        elif fields:  # [] is a blank line
            line = before + reader.line_num
            yield line, [], width_message(line, len(fields), width)


# A record of a block: (line, data, error). See `Layout.records`.
Record = tuple[int, Any, str | None]


class Feed:
    """The lines after the header, as `readline(size)`: those of the file, after one given `back`."""

    __slots__ = ("back", "next_line")

    def __init__(self, readline: Callable[[int], str]) -> None:
        self.next_line = readline  # the file's own, never giving back
        self.back: str | None = None

    def readline(self, size: int) -> str:
        if self.back is not None:
            line, self.back = self.back, None
            return line
        return self.next_line(size)


class Splitter:
    """Cuts a file's lines into `Block`s, only where a record certainly ends: after a line that is a
    whole record by itself. Any other line goes back to the parser here (`records`), which reads the
    record it starts, however many lines that takes; the next record starts a line again.

    A line is a whole record when it is shorter than the cap and, in a CSV, its quotes (if any) only
    open and close fields on that line: a record that the parser ends at this line's end, without error.
    """

    def __init__(self, layout: Layout, feed: Feed, state: LineState) -> None:
        self.layout = layout
        self._feed = feed
        self._state = state
        self._whole: Callable[[str], object] = bool  # a JSON line is a record, whatever it holds
        if layout.delimiter is not None:
            d = re.escape(layout.delimiter)
            field = f'(?:"(?:[^"\\r\\n]|"")*"|[^"{d}\\r\\n]*)'
            self._whole = re.compile(f"{field}(?:{d}{field})*(?:\\r\\n|\\n|\\r)?").fullmatch

    def pieces(
        self, records: Iterator[Row], max_records: int, max_chars: int, limit: int | None
    ) -> Iterator[Block | Row]:
        state, feed, cap, whole = self._state, self._feed, self.layout.cap, self._whole
        jsonl = self.layout.delimiter is None
        left = sys.maxsize if limit is None else limit  # records still to read
        lines: list[str] = []
        start = chars = count = 0
        try:
            while left > 0 and (line := feed.next_line(cap)):
                if (len(line) < cap or line[-1] == "\n") and ('"' not in line or whole(line)):
                    state.lines += 1
                    if not lines:
                        start = state.lines
                    lines.append(line)
                    chars += len(line)
                    # A blank line is no record. Only a CSV line of two characters or fewer can be one:
                    # testing the length first spares hashing every line for the set lookup.
                    if not (line.isspace() if jsonl else len(line) <= 2 and line in _LINE_ENDS):
                        count += 1
                        left -= 1
                        if count >= max_records or chars >= max_chars or not left:
                            yield Block(start, "".join(lines), count)
                            lines, chars, count = [], 0, 0
                    continue
                if count:
                    yield Block(start, "".join(lines), count)
                lines, chars, count = [], 0, 0
                feed.back = line  # the parser here reads the record this line starts
                row = next(records, None)
                while row is not None:
                    left -= 1
                    yield row
                    # A stray quote's lines, to read again (`csv_rows`): the parser here reads them.
                    row = next(records, None) if state.replay and left > 0 else None
        except STREAM_ERRORS as error:
            if count:
                yield Block(start, "".join(lines), count)
            raise InputError(f"{self.layout.name}: {describe(error)} after line {state.lines}") from None
        if count:
            yield Block(start, "".join(lines), count)


# What the csv parser reads as a blank line: no record.
_LINE_ENDS: Final = frozenset({"\n", "\r\n", "\r"})


class FilePosition:
    """How much of an input file was read: its `size` in bytes (None when unknown: standard input, a pipe)
    and `bytes_read()`, for a progress line. A gzip file counts in compressed bytes: the file's own."""

    def __init__(self, file: BinaryIO | None) -> None:
        self._file = file
        self.size: int | None = None
        if file is not None:
            with contextlib.suppress(OSError, ValueError):
                info = os.fstat(file.fileno())
                self.size = info.st_size if stat.S_ISREG(info.st_mode) else None

    def bytes_read(self) -> int:
        """Bytes of the file read so far; 0 when unknown."""
        if self._file is None:
            return 0
        try:
            return self._file.tell()
        except (OSError, ValueError):  # closed once read to the end
            return self.size or 0
