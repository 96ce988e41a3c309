"""Numbers and dates as people write them, decided per column from the values; an ambiguous column refused
with the options that decide it; totals rows skipped; two columns for one field named."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snapcapi.read.values import (
    Ambiguous,
    DateReading,
    NumberReading,
    decide_date,
    decide_number,
    read_date,
    read_number,
)
from tests.conftest import Invoke
from tests.exports import ago, write_rows

PIXEL = "pixel-locale"
NOW = int(datetime(2026, 12, 3, 9, 0, tzinfo=UTC).timestamp())


pytestmark = pytest.mark.usefixtures("clean_environment")


@pytest.mark.parametrize(
    ("values", "decimal", "read"),
    [
        (["12,50", "1.299,00"], ",", ["12.50", "1299.00"]),
        (["1,299.00", "$1,299.00"], ".", ["1299.00", "1299.00"]),
        (["12,50 €", "EUR 3,10"], ",", ["12.50", "3.10"]),
        (["1 299,00", "7,5"], ",", ["1299.00", "7.5"]),
        (["12.50", "1.299"], ".", ["12.50", "1.299"]),
    ],
)
def test_a_number_column_is_read_by_what_its_values_say(
    values: list[str], decimal: str, read: list[str]
) -> None:
    """A decimal comma or a decimal dot, with thousands separators and currency signs around them."""
    reading = decide_number(values)
    assert reading.decimal == decimal
    assert [read_number(v, reading) for v in values] == read


@pytest.mark.parametrize(
    ("values", "why"),
    [
        (["1,299", "2,500"], "'1,299' may have a thousands separator or a decimal mark"),
        (["12,50", "12.5"], "some values have a decimal comma ('12,50'), others a decimal dot ('12.5')"),
    ],
)
def test_a_number_column_that_allows_two_readings_is_ambiguous(values: list[str], why: str) -> None:
    """`1,299` alone may be 1299 or 1.299: no guess."""
    with pytest.raises(Ambiguous) as caught:
        decide_number(values)
    assert caught.value.why == why


def test_plain_numbers_need_no_reading() -> None:
    """12, 12.5 and 0.125 are read as they are: the column is plain (the fast path stays)."""
    assert decide_number(["12", "12.5", "0.125"]) == NumberReading(".", plain=True)


@pytest.mark.parametrize(
    ("values", "order", "first"),
    [
        (["30/11/2026 14:22", "01/12/2026 09:00"], "dmy", "2026-11-30T14:22:00"),
        (["11/30/2026 2:05 PM", "12/01/2026 9:00 AM"], "mdy", "2026-11-30T14:05:00"),
        (["01.12.2026 14:22", "02.12.2026 09:00"], "dmy", "2026-12-01T14:22:00"),  # the window decides
        (["12/01/2026", "12/02/2026"], "mdy", "2026-12-01"),  # the window decides
        (["05-05-2026"], "dmy", "2026-05-05"),  # both readings are one day
    ],
)
def test_a_date_column_is_day_first_or_month_first_by_its_values(
    values: list[str], order: str, first: str
) -> None:
    """A part over 12 decides; else the reading that keeps every date in Snap's window, if only one does."""
    reading = decide_date(values, NOW)
    assert reading == DateReading(order)
    assert read_date(values[0], reading) == first


def test_a_column_with_both_orders_is_ambiguous() -> None:
    """30/11 is day-first, 11/30 month-first: one column cannot be both."""
    with pytest.raises(Ambiguous, match="'30/11/2026' is day-first, '11/30/2026' month-first"):
        decide_date(["30/11/2026", "11/30/2026"], NOW)


def test_dates_no_value_and_no_window_decide_are_ambiguous() -> None:
    """03/04/2026 and 04/03/2026 are both months old either way: refused, not guessed."""
    with pytest.raises(Ambiguous, match="may be day-first or month-first"):
        decide_date(["03/04/2026", "04/03/2026"], NOW)


def crm_export(path: Path, dates: list[str], values: list[str], *, totals: bool = True) -> Path:
    """A European CRM export: BOM, `;`, a date column, a value column, and a totals row."""
    rows = [
        {"Kunde E-Mail": f"k{i}@example.de", "Datum": d, "Betrag": v, "Währung": "EUR",
         "Bestellnummer": f"B{i}"}
        for i, (d, v) in enumerate(zip(dates, values, strict=True))
    ]  # fmt: skip
    if totals:
        rows.append({"Kunde E-Mail": "", "Datum": "", "Betrag": "9.999,99", "Bestellnummer": "Summe"})
    path = write_rows(
        path, ["Bestellnummer", "Kunde E-Mail", "Datum", "Betrag", "Währung"], rows, delimiter=";"
    )
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    return path


def mapping_file(path: Path, settings: str = "") -> Path:
    path.write_text(
        '[columns]\nemail = "Kunde E-Mail"\nevent_time = "Datum"\nvalue = "Betrag"\ncurrency = "Währung"\n'
        f'order_id = "Bestellnummer"\n[constants]\nevent_name = "PURCHASE"\n{settings}',
        encoding="utf-8",
    )
    return path


def validate_json(invoke: Invoke, *args: str) -> tuple[int, dict[str, object], str]:
    result = invoke("validate", *args, "--pixel-id", PIXEL, "--conversion-type", "OFFLINE", "--json")
    return result.exit_code, json.loads(result.stdout), result.stderr


def test_a_european_crm_export_uploads_with_a_mapping_for_its_german_names(
    invoke: Invoke, tmp_path: Path
) -> None:
    """`1.299,00`, `12,50` and `01.12.2026 14:22` are read; the `Summe` row is skipped as a totals row."""
    dates = [ago(1).strftime("%d.%m.%Y %H:%M"), ago(2).strftime("%d.%m.%Y %H:%M")]
    path = crm_export(tmp_path / "crm.csv", dates, ["1.299,00", "12,50"])
    code, document, stderr = validate_json(
        invoke, str(path), "--mapping", str(mapping_file(tmp_path / "map.toml")), "--report", "r.jsonl"
    )
    assert (code, document["valid"], document["skipped"], document["invalid"]) == (0, 2, 1, 0)
    report = [json.loads(line) for line in Path("r.jsonl").read_text().splitlines()]
    assert report[-1]["warnings"] == ["row: totals row: no identifier and no id, not sent"]
    assert "value read with a decimal comma" in stderr


def test_an_ambiguous_date_column_is_refused_naming_the_options(invoke: Invoke, tmp_path: Path) -> None:
    """Dates months old either way: exit 2, the file, the line, the column and both options named."""
    path = crm_export(tmp_path / "crm.csv", ["03/04/2026 10:00", "04/03/2026 11:00"], ["1,50", "2,50"])
    result = invoke(
        "validate", str(path), "--mapping", str(mapping_file(tmp_path / "map.toml")), "--pixel-id", PIXEL
    )
    message = " ".join(result.stderr.split())
    assert result.exit_code == 2
    assert (
        f"error: {path}: line 2, column 'Datum' (event_time): '03/04/2026 10:00' may be day-first" in message
    )
    assert "--date-format PATTERN" in message
    assert "date_format in the mapping file's [settings]" in message


def test_an_ambiguous_number_column_names_decimal_comma(invoke: Invoke, tmp_path: Path) -> None:
    """`1,299` only: refused with --decimal-comma named."""
    dates = [ago(1).strftime("%Y-%m-%d"), ago(2).strftime("%Y-%m-%d")]
    path = crm_export(tmp_path / "crm.csv", dates, ["1,299", "2,500"], totals=False)
    result = invoke(
        "validate", str(path), "--mapping", str(mapping_file(tmp_path / "map.toml")), "--pixel-id", PIXEL
    )
    message = " ".join(result.stderr.split())
    assert result.exit_code == 2
    assert (
        "line 2, column 'Betrag' (value): '1,299' may have a thousands separator or a decimal mark" in message
    )
    assert "--decimal-comma (12,50) or --no-decimal-comma (12.50)" in message


def test_date_format_and_decimal_comma_force_the_reading(invoke: Invoke, tmp_path: Path) -> None:
    """The options decide what the values cannot: `--date-format %d/%m/%Y %H:%M --no-decimal-comma`."""
    dates = [ago(1).strftime("%d/%m/%Y %H:%M"), ago(40).strftime("%d/%m/%Y %H:%M")]
    path = crm_export(tmp_path / "crm.csv", dates, ["1,299", "2,500"])
    mapping = str(mapping_file(tmp_path / "map.toml"))
    _, document, _ = validate_json(
        invoke, str(path), "--mapping", mapping, "--date-format", "%d/%m/%Y %H:%M", "--no-decimal-comma"
    )
    assert (document["valid"], document["invalid"], document["skipped"]) == (1, 1, 1)  # one is 40 days old


def test_the_mapping_file_settings_force_the_reading_too(invoke: Invoke, tmp_path: Path) -> None:
    """`date_format` and `decimal_comma` in `[settings]` do what the flags do."""
    dates = [ago(1).strftime("%m/%d/%Y %H:%M"), ago(2).strftime("%m/%d/%Y %H:%M")]
    path = crm_export(tmp_path / "crm.csv", dates, ["1,299", "2,500"], totals=False)
    settings = '[settings]\ndate_format = "%m/%d/%Y %H:%M"\ndecimal_comma = false\n'
    code, document, _ = validate_json(
        invoke, str(path), "--mapping", str(mapping_file(tmp_path / "map.toml", settings))
    )
    assert (code, document["valid"]) == (0, 2)


def test_day_first_and_month_first_columns_in_two_files_of_one_run(invoke: Invoke, tmp_path: Path) -> None:
    """Each file's column is decided on its own values: 30/11 day-first in one, 11/30 month-first in the
    other; both read to the same day."""
    day = ago(3)
    first = write_rows(
        tmp_path / "eu.csv",
        ["email", "date", "event_name"],
        [{"email": "a@example.com", "date": day.strftime("%d/%m/%Y"), "event_name": "SIGN_UP"},
         {"email": "b@example.com", "date": "13/" + day.strftime("%m/%Y"), "event_name": "SIGN_UP"}],
    )  # fmt: skip
    second = write_rows(
        tmp_path / "us.csv",
        ["email", "date", "event_name"],
        [{"email": "c@example.com", "date": day.strftime("%m/%d/%Y"), "event_name": "SIGN_UP"},
         {"email": "d@example.com", "date": day.strftime("%m/") + "13" + day.strftime("/%Y"),
          "event_name": "SIGN_UP"}],
    )  # fmt: skip
    _, _, stderr = validate_json(invoke, str(first), str(second), "--report", "r.jsonl")
    assert "eu.csv: event_time read as day-first dates" in stderr
    assert "us.csv: event_time read as month-first dates" in stderr
    report = {
        (Path(r["file"]).name, r["line"]): r
        for r in map(json.loads, Path("r.jsonl").read_text().splitlines())
    }
    assert report[("eu.csv", 2)]["status"] == report[("us.csv", 2)]["status"] == "valid"


def test_two_columns_for_one_field_say_which_was_chosen(invoke: Invoke, tmp_path: Path) -> None:
    """`Customer Email` and `Billing Email` both mean email: the first is used, and the run says so and
    how to choose the other."""
    path = write_rows(
        tmp_path / "two.csv",
        ["Customer Email", "Billing Email", "Order Date", "event_name"],
        [{"Customer Email": "a@example.com", "Billing Email": "b@example.com",
          "Order Date": ago(1).strftime("%Y-%m-%d"), "event_name": "SIGN_UP"}],
    )  # fmt: skip
    _, document, stderr = validate_json(invoke, str(path))
    assert (
        f"{path}: email read from 'Customer Email'; 'Billing Email' could feed it too (--map email=COLUMN,"
        " or [columns] in the mapping file, chooses)" in " ".join(stderr.split())
    )
    assert document["valid"] == 1


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="0123456789.,/-: $€EURPMAM\u00a0", max_size=24), max_size=6))
def test_any_column_of_text_gives_a_reading_or_ambiguous_never_a_crash(values: list[str]) -> None:
    """Whatever a column holds: a reading (and every value read by it, as text) or Ambiguous."""
    for decide, read in ((decide_number, read_number), (lambda v: decide_date(v, NOW), read_date)):
        try:
            reading = decide(values)
        except Ambiguous:
            continue
        for value in values:
            assert isinstance(read(value, reading), str)  # type: ignore[arg-type]
