"""Excel workbooks: the first sheet or --sheet, date and number cells, a title row above the header, and a
broken workbook refused with a message, never a traceback."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from snapcapi.errors import InputError
from snapcapi.read.open import SourceSpec, open_source
from tests.conftest import Invoke
from tests.exports import SHOPIFY_COLUMNS, ago

PIXEL = "pixel-xlsx"


pytestmark = pytest.mark.usefixtures("clean_environment")


def workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    """Write a workbook with these sheets (name -> rows of cells), in order."""
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def crm_rows(when: datetime) -> list[list[Any]]:
    """A title row, the header, two purchases with a date-time cell, a number phone and a float value."""
    return [
        ["Store sales, last week"],
        ["Order", "Email", "Mobile", "Order Date", "Amount", "Currency", "Event"],
        ["S-1", "ann@example.com", 14155550100, when, 49.9, "USD", "PURCHASE"],
        ["S-2", "ben@example.com", None, when.date(), 1299, "USD", "PURCHASE"],
    ]


def test_a_workbook_is_read_with_its_date_cells_and_its_title_row_skipped(tmp_path: Path) -> None:
    """Date cells become ISO 8601 text, whole numbers lose Excel's `.0`, the title row is skipped and the
    line numbers are the sheet's row numbers."""
    when = datetime(2026, 11, 30, 14, 22, 5)
    path = workbook(tmp_path / "sales.xlsx", {"Sales": crm_rows(when)})
    with open_source(SourceSpec(str(path))) as source:
        assert source.format == "xlsx"
        assert source.columns == ["Order", "Email", "Mobile", "Order Date", "Amount", "Currency", "Event"]
        assert source.preamble == ["Store sales, last week"]
        rows = list(source.rows())
    assert [row.line for row in rows] == [3, 4]
    assert rows[0].data["Order Date"] == "2026-11-30T14:22:05"
    assert rows[0].data["Mobile"] == "14155550100"
    assert rows[0].data["Amount"] == "49.9"
    assert rows[1].data["Order Date"] == "2026-11-30"
    assert rows[1].data["Amount"] == "1299"
    assert rows[1].data["Mobile"] == ""


def test_a_workbook_validates_like_its_csv(invoke: Invoke, tmp_path: Path) -> None:
    """Two purchases of yesterday, date cells read in --timezone: both valid."""
    when = (datetime.now(UTC) - timedelta(days=1)).replace(tzinfo=None, microsecond=0)
    path = workbook(tmp_path / "sales.xlsx", {"Sales": crm_rows(when)})
    result = invoke(
        "validate", str(path), "--pixel-id", PIXEL, "--conversion-type", "OFFLINE", "--json", "--report",
        str(tmp_path / "r.jsonl"),
    )  # fmt: skip
    document = json.loads(result.stdout)
    assert (result.exit_code, document["valid"], document["invalid"]) == (0, 2, 0)


def test_sheet_chooses_a_sheet_by_name_or_number(tmp_path: Path) -> None:
    """--sheet Sales (or 2) reads the second sheet; the first is the default."""
    path = workbook(
        tmp_path / "book.xlsx",
        {"Notes": [["email"], ["x@example.com"]], "Sales": crm_rows(datetime(2026, 11, 30))},
    )
    with open_source(SourceSpec(str(path))) as source:
        assert source.columns == ["email"]
    for sheet in ("Sales", "2"):
        with open_source(SourceSpec(str(path), sheet=sheet)) as source:
            assert source.columns is not None
            assert source.columns[0] == "Order"


def test_an_unknown_sheet_is_refused_naming_the_sheets(tmp_path: Path) -> None:
    """--sheet Orders on a book without it: the message names the file and the sheets it has."""
    path = workbook(tmp_path / "book.xlsx", {"Notes": [["email"]], "Sales": [["email"]]})
    with pytest.raises(InputError, match=r"book\.xlsx: no sheet 'Orders'; its sheets are 'Notes', 'Sales'"):
        open_source(SourceSpec(str(path), sheet="Orders"))


@pytest.mark.parametrize(
    "content",
    [b"PK\x03\x04 not really a zip", b"this is not a workbook at all", b""],
    ids=["truncated zip", "text", "empty"],
)
def test_a_broken_workbook_is_refused_with_a_message(invoke: Invoke, tmp_path: Path, content: bytes) -> None:
    """A damaged .xlsx: exit 2, `error: FILE: not a readable Excel workbook (...)`, no traceback."""
    path = tmp_path / "broken.xlsx"
    path.write_bytes(content)
    result = invoke("validate", str(path), "--pixel-id", PIXEL)
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.startswith(f"error: {path}: not a readable Excel workbook (")


def test_a_cell_past_the_header_is_an_error_row_naming_its_line(tmp_path: Path) -> None:
    """A value in a column the header does not name: that row is an error row with its line."""
    path = workbook(
        tmp_path / "wide.xlsx", {"S": [["email", "event_name"], ["a@example.com", "SIGN_UP", "x"]]}
    )
    with open_source(SourceSpec(str(path))) as source:
        rows = list(source.rows())
    assert rows[0].error == "line 2: a value in column 3, which the header does not name"


def test_a_workbook_without_an_xlsx_name_is_still_read(tmp_path: Path) -> None:
    """A workbook saved as `export` (no extension) is a zip with xl/workbook.xml: read as a workbook."""
    path = workbook(tmp_path / "book.xlsx", {"S": [["email"], ["a@example.com"]]})
    renamed = path.rename(tmp_path / "export")
    with open_source(SourceSpec(str(renamed))) as source:
        assert source.format == "xlsx"


def test_a_shopify_export_saved_as_a_workbook_is_recognized(invoke: Invoke, tmp_path: Path) -> None:
    """Shopify's columns in a workbook: the preset applies, the order's two rows fold into one event."""
    paid = ago(1).strftime("%Y-%m-%d %H:%M:%S -0500")
    first = dict.fromkeys(SHOPIFY_COLUMNS, None) | {
        "Name": "#2001", "Email": "kim@example.com", "Financial Status": "paid", "Paid at": paid,
        "Currency": "USD", "Total": 30.0, "Lineitem quantity": 1, "Lineitem sku": "A-1",
        "Lineitem price": 10.0,
    }  # fmt: skip
    second = dict.fromkeys(SHOPIFY_COLUMNS, None) | {
        "Name": "#2001", "Lineitem quantity": 2, "Lineitem sku": "B-2", "Lineitem price": 10.0,
    }  # fmt: skip
    path = workbook(
        tmp_path / "orders.xlsx",
        {"orders": [list(SHOPIFY_COLUMNS), list(first.values()), list(second.values())]},
    )
    result = invoke(
        "validate", str(path), "--pixel-id", PIXEL, "--conversion-type", "OFFLINE", "--json",
    )  # fmt: skip
    document = json.loads(result.stdout)
    assert "read as a Shopify orders export" in result.stderr
    assert (document["valid"], document["skipped"]) == (1, 1)


def test_the_mapping_files_settings_choose_the_sheet(invoke: Invoke, tmp_path: Path) -> None:
    """`sheet = "Sales"` in the mapping file's [settings] does what --sheet does."""
    when = (datetime.now(UTC) - timedelta(days=1)).replace(tzinfo=None, microsecond=0)
    path = workbook(tmp_path / "book.xlsx", {"Notes": [["nothing"]], "Sales": crm_rows(when)})
    mapping = tmp_path / "map.toml"
    mapping.write_text('[settings]\nsheet = "Sales"\n', encoding="utf-8")
    result = invoke(
        "validate", str(path), "--mapping", str(mapping), "--pixel-id", PIXEL, "--conversion-type", "OFFLINE",
        "--json",
    )  # fmt: skip
    assert json.loads(result.stdout)["valid"] == 2
