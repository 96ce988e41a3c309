"""CSV and TSV records as `Row`s: the header, strict quoting, and each record's width and bytes checked.

- Header required. A file with no header at all (empty, or only blank lines) is an InputError; a header
  with no rows gives zero rows. Empty (or blank) and duplicate column names are an InputError. Names are
  kept exactly as written.
- Quoting is strict (text after a closing quote is an error row); a TSV is read with the same quoting rules
  as a CSV (Excel writes TSV that way).
- Lines end at `\\n`, `\\r\\n` or a lone `\\r` (old Mac files); the line numbers count them the same way.
- A stray quote (a quoted field that never closes, closes lines later with text after it, or runs past
  the cap) makes its first line an error row, and the lines it ran over are read again as records: one
  stray quote costs one row, and every line gets a status (`csv_rows`).
- The C csv parser also has a process-wide field limit (`csv.field_size_limit`, 128 KiB by default); it
  must be at least the cap, so `widen_field_limit` raises it to the cap when it is lower and never
  lowers it. That is the only global state touched: raising it only widens what csv accepts, and the
  records are bounded by this module's own check, not by that limit.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Generator, Iterator
from typing import Protocol

from snapcapi.errors import InputError
from snapcapi.model import Row
from snapcapi.read.lines import STREAM_ERRORS, LineState, describe, line_problem, size_text, skip_rest_of_line


class CsvReader(Protocol):
    """What `csv.reader` returns (the csv module does not export its type)."""

    @property
    def line_num(self) -> int: ...

    def __iter__(self) -> Iterator[list[str]]: ...

    def __next__(self) -> list[str]: ...


def readable(text: str) -> bool:
    """True when no line of `text` is an error row for its bytes (`line_problem`): no NUL, and no byte
    that is not UTF-8 (decoded with surrogateescape to a lone surrogate, which UTF-8 cannot encode)."""
    if "\0" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def csv_reader(lines: Iterator[str], delimiter: str) -> CsvReader:
    return csv.reader(
        lines, delimiter=delimiter, quotechar='"', doublequote=True, skipinitialspace=False, strict=True
    )


def widen_field_limit(cap: int) -> None:
    """Raise the csv module's field limit (process-wide) to `cap` if it is lower; never lower it."""
    if csv.field_size_limit() < cap:
        csv.field_size_limit(cap)


def csv_lines(readline: Callable[[int], str], state: LineState, cap: int) -> Iterator[str]:
    """Yield the physical lines for the csv parser, counting them and checking each one's bytes.

    A problem is noted in `state` instead of raised, and the line is still fed (or replaced by one with the
    same effect on quoting), so that the parser keeps the record boundaries right. The current record's
    lines are kept in `state.held`, and the lines `csv_rows` puts in `state.replay` are fed before the
    file's next one: it reads a record's lines again when it turns out to be no record (a stray quote).
    A quoted field still open at the end of the file, or past `cap`, is closed here, so that the parser
    ends the record, and `state.unclosed` says how it went wrong.
    """
    held, replay = state.held, state.replay
    while True:
        if replay:
            line = replay.pop()
            skipped = line in _SKIPPED  # an overlong line, skipped when first read: skipped again
        else:
            line = readline(cap)
            if not line:
                if not held:
                    return
                # The parser asked for more of a record: a quoted field is open at the end of the file.
                state.unclosed = "never closes"
                yield '"\n'
                continue
            skipped = len(line) >= cap and line[-1] != "\n"
            if skipped:
                # An odd number of quotes opened or closed a quoted field: feed one quote to do the same.
                line = _SKIPPED_ODD if skip_rest_of_line(readline, line, cap) % 2 else _SKIPPED_EVEN
        state.lines += 1
        held.append(line)
        if skipped:
            if state.problem is None:
                state.problem = f"line {state.lines}: longer than {size_text(cap)}; the record was skipped"
            line = line[:-1]  # '"\n' or '\n'
        elif (not line.isascii() or "\0" in line) and state.problem is None:
            state.problem = line_problem(line, state.lines)
        state.record += len(line)
        if state.record > cap:
            # Only a quoted field spans lines: this one never closed. Close it, so that the record ends.
            if state.unclosed is None:
                state.unclosed = f"is still open on line {state.lines}, after {size_text(cap)}"
            line = '"\n'
        yield line


# What `state.held` keeps of an overlong line, for when it is read again: whether its quotes opened or
# closed a quoted field, and a line end more than any physical line has (so that none is mistaken for one).
_SKIPPED_ODD = '"\n\n'
_SKIPPED_EVEN = "\n\n"
_SKIPPED = (_SKIPPED_ODD, _SKIPPED_EVEN)


def read_header(
    name: str, reader: Iterator[list[str]], state: LineState, preamble: list[str] | None = None
) -> list[str]:
    """Return the first non-blank record that is not a preamble line as the column names. Raises InputError
    if there is none, or if it cannot be read, or names a column twice (other than `REPEATABLE` ones) or
    not at all.

    A preamble line (`is_preamble`: Google's `Parameters:TimeZone=...`, a title in the first cell of an
    otherwise empty row) is skipped, and its first cell added to `preamble` when given.
    """
    skipped = 0
    while True:
        _next_record(state)
        start = state.lines + 1
        try:
            fields = next(reader)
        except StopIteration:
            raise InputError(f"{name}: empty file, no header row") from None
        except csv.Error as error:
            detail = state.problem or _csv_message(error, start, state.lines)
            raise InputError(f"{name}: the header row cannot be read: {detail}") from None
        except STREAM_ERRORS as error:
            raise InputError(f"{name}: {describe(error)}") from None
        if state.unclosed is not None:
            detail = _unclosed(start, state.unclosed)
            raise InputError(f"{name}: the header row cannot be read: {detail}")
        if state.problem is not None:
            hint = "; is it UTF-16 or binary? save it as UTF-8 text" if "NUL" in state.problem else ""
            raise InputError(f"{name}: the header row cannot be read: {state.problem}{hint}")
        if fields and skipped < _MAX_PREAMBLE and is_preamble(fields):
            skipped += 1
            if preamble is not None:
                preamble.append(fields[0])
            continue
        if fields:
            break
    _next_record(state)
    empty = [str(i) for i, column in enumerate(fields, 1) if not column.strip()]
    if len(empty) == 1:
        raise InputError(f"{name}: header column {empty[0]} has no name")
    if empty:
        raise InputError(f"{name}: header columns {', '.join(empty)} have no name")
    fields = _number_repeats(fields)
    if len(set(fields)) < len(fields):
        repeated = sorted({c for c in fields if fields.count(c) > 1})
        raise InputError(f"{name}: the header repeats column names: {', '.join(repeated)}")
    return fields


# Lines above a header that are not one: at most this many.
_MAX_PREAMBLE = 10
# Columns a header may repeat when it is Meta's offline events file (two of `_META_KEYS` in it), which
# has up to three `email` and `phone` columns. The second is named `email 2`, the third `email 3`.
REPEATABLE = frozenset({"email", "phone", "madid"})
_META_KEYS = frozenset({"fn", "ln", "ct", "st", "zip", "country", "gen", "doby", "event_name", "event_time"})


def is_preamble(fields: list[str]) -> bool:
    """True for a line above the header: Google's `Parameters:TimeZone=...`, or a title (a first cell with
    a space or a colon in it, and nothing else on the line)."""
    first = fields[0].strip()
    if first.lower().startswith("parameters:"):
        return True
    if len(fields) < 2 or any(f.strip() for f in fields[1:]):
        return False
    return bool(first) and (" " in first or ":" in first)


def _number_repeats(fields: list[str]) -> list[str]:
    keys = {column.strip().lower() for column in fields}
    if len(keys & _META_KEYS) < 2:  # not Meta's file: a repeated name is a mistake, refused
        return fields
    seen: dict[str, int] = {}
    out = []
    for column in fields:
        key = column.strip().lower()
        if key in REPEATABLE:
            seen[key] = seen.get(key, 0) + 1
            if seen[key] > 1:
                column = f"{column} {seen[key]}"
        out.append(column)
    return out


def csv_rows(
    name: str, reader: Iterator[list[str]], state: LineState, columns: list[str]
) -> Generator[Row, None, None]:
    """The records after the header as `Row`s; a record that cannot be read is an error row.

    A record that ends in an error after its first line (a quote that never closes, that closes with text
    after it, or that runs past the record limit) is no record but a stray quote: its first line is an
    error row, and the lines after it are read again as records of their own. So every line gets a status.
    """
    width = len(columns)
    _next_record(state)
    forget_lines = state.held.clear  # with `state.record = 0`, what a record read well needs to end
    start = state.lines + 1  # the line the next record starts on
    try:
        while True:
            try:
                for fields in reader:
                    if state.problem is not None or state.unclosed is not None:
                        error = state.problem if state.unclosed is None else _read_again(state, start)
                        _next_record(state)
                        yield Row(name, start, {}, error)
                    elif len(fields) == width:
                        yield Row(name, start, dict(zip(columns, fields, strict=False)))  # length checked
                    elif fields:  # [] is a blank line
                        yield Row(name, start, {}, width_message(start, len(fields), width))
                    state.record = 0
                    forget_lines()
                    start = state.lines + 1
                return
            except csv.Error as error:
                if len(state.held) > 1:
                    state.unclosed = _how(error, state.lines)
                    message = _read_again(state, start)
                else:
                    message = state.problem or _csv_message(error, start, state.lines)
                _next_record(state)
                yield Row(name, start, {}, message)
                start = state.lines + 1
    except STREAM_ERRORS as error:
        raise InputError(f"{name}: {describe(error)} after line {start - 1}") from None


def _next_record(state: LineState) -> None:
    state.record = 0
    state.problem = None
    state.unclosed = None
    state.held.clear()


def _read_again(state: LineState, start: int) -> str:
    """Put the lines of the record starting on line `start`, after its first, to be read again; return the
    error of its first line, which says how its quoted field went wrong (`state.unclosed`)."""
    assert state.unclosed is not None
    again = state.held[1:]
    end = start + len(again)
    state.replay.extend(reversed(again))
    state.lines = start
    return _unclosed(start, state.unclosed, end if again else None)


def _unclosed(start: int, how: str, end: int | None = None) -> str:
    """Say that line `start`'s quoted field went wrong `how`, and that lines up to `end` are read again."""
    text = f"line {start}: a quoted field opened on this line {how} (an unbalanced quote?)"
    if end is None:
        return text
    again = f"line {end}" if end == start + 1 else f"lines {start + 1}-{end}"
    return f"{text}; {again} read as rows of their own"


def _how(error: csv.Error, line: int) -> str:
    """How a record's quoted field went wrong, as `csv.reader` said it on line `line`."""
    text = str(error)
    if text.endswith("expected after '\"'"):
        return f"closes on line {line} with text after the quote"
    return f"goes wrong on line {line} ({text})"


def width_message(line: int, fields: int, width: int) -> str:
    return f"line {line}: {fields} fields, but the header has {width} columns"


def _csv_message(error: csv.Error, start: int, line: int) -> str:
    text = str(error)
    if text.endswith("expected after '\"'"):
        return f"line {line}: text after a closing quote; quote the whole field, doubling quotes inside it"
    if text.startswith("field larger than field limit"):
        return f"line {start}: a field is longer than {size_text(csv.field_size_limit())}"
    return f"line {line}: {text}"
