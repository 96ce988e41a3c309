"""Tests of snapcapi.outputs.rejects: refused rows written back in the input's format, atomically."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from snapcapi.errors import ConfigError
from snapcapi.model import Row
from snapcapi.outputs.rejects import RejectsWriter
from snapcapi.read.open import Source, SourceSpec, open_source


def opened(tmp_path: Path, name: str, data: bytes) -> tuple[Source, list[Row]]:
    """Write an input file, open it and read its rows; the source stays usable as a name and format."""
    path = tmp_path / name
    path.write_bytes(data)
    with open_source(SourceSpec(str(path))) as source:
        return source, list(source.rows())


def read_back(path: Path) -> tuple[Source, list[dict[str, object]]]:
    """Read a rejects file with snapcapi's own reader."""
    with open_source(SourceSpec(str(path))) as source:
        rows = list(source.rows())
    assert all(row.error is None for row in rows)
    return source, [row.data for row in rows]


SEMICOLON = b"event_name;email;value\nPURCHASE;a@example.com;12,50\nSIGN_UP;b@example.com;\nPURCHASE;c@x;3\n"


def test_csv_rejects_read_back_with_the_same_columns_plus_error(tmp_path: Path) -> None:
    """A CSV's rejects are a CSV with its delimiter and columns plus `error`, readable by the same reader."""
    source, rows = opened(tmp_path, "in.csv", SEMICOLON)
    out = tmp_path / "rejects.csv"
    with RejectsWriter(out) as writer:
        writer.write(source, rows[0], "email: not an email")
        writer.write(source, rows[2], "value: not a number")
    back, data = read_back(out)
    assert (back.delimiter, back.columns) == (";", ["event_name", "email", "value", "error"])
    assert data == [
        {**rows[0].data, "error": "email: not an email"},
        {**rows[2].data, "error": "value: not a number"},
    ]


def test_csv_values_with_newlines_and_quotes_survive_the_round_trip(tmp_path: Path) -> None:
    """Quoted values spanning lines, with quotes and lone carriage returns, come back unchanged."""
    source, rows = opened(tmp_path, "in.csv", b'a,b\n"x\ny","say ""hi"""\n"p\rq",\n')
    out = tmp_path / "rejects.csv"
    with RejectsWriter(out) as writer:
        for row in rows:
            writer.write(source, row, "bad")
    _, data = read_back(out)
    assert data == [{**row.data, "error": "bad"} for row in rows]


def test_jsonl_rejects_keep_the_object_and_add_error(tmp_path: Path) -> None:
    """A JSON Lines row is written back as its object, nested values included, plus an `error` key."""
    line = {"event_name": "PURCHASE", "user_data": {"em": ["x"]}, "value": 1.5}
    source, rows = opened(tmp_path, "in.jsonl", json.dumps(line).encode() + b"\n")
    out = tmp_path / "rejects.jsonl"
    with RejectsWriter(out) as writer:
        writer.write(source, rows[0], "event_time: missing")
    assert [json.loads(x) for x in out.read_text().splitlines()] == [{**line, "error": "event_time: missing"}]


@pytest.mark.parametrize(
    ("name", "data", "key"),
    [
        ("in.csv", b"event_name,error\nPURCHASE,mine\n", "snapcapi_error"),
        ("in.jsonl", b'{"event_name": "PURCHASE", "error": "mine"}\n', "snapcapi_error"),
        ("in.csv", b"error,snapcapi_error\nmine,also mine\n", "snapcapi_error_2"),
    ],
)
def test_input_column_named_error_is_not_overwritten(
    tmp_path: Path, name: str, data: bytes, key: str
) -> None:
    """An input's own `error` column is kept; the reason goes in `snapcapi_error` (or the next free name)."""
    source, rows = opened(tmp_path, name, data)
    out = tmp_path / ("rejects" + Path(name).suffix)
    with RejectsWriter(out) as writer:
        writer.write(source, rows[0], "refused")
    _, back = read_back(out)
    assert back == [{**rows[0].data, key: "refused"}]


def test_unreadable_row_has_empty_cells_and_names_file_and_line(tmp_path: Path) -> None:
    """A row that could not be read has no values: its cells are empty, its error points at the original."""
    source, rows = opened(tmp_path, "in.csv", "a,b\nRen\u00e9,1\n".encode("latin-1"))
    out = tmp_path / "rejects.csv"
    with RejectsWriter(out) as writer:
        writer.write(source, rows[0], f"row: {rows[0].error}")
    _, back = read_back(out)
    assert back == [
        {
            "a": "",
            "b": "",
            "error": f"{source.name}: line 2: not valid UTF-8 (byte 0xe9 at column 4);"
            " save the file as UTF-8",
        }
    ]


def test_unreadable_row_keeps_a_reason_the_caller_added(tmp_path: Path) -> None:
    """When the caller's reason is not the row's own read error, both are written."""
    row = Row("elsewhere.csv", 9, {}, "bad bytes")
    source, _ = opened(tmp_path, "in.csv", b"a\n")
    out = tmp_path / "rejects.jsonl"
    with RejectsWriter(out) as writer:
        writer.write(source, row, "also refused")
    assert json.loads(out.read_text()) == {"error": "elsewhere.csv: line 9: bad bytes; also refused"}


def test_sources_with_different_columns_write_the_union_in_first_seen_order(tmp_path: Path) -> None:
    """Rows of several inputs share one header: every column seen, each row's values under its own names."""
    first, rows1 = opened(tmp_path, "one.csv", b"event_name,email\nPURCHASE,a@x\n")
    second, rows2 = opened(tmp_path, "two.csv", b"phone,event_name\n+1555,SIGN_UP\n")
    out = tmp_path / "rejects.csv"
    with RejectsWriter(out) as writer:
        writer.write(first, rows1[0], "r1")
        writer.write(second, rows2[0], "r2")
    back_source, back = read_back(out)
    assert back_source.columns == ["event_name", "email", "phone", "error"]
    assert back == [
        {"event_name": "PURCHASE", "email": "a@x", "phone": "", "error": "r1"},
        {"event_name": "SIGN_UP", "email": "", "phone": "+1555", "error": "r2"},
    ]


def test_jsonl_rows_in_a_csv_rejects_file_write_json_values_as_text(tmp_path: Path) -> None:
    """Asked for a .csv, JSON rows become cells: strings as they are, other values as JSON, null empty."""
    source, rows = opened(tmp_path, "in.jsonl", b'{"a": "x", "b": {"c": [1, true]}, "d": null, "e": 2}\n')
    out = tmp_path / "rejects.csv"
    with RejectsWriter(out) as writer:
        writer.write(source, rows[0], "no")
    _, back = read_back(out)
    assert back == [{"a": "x", "b": '{"c": [1, true]}', "d": "", "e": "2", "error": "no"}]


@pytest.mark.parametrize(
    ("input_name", "input_data", "output_name", "fmt", "delimiter"),
    [
        ("in.csv", SEMICOLON, "out.tsv", "tsv", "\t"),
        ("in.csv", SEMICOLON, "out.csv", "csv", ";"),
        ("in.csv", SEMICOLON, "out.rejects", "csv", ";"),
        ("in.tsv", b"a\tb\n1\t2\n", "out.csv", "csv", ","),
        ("in.tsv", b"a\tb\n1\t2\n", "out.rejects", "csv", "\t"),
        ("in.csv", SEMICOLON, "out.jsonl", "jsonl", None),
        ("in.jsonl", b'{"a": 1}\n', "out.rejects", "jsonl", None),
    ],
)
def test_extension_decides_the_format_else_the_first_source(
    tmp_path: Path, input_name: str, input_data: bytes, output_name: str, fmt: str, delimiter: str | None
) -> None:
    """.csv/.tsv/.jsonl name the output's format; another name takes the first source's format."""
    source, rows = opened(tmp_path, input_name, input_data)
    out = tmp_path / output_name
    with RejectsWriter(out) as writer:
        writer.write(source, rows[0], "no")
    with open_source(SourceSpec(str(out), "jsonl" if fmt == "jsonl" else "csv")) as back:
        assert back.delimiter == delimiter
        assert next(back.rows()).data == {**rows[0].data, "error": "no"}


def test_destination_is_untouched_until_close(tmp_path: Path) -> None:
    """Until close(), an earlier file at the path keeps its content: a crash never leaves half a file."""
    source, rows = opened(tmp_path, "in.csv", SEMICOLON)
    out = tmp_path / "rejects.csv"
    out.write_text("yesterday\n")
    writer = RejectsWriter(out)
    writer.write(source, rows[0], "no")
    assert out.read_text() == "yesterday\n"
    writer.close()
    assert out.read_bytes().startswith(b"event_name;email;value;error\r\n")


def test_rejects_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    """The file holds personal data: mode 0600, even replacing a file that was world-readable."""
    source, rows = opened(tmp_path, "in.csv", SEMICOLON)
    out = tmp_path / "rejects.csv"
    out.write_text("old")
    out.chmod(0o644)
    with RejectsWriter(out) as writer:
        writer.write(source, rows[0], "no")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_no_refused_rows_replace_a_stale_file_with_an_empty_one(tmp_path: Path) -> None:
    """A run that refused nothing leaves an empty file, never the previous run's rejects."""
    out = tmp_path / "rejects.csv"
    out.write_text("stale rows\n")
    with RejectsWriter(out) as writer:
        assert writer.rows == 0
    assert out.read_bytes() == b""


def test_exception_in_the_with_block_keeps_the_earlier_file(tmp_path: Path) -> None:
    """Leaving the block through an exception discards the new rows and keeps what was there."""
    source, rows = opened(tmp_path, "in.csv", SEMICOLON)
    out = tmp_path / "rejects.csv"
    out.write_text("yesterday\n")

    def write_then_fail() -> None:
        with RejectsWriter(out) as writer:
            writer.write(source, rows[0], "no")
            raise KeyError("boom")

    with pytest.raises(KeyError):
        write_then_fail()
    assert out.read_text() == "yesterday\n"


def test_no_temporary_file_is_left_behind(tmp_path: Path) -> None:
    """After close() and after discard(), only the inputs and the rejects file are in the directory."""
    source, rows = opened(tmp_path, "in.csv", SEMICOLON)
    with RejectsWriter(tmp_path / "kept.csv") as writer:
        writer.write(source, rows[0], "no")
    dropped = RejectsWriter(tmp_path / "dropped.csv")
    dropped.write(source, rows[0], "no")
    dropped.discard()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "kept.csv"]


def test_unwritable_location_is_a_config_error_before_any_row(tmp_path: Path) -> None:
    """A rejects path in a missing directory fails when the writer is made, before anything is sent."""
    with pytest.raises(
        ConfigError, match=r"cannot write the rejects file .*missing/rejects\.csv: No such file"
    ):
        RejectsWriter(tmp_path / "missing" / "rejects.csv")


def test_rows_counts_the_rows_written(tmp_path: Path) -> None:
    """`rows` says how many refused rows went into the file."""
    source, rows = opened(tmp_path, "in.csv", SEMICOLON)
    with RejectsWriter(tmp_path / "r.jsonl") as writer:
        for row in rows:
            writer.write(source, row, "no")
        assert writer.rows == 3
