"""Opening an input: a path or standard input, gzip or not, its format and delimiter told, its header read.

    open_source(SourceSpec("events.csv.gz")) -> Source   opens the file and reads its header, or InputError
    Source.rows() -> Iterator[Row]                        one Row per record, read as it is needed
    Source.pieces(...) -> Iterator[Block | Row]           or: runs of whole records as text, for another
    Source.layout.records(block) / .rows(block)           process to parse, and the rest as Rows

Records are parsed by `read.csv` and `read.jsonl`, cut into blocks by `read.blocks` (`read.lines`: checks
of one line they share); `read.tail` holds back a last line still being written.

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
- Memory is bounded by `max_record_chars` (8 MiB by default): a longer line is skipped to its end, a
  record whose quoted field runs past it is cut there (an unbalanced quote), both as error rows."""

from __future__ import annotations

import gzip
import io
import itertools
import sys
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import BinaryIO, Final, Protocol

from snapcapi.errors import ConfigError, InputError
from snapcapi.model import Row
from snapcapi.read.blocks import Block, Feed, FilePosition, Layout, Splitter
from snapcapi.read.csv import csv_lines, csv_reader, csv_rows, read_header, widen_field_limit
from snapcapi.read.jsonl import jsonl_rows
from snapcapi.read.lines import STREAM_ERRORS, LineState, describe
from snapcapi.read.parquet import MAGIC as PARQUET_MAGIC
from snapcapi.read.parquet import is_parquet_name, open_parquet
from snapcapi.read.presets import Preset
from snapcapi.read.sniff import sample_rows, sniff_delimiter
from snapcapi.read.tail import HeldTail
from snapcapi.read.values import DateReading, NumberReading
from snapcapi.read.xlsx import is_workbook_name, open_workbook

MAX_RECORD_CHARS: Final = 8 * 1024 * 1024
FORMATS: Final = ("csv", "tsv", "jsonl", "parquet", "xlsx")

_SAMPLE_BYTES: Final = 64 * 1024  # read ahead to tell the format and delimiter
# What the text reader reads at a time (CPython's default: 8 KiB). Each chunk passes through the Python
# layers under it (`HeldTail`, gzip's reader): a larger one reads a plain or gzip file 5-15% faster, and
# still holds little (a chunk's bytes and text, a few hundred KB at most); past about 256 KiB it is slower.
_CHUNK_BYTES: Final = 64 * 1024
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


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """An input as the user named it: a path or `-` (standard input), and optional format and delimiter."""

    path: str
    format: str | None = None
    delimiter: str | None = None
    sheet: str | None = None  # a workbook's sheet (default: the first)


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
        splitter: Splitter | None = None,
        *,
        bom: bool = False,
        preamble: list[str] | None = None,
        sample: list[Row] | None = None,
    ) -> None:
        self.name = name  # as shown to users: the path as given, or "<stdin>"
        self.bom = bom  # the text started with a UTF-8 BOM (written back in the rejects file)
        self.position = FilePosition(None)  # its size and what of it was read (progress); set on opening
        self.format = format
        self.delimiter = delimiter
        self.columns = columns
        self.preamble = preamble or []  # the lines above the header (their first cells)
        self.sample = sample or []  # the first rows, read again at open: to decide how to read columns
        # How the rows are to be read, decided once the file is open (`events.prepare.plan_source`): the
        # recognized export, the readings of number and date fields, the time zone the file names.
        self.preset: Preset | None = None
        self.readings: dict[str, NumberReading | DateReading] = {}
        self.timezone: str | None = None
        self.warnings: list[str] = []  # said once the rows are read (a last line held back)
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

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: object) -> None:
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
    if fmt == "parquet" or (fmt is None and is_parquet_name(spec.path)):
        return _parquet_source(spec.path)
    if fmt == "xlsx" or (fmt is None and (is_workbook_name(spec.path) or _zipped_workbook(spec.path))):
        return _workbook_source(spec, stdin)
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
            if head == PARQUET_MAGIC and fmt is None and spec.path != "-":
                stack.close()
                return _parquet_source(spec.path)
            if head.startswith(_GZIP_MAGIC):
                compressed = gzip.GzipFile(fileobj=HeldTail(raw, None, name, head), mode="rb")
                stack.callback(compressed.close)
                stream = HeldTail(compressed, None, name)
            else:  # a last line without its end, in a file still being written, waits
                stream = HeldTail(raw, None if spec.path == "-" else file.fileno(), name, head)
            sample = _read_up_to(stream, _SAMPLE_BYTES)
        except STREAM_ERRORS as error:
            raise InputError(f"{name}: {describe(error)}") from None
        refusal = _refusal(sample)
        if refusal is not None:
            raise InputError(f"{name} {refusal}")
        bom = sample.startswith(_UTF8_BOM)
        sample = sample.removeprefix(_UTF8_BOM)
        fmt = fmt or _detect_format(name, spec.path, sample)
        if fmt == "jsonl" and sample.lstrip().split(b"\n", 1)[0].strip() in (b"{", b"["):
            # Else a pretty-printed document gives one "not valid JSON" row per line of it.
            raise InputError(
                f"{name} is one JSON document over several lines, not JSON Lines (one object a line)"
            )
        stream.give_back(sample)
        text = io.TextIOWrapper(
            stream,
            encoding="utf-8",
            # Undecodable bytes become lone surrogates, found per line: one bad row, not a dead file.
            errors="surrogateescape",
            newline="",
        )
        stack.callback(text.close)
        text._CHUNK_SIZE = _CHUNK_BYTES  # type: ignore[attr-defined]  # CPython's, C and Python alike
        columns: list[str] | None = None
        state = LineState()
        feed = Feed(text.readline)
        if fmt == "jsonl":
            delimiter = None
            records = jsonl_rows(name, feed.readline, state, max_record_chars)
        else:
            if delimiter is None:
                delimiter = "\t" if fmt == "tsv" else sniff_delimiter(sample)
            widen_field_limit(max_record_chars)
            reader = csv_reader(csv_lines(feed.readline, state, max_record_chars), delimiter)
            preamble: list[str] = []
            columns = read_header(name, reader, state, preamble)
            records = csv_rows(name, reader, state, columns)
        stack.callback(records.close)
        layout = Layout(name, delimiter, None if columns is None else tuple(columns), max_record_chars)
        splitter = Splitter(layout, feed, state)
        first: list[Row] = []
        if columns is not None and delimiter is not None:
            first = sample_rows(name, sample, delimiter, columns, len(sample) >= _SAMPLE_BYTES)
        source = Source(name, fmt, delimiter, columns, records, stack, splitter, bom=bom, sample=first)
        source.position = FilePosition(None if spec.path == "-" else file)
        source.preamble = preamble if columns is not None else []
        source.warnings = stream.warnings
        return source
    except BaseException:
        stack.close()
        raise


# -- opening ----------------------------------------------------------------------------------------------


def _parquet_source(path: str) -> Source:
    """A Parquet file as a `Source` of rows (no blocks: its rows are parsed here, a row group at a time)."""
    opened = open_parquet(path)
    stack = ExitStack()
    stack.callback(opened.close)
    return Source(path, "parquet", None, opened.columns, opened.rows, stack, sample=opened.sample)


def _workbook_source(spec: SourceSpec, stdin: BinaryIO | None) -> Source:
    """An Excel workbook's sheet as a `Source` of rows (no blocks: its cells are read here)."""
    if spec.path == "-":
        data = (stdin if stdin is not None else sys.stdin.buffer).read()
        book = open_workbook("<stdin>", io.BytesIO(data), spec.sheet)
        name = "<stdin>"
    else:
        _open_file(spec.path).close()  # the same messages as any file: missing, a directory...
        book = open_workbook(spec.path, spec.path, spec.sheet)
        name = spec.path
    source = Source(name, "xlsx", None, book.columns, book.rows, ExitStack(), sample=book.sample)
    source.preamble = book.preamble
    return source


def _zipped_workbook(path: str) -> bool:
    """True for a zip archive that is an Excel workbook, whatever its name (`export.zip`, no extension)."""
    if path == "-":
        return False
    try:
        with open(path, "rb") as file:
            if file.read(4) != b"PK\x03\x04":
                return False
        with zipfile.ZipFile(path) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def _check_format(fmt: str | None) -> str | None:
    if fmt is None:
        return None
    folded = {"ndjson": "jsonl", "json": "jsonl"}.get(fmt.lower(), fmt.lower())
    if folded not in FORMATS:
        raise ConfigError(f"format {fmt!r}: expected csv, tsv, jsonl, parquet or xlsx")
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


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...
