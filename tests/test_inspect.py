"""`snapcapi inspect FILE`: format, recognized export, each column's field with masked samples, what is
missing, the options to pass, and a mapping file that states every choice."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from snapcapi.inspection import mask
from tests.conftest import Invoke
from tests.exports import ago, google_template, shopify_orders, write_rows

pytestmark = pytest.mark.usefixtures("clean_environment")


@pytest.mark.parametrize(
    ("value", "field", "masked"),
    [
        ("jane.doe@gmail.com", "email", "j***@gmail.com"),
        ("+1 617-555-0100", "phone", "+1 ***-***-0100"),
        ("+44 20 7946 0958", "phone", "+44 ** **** 0958"),
        ("(415) 555-0123", "phone", "(***) ***-0123"),
        ("Jane", "first_name", "J***"),
        ("'02134", "zip", "0***"),
        ("Orders export", None, "O***"),
    ],
)
def test_samples_are_masked(value: str, field: str | None, masked: str) -> None:
    """Never a whole personal value: an email keeps its first letter and domain, a phone its country code
    and last four digits, anything else its first character."""
    assert mask(value, field) == masked


def inspect_json(invoke: Invoke, *args: str) -> tuple[int, dict[str, Any], str]:
    result = invoke("inspect", *args, "--json")
    return result.exit_code, json.loads(result.stdout), result.stdout + result.stderr


def test_inspect_a_shopify_export(invoke: Invoke, tmp_path: Path) -> None:
    """The export is named, each column's field shown with masked samples, and no personal value whole."""
    path = shopify_orders(tmp_path / "orders_export_1.csv")
    code, document, output = inspect_json(invoke, str(path))
    assert code == 0
    assert (document["format"], document["encoding"], document["delimiter"]) == ("csv", "UTF-8", ",")
    assert document["export"] == "shopify"
    columns = {c["column"]: c for c in document["columns"]}
    assert columns["Email"]["field"] == "email"
    assert columns["Email"]["samples"] == ["j***@example.com", "b***@example.com"]
    assert columns["Billing Phone"]["samples"] == ["+1 ***-***-0100"]
    assert columns["Total"]["samples"] == ["1299.00", "25.00"]
    assert columns["Notes"]["field"] is None
    assert columns["Financial Status"]["field"] == "(which rows are sent)"
    assert columns["Financial Status"]["samples"] == ["paid", "refunded"]
    assert document["event_types"] == ["PURCHASE"]
    assert "--conversion-type OFFLINE (no page URL column: not web events?)" in document["suggested_options"]
    for personal in ("jane.doe@example.com", "617-555-0100", "Jane Q Doe", "Boston"):
        assert personal not in output


def test_inspect_prints_tables_for_people(invoke: Invoke, tmp_path: Path) -> None:
    """Without --json: the facts, then the columns table, then what is missing and suggested."""
    path = shopify_orders(tmp_path / "orders_export_1.csv")
    result = invoke("inspect", str(path), "--conversion-type", "OFFLINE")
    assert result.exit_code == 0
    assert "recognized export  a Shopify orders export (--preset shopify)" in result.stdout
    assert "event types: PURCHASE" in result.stdout
    assert "jane.doe@example.com" not in result.stdout


def test_inspect_says_what_a_plain_file_lacks_and_what_to_pass(invoke: Invoke, tmp_path: Path) -> None:
    """No event name, no currency: missing fields named, --event-type and a currency constant suggested."""
    path = write_rows(
        tmp_path / "crm.csv",
        ["Customer Email", "Order Date", "Order Total"],
        [
            {
                "Customer Email": "a@example.com",
                "Order Date": ago(1).strftime("%Y-%m-%d"),
                "Order Total": "12.50",
            }
        ],
    )
    code, document, _ = inspect_json(invoke, str(path))
    assert code == 0
    assert document["export"] is None
    assert "event_name (no column, and no --event-type)" in document["missing"]
    assert "--event-type NAME (PURCHASE, SIGN_UP...: snapcapi event-types)" in document["suggested_options"]
    _, with_type, _ = inspect_json(invoke, str(path), "--event-type", "PURCHASE")
    assert "currency (PURCHASE events need it)" in with_type["missing"]


def test_inspect_reports_an_ambiguous_column_instead_of_failing(invoke: Invoke, tmp_path: Path) -> None:
    """A date column no value decides: inspect still shows the file, and says which option decides it."""
    path = write_rows(
        tmp_path / "dates.csv",
        ["email", "date", "event_name"],
        [{"email": "a@example.com", "date": "03/04/2026", "event_name": "SIGN_UP"},
         {"email": "b@example.com", "date": "04/03/2026", "event_name": "SIGN_UP"}],
    )  # fmt: skip
    code, document, _ = inspect_json(invoke, str(path))
    assert code == 0
    assert "may be day-first or month-first" in str(document["ambiguous"])
    assert "--date-format PATTERN or --decimal-comma / --no-decimal-comma (see below)" in str(
        document["suggested_options"]
    )


def test_write_mapping_states_every_choice_and_the_file_validates_with_it(
    invoke: Invoke, tmp_path: Path
) -> None:
    """The written mapping names each column's field and the readings; passing it validates the file."""
    day = ago(2).strftime("%d.%m.%Y")
    path = write_rows(
        tmp_path / "crm.csv",
        ["Customer Email", "Datum", "Order Total", "Currency", "Event"],
        [{"Customer Email": "a@example.com", "Datum": day, "Order Total": "1.299,00", "Currency": "EUR",
          "Event": "Store Sale"},
         {"Customer Email": "b@example.com", "Datum": "13.11.2026", "Order Total": "12,50", "Currency": "EUR",
          "Event": "Store Sale"}],
        delimiter=";",
    )  # fmt: skip
    mapping = tmp_path / "map.toml"
    result = invoke(
        "inspect", str(path), "--write-mapping", str(mapping), "--map", "event_time=Datum", "--map",
        "event_name=Event",
    )  # fmt: skip
    assert result.exit_code == 0
    document = tomllib.loads(mapping.read_text(encoding="utf-8"))
    assert document["columns"] == {
        "email": "Customer Email",
        "event_time": "Datum",
        "value": "Order Total",
        "currency": "Currency",
        "event_name": "Event",
    }
    assert document["settings"] == {"preset": "none", "decimal_comma": True}
    assert document["event_names"] == {"Store Sale": "PURCHASE"}
    check = invoke("validate", str(path), "--mapping", str(mapping), "--conversion-type", "OFFLINE",
                   "--pixel-id", "p", "--json")  # fmt: skip
    assert json.loads(check.stdout)["valid"] >= 1


def test_inspect_shows_the_google_templates_preamble(invoke: Invoke, tmp_path: Path) -> None:
    """The `Parameters:TimeZone=` line is shown as what is above the header."""
    code, document, _ = inspect_json(invoke, str(google_template(tmp_path / "google.csv")))
    assert code == 0
    assert document["preamble"] == ["Parameters:TimeZone=America/New_York"]
    assert document["export"] == "google"


def test_inspect_a_missing_file_is_a_usage_error(invoke: Invoke, tmp_path: Path) -> None:
    """Exit 2 and the file named, no traceback."""
    result = invoke("inspect", str(tmp_path / "nope.csv"))
    assert result.exit_code == 2
    assert f"error: {tmp_path / 'nope.csv'}: no such file" in result.stderr
