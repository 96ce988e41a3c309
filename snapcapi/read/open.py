"""Input files as a stream of `Row`s: CSV, TSV and JSON Lines, each optionally gzip-compressed.

    open_source(SourceSpec("events.csv.gz")) -> Source   opens the file and reads its header, or InputError
    Source.rows() -> Iterator[Row]                        one Row per record, read as it is needed
    Source.pieces(...) -> Iterator[Block | Row]           or: runs of whole records as text, for another
    Source.layout.records(block) / .rows(block)           process to parse, and the rest as Rows

A file that cannot be read as a whole raises `InputError` (at open, or mid-stream for a compressed file that
turns out corrupt: the message names the last line read). A record that cannot be read is a `Row` with
`error` set ("line 7: not valid UTF-8 ...") and empty `data`, and reading goes on with the next record.

Decisions:
- Format: `SourceSpec.format` first, then the extension (after `.gz`): `.csv`; `.tsv`, `.tab`; `.jsonl`,
  `.ndjson`, `.json`. Otherwise the content decides: a first non-blank byte `{` is JSON Lines, anything else
  CSV. A JSON array, or one JSON document pretty-printed over several lines, is not JSON Lines: InputError.
- Compression is told by the gzip magic bytes, never by the name: `x.csv.gz` that is plain text is read as
  plain text, and gzip on standard input is decompressed. UTF-16, zip, bzip2, xz and zstd content are
  refused with a message saying what to do.
- Text is UTF-8, a BOM is dropped. Bytes that are not UTF-8, and NUL bytes, make their record an error row,
  not the file; in the header they are an InputError (columns can't be named from undecodable bytes).
- Lines end at `\\n`, `\\r\\n` or a lone `\\r` (old Mac files); the line numbers count them the same way.
- CSV: header required. A file with no header at all (empty, or only blank lines) is an InputError; a
  header with no rows gives zero rows. Empty (or blank) and duplicate column names are an InputError.
  Names are kept exactly as written. Quoting is strict (text after a closing quote is an error row); a
  TSV is read with the same quoting rules as a CSV (Excel writes TSV that way).
- JSON Lines: an empty file gives zero rows (there is no header to miss). NaN and Infinity are not JSON;
  unpaired `\\ud800`-style escapes are refused, since they cannot be written out again as UTF-8.
- Memory is bounded by `max_record_chars` (8 MiB by default): a longer line is skipped to its end, a
  record whose quoted field runs past it is cut there (an unbalanced quote), both as error rows.
  The C csv parser also has a process-wide field limit (`csv.field_size_limit`, 128 KiB by default); it
  must be at least that bound, so `open_source` raises it to `max_record_chars` when it is lower and never
  lowers it. That is the only global state touched: raising it only widens what csv accepts, and the
  records are bounded by this module's own check, not by that limit.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import re
import sys
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from types import TracebackType
from typing import Any, BinaryIO, Final, Protocol

from snapcapi.errors import ConfigError, InputError
from snapcapi.model import Row

MAX_RECORD_CHARS: Final = 8 * 1024 * 1024
FORMATS: Final = ("csv", "tsv", "jsonl")

_SAMPLE_BYTES: Final = 64 * 1024  # read ahead to tell the format and delimiter
_SNIFF_CHARS: Final = 8 * 1024  # csv.Sniffer's regexes are quadratic on hostile text: keep its sample small
_DELIMITERS: Final = ",;|\t"
EXTENSIONS: Final = {  # file name endings and the formats they stand for (rejects.py reads it too)
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
_GZIP_MAGIC: Final = b"\x1f\x8b"
_UTF8_BOM: Final = b"\xef\xbb\xbf"
_REFUSED_MAGIC: Final = (
    (b"\xff\xfe", "is UTF-16 text; save it as UTF-8"),
    (b"\xfe\xff", "is UTF-16 text; save it as UTF-8"),
    (b"PK\x03\x04", "is a zip archive; unzip it first"),
    (b"\xfd7zXZ\x00", "is xz-compressed; decompress it first (or use gzip)"),
    (b"\x28\xb5\x2f\xfd", "is zstd-compressed; decompress it first (or use gzip)"),
)
# What a read of compressed or piped input raises when the data is corrupt, truncated or unreadable.
_STREAM_ERRORS: Final = (OSError, EOFError, zlib.error)


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """An input as the user named it: a path or `-` (standard input), and optional format and delimiter."""

    path: str
    format: str | None = None
    delimiter: str | None = None


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
        state = _LineState()
        state.lines = block.line - 1
        readline = io.StringIO(block.text, newline="").readline
        delimiter, columns = self.delimiter, self.columns
        if delimiter is None or columns is None:
            rows = _jsonl_rows(self.name, readline, state, self.cap)
            return ((row.line, row.data, row.error) for row in rows)
        _widen_field_limit(self.cap)  # this may be another process than the one that opened the file
        if _readable(block.text):
            return _plain_csv_records(block, delimiter, len(columns))
        reader = _csv_reader(_csv_lines(readline, state, self.cap), delimiter)
        csv_rows = _csv_rows(self.name, reader, state, list(columns))
        return ((row.line, list(row.data.values()), row.error) for row in csv_rows)


def _plain_csv_records(block: Block, delimiter: str, width: int) -> Iterator[Record]:
    """`Layout.records` of a CSV block without NUL or undecodable bytes: the line checks of `_csv_lines`
    have nothing to find in it, and each of its records is one line (that is how blocks are cut)."""
    before = block.line - 1
    reader = _csv_reader(io.StringIO(block.text, newline=""), delimiter)
    for fields in reader:
        if len(fields) == width:
            yield before + reader.line_num, fields, None
        elif fields:  # [] is a blank line
            line = before + reader.line_num
            yield line, [], _width_message(line, len(fields), width)


# A record of a block: (line, data, error). See `Layout.records`.
Record = tuple[int, Any, str | None]


class Source:
    """An opened input: its name, format and columns, and its rows. Close it, or use it in a `with`."""

    def __init__(
        self,
        name: str,
        format: str,
        delimiter: str | None,
        columns: list[str] | None,
        records: Iterator[Row],
        stack: ExitStack,
        splitter: _Splitter | None = None,
    ) -> None:
        self.name = name  # as shown to users: the path as given, or "<stdin>"
        self.format = format
        self.delimiter = delimiter
        self.columns = columns
        self._records = records
        self._stack = stack
        self._splitter = splitter
        self._started = False

    def rows(self) -> Iterator[Row]:
        """Return the rows, read lazily. Iterate them once.

        Raises InputError (while iterating) when compressed data turns out corrupt or a read fails, and
        RuntimeError when called a second time.
        """
        self._start("rows")
        return self._records

    @property
    def layout(self) -> Layout | None:
        """How `pieces()` blocks are parsed (None for a source that yields no blocks, only rows)."""
        return None if self._splitter is None else self._splitter.layout

    def pieces(self, max_records: int, max_chars: int, limit: int | None = None) -> Iterator[Block | Row]:
        """Return the records, at most `limit` of them, read lazily: as blocks of text for `layout.rows`
        to parse (in a worker process), each at most `max_records` records and about `max_chars`
        characters, and as `Row`s parsed here where the text is irregular (a quoted field over several
        lines, an overlong line).

        Parsing the blocks and taking the rows, in order, gives exactly the rows `rows()` gives. Iterate
        either `rows()` or `pieces()`, once. Raises as `rows()` does.
        """
        self._start("pieces")
        if self._splitter is None:
            return itertools.islice(self._records, limit)
        return self._splitter.pieces(self._records, max_records, max_chars, limit)

    def _start(self, what: str) -> None:
        if self._started:
            raise RuntimeError(f"{self.name}: rows() or pieces() can be iterated only once, not {what}()")
        self._started = True

    def close(self) -> None:
        """Close the file (standard input is left open). Calling it again does nothing."""
        self._stack.close()

    def __enter__(self) -> Source:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Source({self.name!r}, format={self.format!r}, delimiter={self.delimiter!r})"


def open_source(
    spec: SourceSpec, stdin: BinaryIO | None = None, *, max_record_chars: int = MAX_RECORD_CHARS
) -> Source:
    """Open `spec` and read its header now, so that every input is checked before anything is sent.

    `stdin` is read for the path `-` (default: `sys.stdin.buffer`); it is never closed. `max_record_chars`
    bounds one line, and one CSV record, in memory (tests make it small). Returns the opened `Source`.
    Raises InputError when the file cannot be opened or read as a whole (missing, a directory,
    not permitted, corrupt compression, no usable header), and ConfigError for an unknown format or a
    delimiter that is not one character.
    """
    fmt = _check_format(spec.format)
    delimiter = _check_delimiter(spec.delimiter)
    name = "<stdin>" if spec.path == "-" else spec.path
    stack = ExitStack()
    try:
        if spec.path == "-":
            raw: _Readable = stdin if stdin is not None else sys.stdin.buffer
        else:
            file = _open_file(spec.path)
            stack.callback(file.close)
            raw = file
        try:
            head = _read_up_to(raw, 4)
            prefixed = _Prefixed(head, raw, name)
            stream: _Readable = prefixed
            if head.startswith(_GZIP_MAGIC):
                compressed = gzip.GzipFile(fileobj=prefixed, mode="rb")
                stack.callback(compressed.close)
                stream = compressed
            sample = _read_up_to(stream, _SAMPLE_BYTES)
        except _STREAM_ERRORS as error:
            raise InputError(f"{name}: {_describe(error)}") from None
        refusal = _refusal(sample)
        if refusal is not None:
            raise InputError(f"{name} {refusal}")
        sample = sample.removeprefix(_UTF8_BOM)
        fmt = fmt or _detect_format(name, spec.path, sample)
        if fmt == "jsonl" and sample.lstrip().split(b"\n", 1)[0].strip() in (b"{", b"["):
            # Else a pretty-printed document gives one "not valid JSON" row per line of it.
            raise InputError(
                f"{name} is one JSON document over several lines, not JSON Lines (one object a line)"
            )
        text = io.TextIOWrapper(
            _Prefixed(sample, stream, name),
            encoding="utf-8",
            # Undecodable bytes become lone surrogates, found per line: one bad row, not a dead file.
            errors="surrogateescape",
            newline="",
        )
        stack.callback(text.close)
        columns: list[str] | None = None
        state = _LineState()
        feed = _Feed(text.readline)
        if fmt == "jsonl":
            delimiter = None
            records = _jsonl_rows(name, feed.readline, state, max_record_chars)
        else:
            if delimiter is None:
                delimiter = "\t" if fmt == "tsv" else _sniff_delimiter(sample)
            _widen_field_limit(max_record_chars)
            reader = _csv_reader(_csv_lines(feed.readline, state, max_record_chars), delimiter)
            columns = _read_header(name, reader, state)
            records = _csv_rows(name, reader, state, columns)
        stack.callback(records.close)
        layout = Layout(name, delimiter, None if columns is None else tuple(columns), max_record_chars)
        splitter = _Splitter(layout, feed, state)
        return Source(name, fmt, delimiter, columns, records, stack, splitter)
    except BaseException:
        stack.close()
        raise


# -- opening ----------------------------------------------------------------------------------------------


def _check_format(fmt: str | None) -> str | None:
    if fmt is None:
        return None
    folded = {"ndjson": "jsonl", "json": "jsonl"}.get(fmt.lower(), fmt.lower())
    if folded not in FORMATS:
        raise ConfigError(f"format {fmt!r}: expected csv, tsv or jsonl")
    return folded


def _check_delimiter(delimiter: str | None) -> str | None:
    if delimiter is None:
        return None
    delimiter = {"\\t": "\t", "tab": "\t"}.get(delimiter.lower(), delimiter)
    if len(delimiter) != 1 or delimiter in '"\r\n\0':
        raise ConfigError(f"delimiter {delimiter!r}: expected one character other than a quote or a newline")
    return delimiter


def _open_file(path: str) -> BinaryIO:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as error:
        raise InputError(f"{path}: cannot be opened ({error.strerror or error})") from None


def _read_up_to(stream: _Readable, size: int) -> bytes:
    """Read `size` bytes, fewer only at the end: pipes and gzip hand out short reads."""
    parts: list[bytes] = []
    while size > 0:
        part = stream.read(size)
        if not part:
            break
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def _describe(error: BaseException) -> str:
    """Say what a read of the byte stream ran into: one of `_STREAM_ERRORS`."""
    if isinstance(error, EOFError):
        return "compressed data ends too early (a truncated file?)"
    if isinstance(error, gzip.BadGzipFile | zlib.error):
        return f"not valid gzip data ({error})"
    if isinstance(error, OSError) and error.strerror:
        return f"read error ({error.strerror})"
    return f"read error ({error})"


def _refusal(sample: bytes) -> str | None:
    """Say why content that is not UTF-8 text (UTF-16, an archive) cannot be read, or return None."""
    for magic, message in _REFUSED_MAGIC:
        if sample.startswith(magic):
            return message
    # "BZh" may begin a CSV header: bzip2 also has its block magic after the level digit.
    if sample.startswith(b"BZh") and sample[4:10] == b"1AY&SY":
        return "is bzip2-compressed; decompress it first (or use gzip)"
    return None


def _detect_format(name: str, path: str, sample: bytes) -> str:
    lowered = path.lower().removesuffix(".gz")
    for extension, fmt in EXTENSIONS.items():
        if lowered.endswith(extension):
            if extension == ".json" and sample.lstrip().startswith(b"["):
                raise InputError(f"{name} is a JSON array, not JSON Lines (one object a line)")
            return fmt
    return "jsonl" if sample.lstrip().startswith(b"{") else "csv"


def _sniff_delimiter(sample: bytes) -> str:
    """Return the delimiter csv.Sniffer finds among `,;|<tab>`, checked against the header line."""
    text = sample[:_SNIFF_CHARS].decode("utf-8", "replace")
    end = max(text.rfind("\n"), text.rfind("\r"))
    if end > 0:
        text = text[:end]
    try:
        found = csv.Sniffer().sniff(text, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        found = ""
    header = text.splitlines()[0] if text else ""
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    # A one-column file defeats the sniffer, and it can pick a character the header does not even contain.
    if found not in counts or (counts[found] == 0 and counts[best] > 0):
        return best if counts[best] > 0 else ","
    return found


class _CsvReader(Protocol):
    """What `csv.reader` returns (the csv module does not export its type)."""

    @property
    def line_num(self) -> int: ...

    def __iter__(self) -> Iterator[list[str]]: ...

    def __next__(self) -> list[str]: ...


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class _Prefixed(io.BufferedIOBase):
    """A binary stream giving back bytes already read (to sniff them), then the rest of `inner`.

    Reads may be short, as from a pipe. It never closes `inner`: a file is closed by whoever opened it,
    and standard input is left open.
    """

    def __init__(self, prefix: bytes, inner: _Readable, name: str) -> None:
        super().__init__()
        self.name = name
        self._prefix = prefix
        self._inner = inner
        # read1 returns what is available instead of waiting for a full buffer: right for pipes.
        self._inner_read1: Callable[[int], bytes] = getattr(inner, "read1", inner.read)

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        if self._prefix:
            return self._take(size)
        return self._inner.read(-1 if size is None else size)

    def read1(self, size: int = -1, /) -> bytes:
        if self._prefix:
            return self._take(size)
        return self._inner_read1(size)

    def _take(self, size: int | None) -> bytes:
        if size is None or size < 0:
            size = len(self._prefix)
        part, self._prefix = self._prefix[:size], self._prefix[size:]
        return part


# -- blocks -----------------------------------------------------------------------------------------------


class _Feed:
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


class _Splitter:
    """Cuts a file's lines into `Block`s, only where a record certainly ends: after a line that is a
    whole record by itself. Any other line goes back to the parser here (`records`), which reads the
    record it starts, however many lines that takes; the next record starts a line again.

    A line is a whole record when it is shorter than the cap and, in a CSV, its quotes (if any) only
    open and close fields on that line: a record that the parser ends at this line's end, without error.
    """

    def __init__(self, layout: Layout, feed: _Feed, state: _LineState) -> None:
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
                if row is not None:
                    left -= 1
                    yield row
        except _STREAM_ERRORS as error:
            if count:
                yield Block(start, "".join(lines), count)
            raise InputError(f"{self.layout.name}: {_describe(error)} after line {state.lines}") from None
        if count:
            yield Block(start, "".join(lines), count)


# What the csv parser reads as a blank line: no record.
_LINE_ENDS: Final = frozenset({"\n", "\r\n", "\r"})


# -- CSV --------------------------------------------------------------------------------------------------


def _readable(text: str) -> bool:
    """True when no line of `text` is an error row for its bytes (`_line_problem`): no NUL, and no byte
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


def _csv_reader(lines: Iterator[str], delimiter: str) -> _CsvReader:
    return csv.reader(
        lines, delimiter=delimiter, quotechar='"', doublequote=True, skipinitialspace=False, strict=True
    )


def _widen_field_limit(cap: int) -> None:
    """Raise the csv module's field limit (process-wide) to `cap` if it is lower; never lower it."""
    if csv.field_size_limit() < cap:
        csv.field_size_limit(cap)


class _LineState:
    """What the line feeder tells the record loop: lines read so far, the current record's size and the
    first problem found in its lines."""

    __slots__ = ("lines", "problem", "record")

    def __init__(self) -> None:
        self.lines = 0
        self.record = 0
        self.problem: str | None = None


def _csv_lines(readline: Callable[[int], str], state: _LineState, cap: int) -> Iterator[str]:
    """Yield the physical lines for the csv parser, counting them and checking each one's bytes.

    A problem is noted in `state` instead of raised, and the line is still fed (or replaced by one with the
    same effect on quoting), so that the parser keeps the record boundaries right.
    """
    while line := readline(cap):
        state.lines += 1
        if len(line) >= cap and line[-1] != "\n":
            quotes = _skip_rest_of_line(readline, line, cap)
            if state.problem is None:
                state.problem = f"line {state.lines}: longer than {_size(cap)}; the record was skipped"
            # An odd number of quotes opened or closed a quoted field: feed one quote to do the same.
            line = '"\n' if quotes % 2 else "\n"
        elif (not line.isascii() or "\0" in line) and state.problem is None:
            state.problem = _line_problem(line, state.lines)
        state.record += len(line)
        if state.record > cap:
            # Only a quoted field spans lines: this one never closed. Close it, and resync at the next line.
            if state.problem is None:
                state.problem = (
                    f"line {state.lines}: a quoted field is still open after {_size(cap)}"
                    " (an unbalanced quote?); the record was skipped up to here"
                )
            line = '"\n'
        yield line


def _read_header(name: str, reader: Iterator[list[str]], state: _LineState) -> list[str]:
    """Return the first non-blank record as the column names. Raises InputError if there is none, or if it
    cannot be read, or names a column twice or not at all."""
    while True:
        state.record = 0
        start = state.lines + 1
        try:
            fields = next(reader)
        except StopIteration:
            raise InputError(f"{name}: empty file, no header row") from None
        except csv.Error as error:
            detail = state.problem or _csv_message(error, start, state.lines)
            raise InputError(f"{name}: the header row cannot be read: {detail}") from None
        except _STREAM_ERRORS as error:
            raise InputError(f"{name}: {_describe(error)}") from None
        if state.problem is not None:
            hint = "; is it UTF-16 or binary? save it as UTF-8 text" if "NUL" in state.problem else ""
            raise InputError(f"{name}: the header row cannot be read: {state.problem}{hint}")
        if fields:
            break
    state.record = 0
    empty = [str(i) for i, column in enumerate(fields, 1) if not column.strip()]
    if len(empty) == 1:
        raise InputError(f"{name}: header column {empty[0]} has no name")
    if empty:
        raise InputError(f"{name}: header columns {', '.join(empty)} have no name")
    if len(set(fields)) < len(fields):
        repeated = sorted({c for c in fields if fields.count(c) > 1})
        raise InputError(f"{name}: the header repeats column names: {', '.join(repeated)}")
    return fields


def _csv_rows(
    name: str, reader: Iterator[list[str]], state: _LineState, columns: list[str]
) -> Generator[Row, None, None]:
    width = len(columns)
    start = state.lines + 1  # the line the next record starts on
    try:
        while True:
            try:
                for fields in reader:
                    if state.problem is not None:
                        yield Row(name, start, {}, state.problem)
                        state.problem = None
                    elif len(fields) == width:
                        yield Row(name, start, dict(zip(columns, fields, strict=False)))  # length checked
                    elif fields:  # [] is a blank line
                        yield Row(name, start, {}, _width_message(start, len(fields), width))
                    state.record = 0
                    start = state.lines + 1
                return
            except csv.Error as error:
                yield Row(name, start, {}, state.problem or _csv_message(error, start, state.lines))
                state.problem = None
                state.record = 0
                start = state.lines + 1
    except _STREAM_ERRORS as error:
        raise InputError(f"{name}: {_describe(error)} after line {start - 1}") from None


def _width_message(line: int, fields: int, width: int) -> str:
    return f"line {line}: {fields} fields, but the header has {width} columns"


def _csv_message(error: csv.Error, start: int, line: int) -> str:
    text = str(error)
    if text == "unexpected end of data":
        return (
            f"line {start}: a quoted field never closes (an unbalanced quote?); lines {start}-{line} skipped"
        )
    if text.endswith("expected after '\"'"):
        return f"line {line}: text after a closing quote; quote the whole field, doubling quotes inside it"
    if text.startswith("field larger than field limit"):
        return f"line {start}: a field is longer than {_size(csv.field_size_limit())}"
    return f"line {line}: {text}"


# -- JSON Lines -------------------------------------------------------------------------------------------


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER: Final = json.JSONDecoder(parse_constant=_refuse_constant)
_JSON_KINDS: Final = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
}


def _jsonl_rows(
    name: str, readline: Callable[[int], str], state: _LineState, cap: int
) -> Generator[Row, None, None]:
    decode = _DECODER.decode
    line_no = state.lines
    try:
        while line := readline(cap):
            state.lines += 1
            line_no = state.lines
            if len(line) >= cap and line[-1] != "\n":
                _skip_rest_of_line(readline, line, cap)
                yield Row(name, line_no, {}, f"line {line_no}: longer than {_size(cap)}; skipped")
                continue
            if not line.isascii() and (problem := _line_problem(line, line_no)):
                yield Row(name, line_no, {}, problem)
                continue
            try:
                value = decode(line)
            except json.JSONDecodeError as error:
                if not line.isspace():  # blank lines are checked only here, off the fast path
                    yield Row(name, line_no, {}, _json_message(line, line_no, error))
                continue
            except ValueError as error:  # NaN, Infinity, integers of thousands of digits
                yield Row(name, line_no, {}, f"line {line_no}: not valid JSON ({error})")
                continue
            except RecursionError:
                yield Row(name, line_no, {}, f"line {line_no}: JSON nested too deeply")
                continue
            if type(value) is not dict:
                kind = _JSON_KINDS.get(type(value), "null")
                yield Row(name, line_no, {}, f"line {line_no}: expected a JSON object, got {kind}")
            elif "\\u" in line and _has_lone_surrogate(value):
                message = f"line {line_no}: a \\u escape is half of a surrogate pair; it is not a character"
                yield Row(name, line_no, {}, message)
            else:
                yield Row(name, line_no, value)
    except _STREAM_ERRORS as error:
        raise InputError(f"{name}: {_describe(error)} after line {line_no}") from None


def _json_message(line: str, line_no: int, error: json.JSONDecodeError) -> str:
    if "\0" in line:
        return f"line {line_no}: contains a NUL byte (column {line.index(chr(0)) + 1})"
    return f"line {line_no}: not valid JSON ({error.msg} at column {error.colno})"


def _has_lone_surrogate(value: dict[str, Any]) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


# -- both -------------------------------------------------------------------------------------------------


def _line_problem(line: str, line_no: int) -> str | None:
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


def _skip_rest_of_line(readline: Callable[[int], str], line: str, cap: int) -> int:
    """Read and drop the rest of an overlong line, at most `cap` characters at a time.

    Returns the number of `"` the whole line had.
    """
    quotes = line.count('"')
    # A chunk ending in \r at the size limit may be the first half of \r\n: read on to be sure.
    while line and line[-1] != "\n" and not (line[-1] == "\r" and len(line) < cap):
        line = readline(cap)
        quotes += line.count('"')
    return quotes


def _size(chars: int) -> str:
    if chars >= 1024 * 1024 and chars % (1024 * 1024) == 0:
        return f"{chars // (1024 * 1024)} MiB"
    return f"{chars} characters"
