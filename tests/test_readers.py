"""Tests of snapcapi.read open, csv, jsonl: formats, line numbers, bad records as data, bad files refused."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snapcapi.errors import ConfigError, InputError
from snapcapi.model import Row
from snapcapi.read.open import MAX_RECORD_CHARS, Source, SourceSpec, open_source

HOSTILE = Path(__file__).parent / "hostile"
MIB = 1024 * 1024


def read_all(
    path: Path | str,
    *,
    fmt: str | None = None,
    delimiter: str | None = None,
    stdin: io.BytesIO | None = None,
    cap: int = MAX_RECORD_CHARS,
) -> tuple[Source, list[Row]]:
    """Open a source, read every row, close it."""
    with open_source(SourceSpec(str(path), fmt, delimiter), stdin, max_record_chars=cap) as source:
        return source, list(source.rows())


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    """Write `data` to a file called `name` in `tmp_path`."""
    path = tmp_path / name
    path.write_bytes(data)
    return path


def outline(rows: list[Row]) -> list[tuple[int, str | None]]:
    """Each row's line and error: what most tests compare."""
    return [(row.line, row.error) for row in rows]


# -- the hostile corpus -----------------------------------------------------------------------------------

UTF8_HINT = "save the file as UTF-8"

HOSTILE_ROWS: dict[str, list[tuple[int, str | None]]] = {
    "bom.csv": [(2, None)],
    "cr_only.csv": [(2, None), (3, None)],
    "crlf.csv": [(2, None), (4, None)],
    "events.csv.gz": [(2, None), (3, None)],
    "gzip_without_suffix.csv": [(2, None), (3, None)],
    "plain_text.csv.gz": [(2, None), (3, None)],
    "header_only.csv": [],
    "latin1.csv": [
        (2, f"line 2: not valid UTF-8 (byte 0xe9 at column 13); {UTF8_HINT}"),
        (3, None),
        (4, f"line 4: not valid UTF-8 (byte 0xeb at column 11); {UTF8_HINT}"),
        (5, None),
    ],
    "lines.json": [(1, None), (2, None)],
    "deep_nesting.jsonl": [(1, None), (2, "line 2: JSON nested too deeply"), (3, None)],
    "mixed.jsonl": [
        (1, None),
        (2, "line 2: expected a JSON object, got an array"),
        (4, "line 4: expected a JSON object, got a string"),
        (5, "line 5: expected a JSON object, got a number"),
        (6, "line 6: not valid JSON (Expecting property name enclosed in double quotes at column 28)"),
        (7, "line 7: expected a JSON object, got null"),
        (9, None),
        (10, "line 10: expected a JSON object, got a boolean"),
        (11, "line 11: not valid JSON (NaN is not valid JSON)"),
        (12, "line 12: a \\u escape is half of a surrogate pair; it is not a character"),
        (13, "line 13: not valid JSON (Extra data at column 9)"),
        (14, None),
    ],
    "multiline_quoted.csv": [(2, None), (5, None), (7, None), (9, None)],
    "nul_bytes.csv": [(2, None), (3, "line 3: contains a NUL byte (column 15)"), (4, None)],
    "objects.data": [(2, None)],
    "pipes.txt": [(2, None), (3, None)],
    "ragged.csv": [
        (2, None),
        (3, "line 3: 2 fields, but the header has 3 columns"),
        (4, "line 4: 4 fields, but the header has 3 columns"),
        (5, None),
    ],
    "semicolon.csv": [(2, None), (3, None)],
    "tabs.tsv": [(2, None)],
    "text_after_quote.csv": [
        (2, "line 2: text after a closing quote; quote the whole field, doubling quotes inside it"),
        (3, None),
    ],
    "unbalanced_quote.csv": [
        (2, None),
        (
            3,
            "line 3: a quoted field opened on this line never closes (an unbalanced quote?);"
            " lines 4-5 read as rows of their own",
        ),
        (4, None),
        (5, None),
    ],
}

HOSTILE_FAILURES: dict[str, str] = {
    "archive.zip": "archive.zip is a zip archive; unzip it first",
    "array.json": "array.json is a JSON array, not JSON Lines (one object a line)",
    "binary_garbage.bin": (
        f"binary_garbage.bin: the header row cannot be read: line 1: not valid UTF-8 (byte 0xe3 at column 1);"
        f" {UTF8_HINT}"
    ),
    "blank_lines_only.csv": "blank_lines_only.csv: empty file, no header row",
    "pretty.json": "pretty.json is one JSON document over several lines, not JSON Lines (one object a line)",
    "corrupt.csv.gz": (
        "corrupt.csv.gz: not valid gzip data (Error -3 while decompressing data: invalid block type)"
    ),
    "duplicate_header.csv": "duplicate_header.csv: the header repeats column names: email",
    "empty.csv": "empty.csv: empty file, no header row",
    "empty_header_name.csv": "empty_header_name.csv: header columns 2, 4 have no name",
    "truncated.csv.gz": "truncated.csv.gz: compressed data ends too early (a truncated file?)",
    "utf16.csv": "utf16.csv is UTF-16 text; save it as UTF-8",
    "utf16_no_bom.csv": (
        "utf16_no_bom.csv: the header row cannot be read: line 1: contains a NUL byte (column 2);"
        " is it UTF-16 or binary? save it as UTF-8 text"
    ),
}


def test_every_hostile_file_has_an_expected_outcome() -> None:
    """A file added to tests/hostile/ must be listed in one of the two tables below."""
    listed = set(HOSTILE_ROWS) | set(HOSTILE_FAILURES)
    present = {p.name for p in HOSTILE.iterdir() if p.name != "README.md"}
    assert present == listed


@pytest.mark.parametrize(("name", "expected"), sorted(HOSTILE_ROWS.items()))
def test_hostile_file_reads_into_the_expected_rows(
    name: str, expected: list[tuple[int, str | None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each readable hostile file gives its rows, with the right start lines and per-row errors."""
    monkeypatch.chdir(HOSTILE)
    _, rows = read_all(name)
    assert outline(rows) == expected
    assert all(row.file == name for row in rows)
    assert all(row.data == {} for row in rows if row.error is not None)


@pytest.mark.parametrize(("name", "message"), sorted(HOSTILE_FAILURES.items()))
def test_hostile_file_raises_input_error(name: str, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each unreadable hostile file raises InputError with a message naming the file and the problem."""
    monkeypatch.chdir(HOSTILE)
    with pytest.raises(InputError) as caught:
        read_all(name)
    assert str(caught.value) == message


# -- formats and detection --------------------------------------------------------------------------------

CSV_TEXT = b"event_name,email\nPURCHASE,a@example.com\n"
JSONL_TEXT = b'{"event_name": "PURCHASE"}\n'


@pytest.mark.parametrize(
    ("name", "data", "fmt", "delimiter"),
    [
        ("a.csv", CSV_TEXT, "csv", ","),
        ("a.CSV", CSV_TEXT, "csv", ","),
        ("a.tsv", b"x\ty\n1\t2\n", "tsv", "\t"),
        ("a.tab", b"x\ty\n1\t2\n", "tsv", "\t"),
        ("a.jsonl", JSONL_TEXT, "jsonl", None),
        ("a.ndjson", JSONL_TEXT, "jsonl", None),
        ("a.json", JSONL_TEXT, "jsonl", None),
        ("a.csv.gz", gzip.compress(CSV_TEXT), "csv", ","),
        ("a.jsonl.gz", gzip.compress(JSONL_TEXT), "jsonl", None),
        ("a.txt", JSONL_TEXT, "jsonl", None),
        ("a.txt", CSV_TEXT, "csv", ","),
        ("no_extension", b"  \n" + JSONL_TEXT, "jsonl", None),
        ("a.gz", gzip.compress(JSONL_TEXT), "jsonl", None),
    ],
)
def test_format_is_told_by_extension_then_content(
    tmp_path: Path, name: str, data: bytes, fmt: str, delimiter: str | None
) -> None:
    """The extension (after .gz) names the format; with no known extension the first byte decides."""
    source, rows = read_all(write(tmp_path, name, data))
    assert (source.format, source.delimiter) == (fmt, delimiter)
    assert len(rows) == 1
    assert rows[0].error is None


def test_format_argument_overrides_the_extension(tmp_path: Path) -> None:
    """format="jsonl" reads a .csv-named file as JSON Lines."""
    source, rows = read_all(write(tmp_path, "events.csv", JSONL_TEXT), fmt="jsonl")
    assert source.format == "jsonl"
    assert rows == [Row(str(tmp_path / "events.csv"), 1, {"event_name": "PURCHASE"})]


@pytest.mark.parametrize(
    ("given", "fmt"), [("CSV", "csv"), ("tsv", "tsv"), ("ndjson", "jsonl"), ("json", "jsonl")]
)
def test_format_argument_is_case_insensitive_with_aliases(tmp_path: Path, given: str, fmt: str) -> None:
    """Format names are matched case-insensitively; ndjson and json mean JSON Lines."""
    data = JSONL_TEXT if fmt == "jsonl" else b"a\n1\n"
    source, _ = read_all(write(tmp_path, "x", data), fmt=given)
    assert source.format == fmt


def test_unknown_format_argument_is_a_config_error(tmp_path: Path) -> None:
    """An unknown format is a usage error, raised before the file is read."""
    with pytest.raises(ConfigError, match=r"^format 'xml': expected csv, tsv, jsonl, parquet or xlsx$"):
        read_all(write(tmp_path, "a.csv", CSV_TEXT), fmt="xml")


@pytest.mark.parametrize("delimiter", [",", ";", "|", "\t"])
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    """A CSV's delimiter is found among , ; | and tab, even with the other candidates inside values."""
    others = "".join(d for d in ",;|" if d != delimiter)
    text = f'event_name{delimiter}email{delimiter}value\nPURCHASE{delimiter}a@x.com{delimiter}"1{others}5"\n'
    source, rows = read_all(write(tmp_path, "a.csv", text.encode()))
    assert source.delimiter == delimiter
    assert rows[0].data == {"event_name": "PURCHASE", "email": "a@x.com", "value": f"1{others}5"}


def test_one_column_file_is_read_with_a_comma(tmp_path: Path) -> None:
    """A file with no candidate delimiter at all is one column, read with a comma."""
    source, rows = read_all(write(tmp_path, "a.csv", b"email\na@example.com\nb@example.com\n"))
    assert source.delimiter == ","
    assert [r.data for r in rows] == [{"email": "a@example.com"}, {"email": "b@example.com"}]


def test_delimiter_argument_is_used_instead_of_sniffing(tmp_path: Path) -> None:
    """A given delimiter wins over what the sniffer would pick."""
    source, rows = read_all(write(tmp_path, "a.csv", b"a;b,c\n1;2,3\n"), delimiter=",")
    assert source.columns == ["a;b", "c"]
    assert rows[0].data == {"a;b": "1;2", "c": "3"}


@pytest.mark.parametrize("spelled", ["\\t", "tab", "TAB"])
def test_tab_delimiter_may_be_spelled_out(tmp_path: Path, spelled: str) -> None:
    """`\\t` and `tab` as typed on a command line mean the tab character."""
    source, _ = read_all(write(tmp_path, "a.csv", b"a\tb\n1\t2\n"), delimiter=spelled)
    assert source.delimiter == "\t"


@pytest.mark.parametrize("delimiter", ["", ";;", '"', "\n"])
def test_invalid_delimiter_argument_is_a_config_error(tmp_path: Path, delimiter: str) -> None:
    """A delimiter must be one character other than a quote or a newline."""
    with pytest.raises(ConfigError, match="expected one character other than a quote or a newline"):
        read_all(write(tmp_path, "a.csv", CSV_TEXT), delimiter=delimiter)


def test_header_names_are_kept_as_written(tmp_path: Path) -> None:
    """Column names keep their case and spaces; only a leading BOM is dropped."""
    source, rows = read_all(write(tmp_path, "a.csv", b"\xef\xbb\xbf Event Name ,E-Mail\nx,y\n"))
    assert source.columns == [" Event Name ", "E-Mail"]
    assert rows[0].data == {" Event Name ": "x", "E-Mail": "y"}


def test_jsonl_nested_values_are_kept(tmp_path: Path) -> None:
    """A JSON Lines row's data is the decoded object, nested objects and lists included."""
    line = {"user_data": {"em": ["a", "b"]}, "custom_data": {"value": 1.5, "ok": True, "none": None}}
    _, rows = read_all(write(tmp_path, "a.jsonl", json.dumps(line).encode() + b"\n"))
    assert rows[0].data == line


def test_empty_jsonl_file_gives_no_rows(tmp_path: Path) -> None:
    """A JSON Lines file has no header to miss: empty means zero rows, not an error."""
    source, rows = read_all(write(tmp_path, "a.jsonl", b""))
    assert (source.format, source.columns, rows) == ("jsonl", None, [])


# -- standard input ---------------------------------------------------------------------------------------


def test_dash_reads_standard_input_named_stdin() -> None:
    """`-` reads the given binary stream, and rows are named <stdin>."""
    source, rows = read_all("-", stdin=io.BytesIO(CSV_TEXT))
    assert source.name == "<stdin>"
    assert rows == [Row("<stdin>", 2, {"event_name": "PURCHASE", "email": "a@example.com"})]


def test_gzip_on_standard_input_is_detected_by_its_magic_bytes() -> None:
    """Compressed standard input is decompressed without any name to go by."""
    source, rows = read_all("-", stdin=io.BytesIO(gzip.compress(JSONL_TEXT)))
    assert source.format == "jsonl"
    assert rows == [Row("<stdin>", 1, {"event_name": "PURCHASE"})]


def test_standard_input_is_left_open() -> None:
    """Closing a source leaves standard input open: it is not the reader's to close."""
    stdin = io.BytesIO(CSV_TEXT)
    read_all("-", stdin=stdin)
    assert not stdin.closed


# -- line numbers -----------------------------------------------------------------------------------------


def test_crlf_split_across_read_chunks_counts_one_line(tmp_path: Path) -> None:
    """A \\r\\n that straddles the text layer's 8 KiB reads is one line ending, not two."""
    first = b"x" * (8192 - len(b"a\r\n") - 1)
    data = b"a\r\n" + first + b"\r\n" + b"y\r\nz\r\n"
    _, rows = read_all(write(tmp_path, "a.csv", data))
    assert [(r.line, r.data["a"]) for r in rows] == [(2, first.decode()), (3, "y"), (4, "z")]


def test_invalid_utf8_inside_a_multiline_record_names_its_own_line(tmp_path: Path) -> None:
    """The error names the physical line of the bad byte; the row keeps the line where its record starts."""
    data = b'a,b\n1,"x\ny\xff"\n2,z\n'
    _, rows = read_all(write(tmp_path, "a.csv", data))
    assert outline(rows) == [(2, f"line 3: not valid UTF-8 (byte 0xff at column 2); {UTF8_HINT}"), (4, None)]


def test_jsonl_invalid_utf8_is_a_row_error(tmp_path: Path) -> None:
    """A JSON line with a Latin-1 byte is an error row; the next line is read."""
    data = '{"a": "Ren\u00e9"}\n{"a": 2}\n'.encode("latin-1")
    _, rows = read_all(write(tmp_path, "a.jsonl", data))
    assert outline(rows) == [(1, f"line 1: not valid UTF-8 (byte 0xe9 at column 11); {UTF8_HINT}"), (2, None)]


# -- the header -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"a,a\n1,2\n", "the header repeats column names: a"),
        (b",b\n1,2\n", "header column 1 has no name"),
        (
            b'"a,b\n1,2\n',
            "the header row cannot be read: line 1: a quoted field opened on this line never closes",
        ),
        (
            b"\xe9v\xe9nement,b\n",
            "the header row cannot be read: line 1: not valid UTF-8 (byte 0xe9 at column 1)",
        ),
        (b"\n\n", "empty file, no header row"),
    ],
)
def test_unusable_header_is_an_input_error(tmp_path: Path, data: bytes, message: str) -> None:
    """A header that cannot name the columns makes the whole file unreadable, with a message saying why."""
    path = write(tmp_path, "a.csv", data)
    with pytest.raises(InputError) as caught:
        read_all(path)
    assert str(caught.value).startswith(f"{path}: {message}")


def test_header_is_read_when_the_source_is_opened(tmp_path: Path) -> None:
    """open_source reads the header at once, so a bad file fails before any row of any file is used."""
    with pytest.raises(InputError):
        open_source(SourceSpec(str(write(tmp_path, "a.csv", b"a,a\n"))))


def test_leading_blank_lines_before_the_header_are_counted(tmp_path: Path) -> None:
    """Blank lines before the header are skipped, and still counted in the line numbers."""
    source, rows = read_all(write(tmp_path, "a.csv", b"\n\na,b\n1,2\n"))
    assert source.columns == ["a", "b"]
    assert outline(rows) == [(4, None)]


# -- size limits and memory -------------------------------------------------------------------------------


def test_field_of_several_megabytes_is_read(tmp_path: Path) -> None:
    """A 3 MB field is far over the csv module's 128 KiB default, and under snapcapi's 8 MiB bound."""
    big = "x" * (3 * MIB)
    _, rows = read_all(write(tmp_path, "a.csv", f"a,b\n{big},1\n2,3\n".encode()))
    assert [r.data for r in rows] == [{"a": big, "b": "1"}, {"a": "2", "b": "3"}]


def test_line_over_the_default_limit_is_a_row_error_and_the_next_row_is_read(tmp_path: Path) -> None:
    """A 9 MB line is skipped as one error row; reading resumes on the next line."""
    data = b"a,b\n" + b"y" * (9 * MIB) + b",1\n2,3\n"
    _, rows = read_all(write(tmp_path, "a.csv", data))
    assert outline(rows) == [(2, "line 2: longer than 8 MiB; the record was skipped"), (3, None)]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # The long line opens a quoted field that the next line closes: the record ends on line 3.
        (
            b'a,b\n1,"' + b"z" * 100 + b'\nrest",2\n3,4\n',
            [(2, "line 2: longer than 64 characters"), (4, None)],
        ),
        # Balanced quotes in the long line: it is a record by itself.
        (b'a,b\n"' + b"z" * 100 + b'",1\n3,4\n', [(2, "line 2: longer than 64 characters"), (3, None)]),
        # The long line is in the middle of a quoted field that it closes.
        (b'a,b\n1,"x\n' + b"z" * 100 + b'",9\n3,4\n', [(2, "line 3: longer than 64 characters"), (4, None)]),
    ],
)
def test_overlong_line_keeps_the_record_boundaries(
    tmp_path: Path, data: bytes, expected: list[tuple[int, str | None]]
) -> None:
    """Skipping an overlong line keeps the quoting state its quotes had, so the next record is intact."""
    _, rows = read_all(write(tmp_path, "a.csv", data), cap=64)
    got = [
        (line, error[: len(want)] if error and want else error)
        for (line, error), (_, want) in zip(outline(rows), expected, strict=True)
    ]
    assert got == expected
    assert rows[-1].data == {"a": "3", "b": "4"}


def test_a_quote_still_open_at_the_record_limit_costs_its_own_line_only(tmp_path: Path) -> None:
    """A quote that never closes is cut at the record limit, and the lines it ran over are read again.

    Line 2 (8 characters) and ten 6-character lines pass 64 characters on line 12.
    """
    lines = b"".join(b"%d,row\n" % i for i in range(3, 40))
    _, rows = read_all(write(tmp_path, "a.csv", b'a,b\n1,"open\n' + lines), cap=64)
    assert outline(rows) == [
        (
            2,
            "line 2: a quoted field opened on this line is still open on line 12, after 64 characters"
            " (an unbalanced quote?); lines 3-12 read as rows of their own",
        ),
        *((n, None) for n in range(3, 40)),
    ]
    assert rows[-1].data == {"a": "39", "b": "row"}


def test_a_stray_quote_that_never_closes_leaves_every_later_line_a_row(tmp_path: Path) -> None:
    """Issue 18: an unclosed quote on line 2 of a 20,002-line file used to make it `2 rows`."""
    lines = b"".join(b"%d,row %d\n" % (i, i) for i in range(3, 20_003))
    _, rows = read_all(write(tmp_path, "a.csv", b'a,b\n2,"stray\n' + lines))
    assert len(rows) == 20_001
    assert outline(rows[:1]) == [
        (
            2,
            "line 2: a quoted field opened on this line never closes (an unbalanced quote?);"
            " lines 3-20002 read as rows of their own",
        )
    ]
    assert outline(rows[1:]) == [(n, None) for n in range(3, 20_003)]
    assert rows[1].data == {"a": "3", "b": "row 3"}


def test_a_stray_quote_found_at_the_next_quoted_field_costs_its_own_line_only(tmp_path: Path) -> None:
    """A stray quote is usually found where the next quoted field starts (its opening quote reads as a
    closing one, followed by text): the lines between, that one included, are rows again."""
    data = b'a,b\n1,"stray\n2,plain\n3,plain\n4,"quoted, with a comma"\n5,plain\n'
    _, rows = read_all(write(tmp_path, "a.csv", data))
    assert outline(rows) == [
        (
            2,
            "line 2: a quoted field opened on this line closes on line 5 with text after the quote"
            " (an unbalanced quote?); lines 3-5 read as rows of their own",
        ),
        (3, None),
        (4, None),
        (5, None),
        (6, None),
    ]
    assert rows[3].data == {"a": "4", "b": "quoted, with a comma"}


def test_lines_read_again_are_checked_again(tmp_path: Path) -> None:
    """A line read again after a stray quote gets the errors of its own: an overlong line (skipped when
    first read) and a ragged one are each an error row, in their place."""
    data = b'a,b\n1,"open\n3,row\n4,' + b"x" * 100 + b"\n5,too,wide\n6,row\n"
    _, rows = read_all(write(tmp_path, "a.csv", data), cap=64)
    assert outline(rows) == [
        (
            2,
            "line 2: a quoted field opened on this line never closes (an unbalanced quote?);"
            " lines 3-6 read as rows of their own",
        ),
        (3, None),
        (4, "line 4: longer than 64 characters; the record was skipped"),
        (5, "line 5: 3 fields, but the header has 2 columns"),
        (6, None),
    ]


def test_a_quoted_field_over_several_lines_is_still_one_record(tmp_path: Path) -> None:
    """Reading lines again is only for a record that fails: a field with line breaks in it stays whole."""
    data = b'a,b\n1,"first\nsecond, with a comma\nthird"\n5,row\n'
    _, rows = read_all(write(tmp_path, "a.csv", data))
    assert outline(rows) == [(2, None), (5, None)]
    assert rows[0].data == {"a": "1", "b": "first\nsecond, with a comma\nthird"}


def test_jsonl_line_over_the_limit_is_a_row_error_and_reading_continues(tmp_path: Path) -> None:
    """An overlong JSON line is one error row; the next line is read."""
    data = b'{"a": "' + b"x" * 200 + b'"}\n{"a": 2}\n'
    _, rows = read_all(write(tmp_path, "a.jsonl", data), cap=64)
    assert outline(rows) == [(1, "line 1: longer than 64 characters; skipped"), (2, None)]


def test_memory_stays_bounded_by_the_record_limit_for_a_huge_line(tmp_path: Path) -> None:
    """A 6 MB line with no newline is read in slices of the limit, never held whole."""
    path = write(tmp_path, "a.jsonl", b"{" + b"x" * (6 * MIB) + b"\n")
    tracemalloc.start()
    try:
        _, rows = read_all(path, cap=64 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert outline(rows) == [(1, "line 1: longer than 65536 characters; skipped")]
    assert peak < 2 * MIB


def test_rows_are_read_lazily(tmp_path: Path) -> None:
    """The first row comes before the file is read through: a large file is streamed, not loaded."""
    path = write(tmp_path, "a.csv", b"a,b\n" + b"1,2\n" * 200_000)
    with open(path, "rb") as raw, open_source(SourceSpec("-"), raw) as source:
        first = next(source.rows())
        position = raw.tell()
    assert first.line == 2
    assert position < 200 * 1024 < path.stat().st_size


def test_field_size_limit_is_raised_never_lowered(tmp_path: Path) -> None:
    """open_source raises the process-wide csv field limit to its bound, and leaves a higher one alone."""
    saved = csv.field_size_limit()
    try:
        csv.field_size_limit(1000)
        read_all(write(tmp_path, "a.csv", CSV_TEXT))
        assert csv.field_size_limit() == MAX_RECORD_CHARS
        csv.field_size_limit(MAX_RECORD_CHARS * 4)
        read_all(write(tmp_path, "a.csv", CSV_TEXT))
        assert csv.field_size_limit() == MAX_RECORD_CHARS * 4
    finally:
        csv.field_size_limit(saved)


# -- file-level problems ----------------------------------------------------------------------------------


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    """A path that does not exist is an InputError naming it."""
    path = tmp_path / "nope.csv"
    with pytest.raises(InputError, match=f"^{re.escape(str(path))}: no such file$"):
        read_all(path)


def test_directory_is_an_input_error(tmp_path: Path) -> None:
    """A directory is an InputError naming it."""
    with pytest.raises(InputError, match=f"^{re.escape(str(tmp_path))}: is a directory, not a file$"):
        read_all(tmp_path)


def test_unreadable_file_is_an_input_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file the user may not read is an InputError naming it (simulated: tests may run as root)."""

    def refuse(path: str, mode: str) -> Any:
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr("snapcapi.read.open.open", refuse, raising=False)
    with pytest.raises(InputError, match=r"^secret\.csv: permission denied$"):
        read_all("secret.csv")


def test_gzip_corrupt_mid_stream_is_an_input_error_naming_the_last_good_line(tmp_path: Path) -> None:
    """Corruption found after the first rows stops the file with an InputError saying how far it got."""
    text = b"a,b\n" + b"".join(b"%d,%d\n" % (i, i * 7919 % 10007) for i in range(100_000))
    path = write(tmp_path, "a.csv.gz", gzip.compress(text, mtime=0)[: -len(text) // 20])
    with open_source(SourceSpec(str(path))) as source:
        rows: list[Row] = []
        with pytest.raises(InputError) as caught:
            rows.extend(source.rows())
    assert rows
    assert str(caught.value) == (
        f"{path}: compressed data ends too early (a truncated file?) after line {rows[-1].line}"
    )


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_closing_a_source_closes_its_file(tmp_path: Path) -> None:
    """close() releases the file, also when the rows were not read to the end."""
    path = write(tmp_path, "a.csv.gz", gzip.compress(CSV_TEXT * 10))
    before = _open_descriptors()
    source = open_source(SourceSpec(str(path)))
    next(source.rows())
    source.close()
    source.close()
    assert _open_descriptors() == before


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_a_failed_open_closes_its_file(tmp_path: Path) -> None:
    """A header that raises InputError leaves no file open behind it."""
    path = write(tmp_path, "a.csv", b"a,a\n")
    before = _open_descriptors()
    with pytest.raises(InputError):
        open_source(SourceSpec(str(path)))
    assert _open_descriptors() == before


def test_rows_can_be_iterated_only_once(tmp_path: Path) -> None:
    """A second rows() call is a programming error, not a silent empty iterator."""
    with open_source(SourceSpec(str(write(tmp_path, "a.csv", CSV_TEXT)))) as source:
        list(source.rows())
        with pytest.raises(RuntimeError, match="only once"):
            source.rows()


# -- properties -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory for files written by hypothesis examples (function-scoped tmp_path cannot be used)."""
    return tmp_path_factory.mktemp("hypothesis")


@pytest.mark.parametrize(
    ("fmt", "suffix"), [(None, ".dat"), ("csv", ".csv"), ("tsv", ".tsv"), ("jsonl", ".jsonl")]
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.one_of(
        st.binary(max_size=600),
        st.lists(
            st.sampled_from([b"a", b",", b";", b'"', b"\n", b"\r", b"{", b"}", b"\xe9", b"\0", b" "])
        ).map(b"".join),
    ),
    compress=st.booleans(),
)
def test_any_bytes_give_rows_or_an_input_error(
    scratch: Path, fmt: str | None, suffix: str, data: bytes, compress: bool
) -> None:
    """Whatever the bytes, reading gives InputError or rows, each on a later line than the one before."""
    path = scratch / f"any{suffix}"
    path.write_bytes(gzip.compress(data) if compress else data)
    try:
        _, rows = read_all(path, fmt=fmt, cap=256)
    except InputError:
        return
    lines = [row.line for row in rows]
    assert all(line >= 1 for line in lines)
    assert lines == sorted(set(lines))
    for row in rows:
        assert (row.error is None) or row.data == {}


def _line_breaks(text: str) -> int:
    return len(re.findall(r"\r\n|\r|\n", text))


names = st.lists(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9 _]{0,8}", fullmatch=True), min_size=1, max_size=4, unique=True
)
values = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\0"), max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    header=names,
    body=st.lists(st.lists(values, min_size=4, max_size=4), max_size=6),
    delimiter=st.sampled_from(",;|\t"),
    terminator=st.sampled_from(["\r\n", "\n"]),
)
def test_csv_written_by_the_csv_module_reads_back_with_its_line_numbers(
    scratch: Path, header: list[str], body: list[list[str]], delimiter: str, terminator: str
) -> None:
    """Any table the csv module writes reads back to the same values, each record on its starting line."""
    if terminator == "\n":  # csv quotes a lone \r only when it is part of the line terminator
        body = [[v.replace("\r", "") for v in row] for row in body]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=terminator)
    writer.writerow(header)
    starts, line = [], 1 + _line_breaks(buffer.getvalue())
    for row in body:
        before = buffer.tell()
        writer.writerow(row[: len(header)])
        starts.append(line)
        line += _line_breaks(buffer.getvalue()[before:])
    path = scratch / "table.csv"
    path.write_bytes(buffer.getvalue().encode())
    source, rows = read_all(path, delimiter=delimiter)
    assert source.columns == header
    assert [(r.line, r.data) for r in rows] == [
        (s, dict(zip(header, row, strict=False))) for s, row in zip(starts, body, strict=True)
    ]
