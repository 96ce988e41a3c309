"""Parquet input: typed columns read as CSV text, row groups streamed, events the CSV's byte for byte."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from snapcapi.emulator import Emulator
from snapcapi.errors import InputError
from snapcapi.read.open import SourceSpec, open_source
from snapcapi.read.typed import as_text
from tests.conftest import TOKEN, Invoke


def _rows(count: int) -> list[dict[str, Any]]:
    """Purchases with typed values: an aware timestamp (1 to 3 hours ago), a double, a decimal, an int64
    phone and a list; every fifth has no email nor phone (invalid)."""
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    rows = []
    for i in range(count):
        rows.append(
            {
                "order_id": f"ord-{i}",
                "event_name": "PURCHASE",
                "event_time": base - timedelta(minutes=i % 120),
                "email": None if i % 5 == 4 else f"Jane.Rowe{i}@Example.com",
                "phone": None if i % 5 == 4 else 14155550000 + i,
                "value": 12.5 + i,
                "tax": Decimal("1.25"),
                "currency": "usd",
                "content_ids": [f"sku-{i}", "sku-x"],
            }
        )
    return rows


def _write_parquet(path: Path, rows: list[dict[str, Any]], row_group_size: int = 1000) -> Path:
    schema = pa.schema(
        [
            ("order_id", pa.string()),
            ("event_name", pa.string()),
            ("event_time", pa.timestamp("us", tz="UTC")),
            ("email", pa.string()),
            ("phone", pa.int64()),
            ("value", pa.float64()),
            ("tax", pa.decimal128(6, 2)),
            ("currency", pa.string()),
            ("content_ids", pa.list_(pa.string())),
        ]
    )
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path, row_group_size=row_group_size)
    return path


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    header = list(rows[0])
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows([as_text(row[name]) for name in header] for row in rows)
    return path


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (True, "true"),
        (12, "12"),
        (12.5, "12.5"),
        (1e-05, "1e-05"),
        (Decimal("12.50"), "12.50"),
        (datetime(2026, 11, 20, 14, 3, tzinfo=UTC), "2026-11-20T14:03:00+00:00"),
        (datetime(2026, 11, 20, 14, 3), "2026-11-20T14:03:00"),
        (date(2026, 11, 20), "2026-11-20"),
        (b"abc", "abc"),
        (["a", "b"], '["a","b"]'),
        ({"id": "x", "item_price": Decimal("2.5")}, '{"id":"x","item_price":2.5}'),
    ],
)
def test_typed_values_are_written_as_csv_text(value: Any, text: str) -> None:
    """Each Parquet type becomes the text its CSV export would hold."""
    assert as_text(value) == text


def test_parquet_upload_sends_the_events_its_csv_export_sends(
    tmp_path: Path, invoke: Invoke, api: Emulator
) -> None:
    """The same rows as a typed Parquet file and as CSV text give the same outcomes and the same event
    JSON, byte for byte."""
    rows = _rows(300)
    sent: dict[str, list[str]] = {}
    for name, path in (
        ("parquet", _write_parquet(tmp_path / "events.parquet", rows, row_group_size=64)),
        ("csv", _write_csv(tmp_path / "events.csv", rows)),
    ):
        api.reset()
        result = invoke(
            "upload", str(path), "--conversion-type", "OFFLINE", "--pixel-id", "px", "--api-url", api.url,
            "--access-token", TOKEN, "--no-ledger", "--json", "-q",
        )  # fmt: skip
        summary = json.loads(result.stdout)
        assert summary["rows"] == 300, result.stderr
        assert summary["sent"] == 240
        assert summary["invalid"] == 60
        sent[name] = sorted(json.dumps(e["event"], sort_keys=True) for e in api.events())
    assert sent["parquet"] == sent["csv"]
    assert len(sent["parquet"]) == 240


def test_parquet_rows_are_numbered_across_row_groups(tmp_path: Path) -> None:
    """A file of several row groups is read in order, its rows numbered from 1 across the groups."""
    path = _write_parquet(tmp_path / "part-0.parquet", _rows(250), row_group_size=100)
    assert pq.ParquetFile(path).num_row_groups == 3
    with open_source(SourceSpec(str(path))) as source:
        assert source.format == "parquet"
        assert source.columns is not None
        assert source.columns[:2] == ["order_id", "event_name"]
        read = list(source.rows())
    assert [row.line for row in read] == list(range(1, 251))
    assert read[249].data["order_id"] == "ord-249"
    assert read[4].data["email"] == ""  # a null is an empty field


def test_parquet_is_told_by_its_magic_bytes_without_the_extension(tmp_path: Path) -> None:
    """A Parquet file named like anything else is still read as Parquet."""
    path = _write_parquet(tmp_path / "export.dat", _rows(3))
    with open_source(SourceSpec(str(path))) as source:
        assert source.format == "parquet"
        assert len(list(source.rows())) == 3


def test_a_file_named_parquet_that_is_not_is_refused_with_its_name(tmp_path: Path) -> None:
    """Text named .parquet is an InputError naming the file, not a traceback."""
    path = tmp_path / "broken.parquet"
    path.write_text("event_name,email\nPURCHASE,a@b.co\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"^.*broken\.parquet: not a readable Parquet file"):
        open_source(SourceSpec(str(path)))


def test_a_missing_parquet_file_is_named(tmp_path: Path) -> None:
    """A missing file is an InputError naming it."""
    with pytest.raises(InputError, match=r"nope\.parquet: no such file$"):
        open_source(SourceSpec(str(tmp_path / "nope.parquet")))


def test_parquet_cannot_come_from_standard_input() -> None:
    """`--format parquet` with `-` says why: Parquet's index is at the end of the file."""
    with pytest.raises(InputError, match="standard input"):
        open_source(SourceSpec("-", "parquet"))


def test_a_text_column_of_decimal_commas_is_read_as_in_a_csv(tmp_path: Path, invoke: Invoke) -> None:
    """Prices stored as text with a decimal comma are decided from the first rows, as a CSV's column is:
    the rows are valid, and the command line says how it read them."""
    when = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    prices = ["12,50", "1.234,56", "7,5"]
    table = pa.table(
        {
            "order_id": [f"ord-{i}" for i in range(30)],
            "event_name": ["PURCHASE"] * 30,
            "event_time": [when] * 30,
            "email": [f"ann{i}@example.com" for i in range(30)],
            "value": [prices[i % 3] for i in range(30)],
            "currency": ["EUR"] * 30,
        }
    )
    path = tmp_path / "prices.parquet"
    pq.write_table(table, path)
    result = invoke("validate", str(path), "--conversion-type", "OFFLINE", "--json")
    summary = json.loads(result.stdout)
    assert summary["valid"] == 30, result.stderr
    assert "decimal comma" in result.stderr
