"""Recognized exports (Shopify, WooCommerce, Stripe, Google Ads, Meta) read the way their makers mean them:
one event per order, incomplete orders and payments skipped with the reason, every row one status."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import snapcapi
from snapcapi.emulator import Emulator
from snapcapi.errors import InputError
from tests.conftest import TOKEN, Invoke
from tests.exports import (
    ago,
    google_template,
    meta_offline_events,
    shopify_orders,
    stripe_payments,
    woo_orders,
)

PIXEL = "pixel-exports"


@pytest.fixture(autouse=True)
def in_tmp_path(clean_environment: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A clean environment (the conftest's), in `tmp_path`: no .env is read unless a test writes one."""
    monkeypatch.chdir(tmp_path)


def upload(api: Emulator, path: Path, tmp_path: Path, **settings: Any) -> tuple[Any, list[dict[str, Any]]]:
    """Upload `path` to the emulator as OFFLINE events; return the report, and the report file's rows."""
    report_path = tmp_path / "report.jsonl"
    report = snapcapi.upload(
        path,
        api_url=api.url,
        access_token=TOKEN,
        pixel_id=PIXEL,
        conversion_type="OFFLINE",
        report=report_path,
        workers=1,
        **settings,
    )
    rows = [json.loads(line) for line in report_path.read_text(encoding="utf-8").splitlines()]
    return report, rows


def sent_events(api: Emulator) -> dict[str, dict[str, Any]]:
    """The events the emulator took, by event_id."""
    return {item["event"]["event_id"]: item["event"] for item in api.core.store.events(PIXEL)}


def statuses(rows: list[dict[str, Any]]) -> dict[int, str]:
    return {row["line"]: row["status"] for row in rows}


def test_a_shopify_order_of_three_rows_is_one_purchase_with_its_items(api: Emulator, tmp_path: Path) -> None:
    """Order #1001's three line-item rows make one PURCHASE: num_items the sum of the quantities, the SKUs
    as content_ids, each item in contents; its other rows end skipped, folded into it."""
    report, rows = upload(api, shopify_orders(tmp_path / "orders_export_1.csv"), tmp_path)
    event = sent_events(api)["#1001"]
    assert event["event_name"] == "PURCHASE"
    custom = event["custom_data"]
    assert custom["num_items"] == 4
    assert custom["content_ids"] == ["MUG-1", "POT-9", "LID-2"]
    assert custom["contents"] == [
        {"id": "MUG-1", "quantity": 2, "item_price": 12.5},
        {"id": "POT-9", "quantity": 1, "item_price": 1230.0},
        {"id": "LID-2", "quantity": 1, "item_price": 0.0},
    ]
    assert (custom["value"], custom["currency"], custom["order_id"]) == (1299.0, "USD", "#1001")
    assert {"em", "ph", "fn", "ln", "ct", "st", "zp", "country"} <= set(event["user_data"])
    by_line = {row["line"]: row for row in rows}
    assert by_line[2]["status"] == "sent"
    for line in (3, 4):
        assert by_line[line]["status"] == "skipped"
        assert by_line[line]["warnings"] == [
            "row: folded into its order: a line item of order #1001 (line 2)"
        ]
    assert report.rows == 7 - 1  # six rows under the header, one status each
    assert sum(report.count(s) for s in ("sent", "skipped", "invalid")) == report.rows


def test_shopify_times_keep_their_offset_and_the_paid_time_wins(api: Emulator, tmp_path: Path) -> None:
    """`Paid at` (`2026-11-30 14:22:05 -0500`) is the event time, read with its offset."""
    path = shopify_orders(tmp_path / "orders_export_1.csv")
    upload(api, path, tmp_path)
    paid = next(line for line in path.read_text().splitlines()[1:] if line.startswith("#1001"))
    text = paid.split(",")[3]
    expected = int(datetime.strptime(text, "%Y-%m-%d %H:%M:%S %z").timestamp())
    assert sent_events(api)["#1001"]["event_time"] == expected


def test_a_cancelled_shopify_order_is_skipped_with_the_reason_each_of_its_rows(
    api: Emulator, tmp_path: Path
) -> None:
    """#1002 (refunded, cancelled) is never sent, and neither of its rows is invalid."""
    _, rows = upload(api, shopify_orders(tmp_path / "orders_export_1.csv"), tmp_path)
    by_line = {row["line"]: row for row in rows}
    assert by_line[5]["status"] == by_line[6]["status"] == "skipped"
    assert by_line[5]["warnings"] == ["row: order not completed: cancelled order #1002, not sent"]
    assert by_line[6]["warnings"] == ["row: order not completed: a line item of cancelled order #1002"]
    assert "#1002" not in sent_events(api)


def test_shopify_identifiers_fall_back_to_the_shipping_phone_and_address(
    api: Emulator, tmp_path: Path
) -> None:
    """#1003 has no email, no Phone and no Billing Phone: the Shipping Phone and address are used, and the
    name is split into first and last."""
    upload(api, shopify_orders(tmp_path / "orders_export_1.csv"), tmp_path)
    user = sent_events(api)["#1003"]["user_data"]
    assert "em" not in user
    assert {"ph", "fn", "ln", "ct", "zp", "country"} <= set(user)


def test_the_data_quality_summary_counts_rows_skipped_by_reason(api: Emulator, tmp_path: Path) -> None:
    """The report's quality counts say how many rows were folded or skipped, and why."""
    report, _ = upload(api, shopify_orders(tmp_path / "orders_export_1.csv"), tmp_path)
    assert report.quality.not_events == {"folded into its order": 2, "order not completed": 2}


def test_the_run_announces_the_recognized_export_first(invoke: Invoke, tmp_path: Path) -> None:
    """The run's first line says how the file is read, and how not to."""
    path = shopify_orders(tmp_path / "orders_export_1.csv")
    result = invoke("validate", str(path), "--pixel-id", PIXEL, "--conversion-type", "OFFLINE")
    first = result.stderr.splitlines()[0]
    assert first == (
        f"snapcapi: {path}: read as a Shopify orders export (--preset none reads it as plain columns)"
    )
    assert result.exit_code == 0


def test_preset_none_reads_a_shopify_export_as_plain_columns(invoke: Invoke, tmp_path: Path) -> None:
    """With --preset none nothing is folded: no row is skipped as a line item."""
    path = shopify_orders(tmp_path / "orders_export_1.csv")
    result = invoke(
        "validate", str(path), "--pixel-id", PIXEL, "--conversion-type", "OFFLINE", "--preset", "none",
        "--json",
    )  # fmt: skip
    document = json.loads(result.stdout)
    assert document["quality"]["skipped_not_events"] == {}
    assert "read as" not in result.stderr


def test_a_preset_forced_on_another_file_is_refused_naming_file_line_and_columns(
    invoke: Invoke, tmp_path: Path
) -> None:
    """--preset shopify on a Stripe export: exit 2, a message with the file, line 1 and the missing
    columns, no traceback."""
    path = stripe_payments(tmp_path / "unified_payments.csv")
    result = invoke("validate", str(path), "--pixel-id", PIXEL, "--preset", "shopify")
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    message = " ".join(result.stderr.split())
    assert f"error: {path}: --preset shopify: line 1 (the header) is not a Shopify orders export" in message
    assert "it needs the columns Name, Financial Status, Lineitem quantity" in message


def test_an_unknown_preset_is_a_usage_error(invoke: Invoke, tmp_path: Path) -> None:
    """--preset shopfy names the presets there are."""
    path = stripe_payments(tmp_path / "unified_payments.csv")
    result = invoke("validate", str(path), "--pixel-id", PIXEL, "--preset", "shopfy")
    assert result.exit_code == 2
    assert "expected one of shopify, woocommerce, stripe, google, meta, none or auto" in result.stderr


def test_stripe_sends_paid_payments_and_skips_failed_and_refunded_ones(api: Emulator, tmp_path: Path) -> None:
    """Failed and refunded payments end skipped with the reason; the paid one is a PURCHASE at its UTC
    creation time, its `1.299,00` read as 1299, the card's name split."""
    path = stripe_payments(tmp_path / "unified_payments.csv", comma=True)
    report, rows = upload(api, path, tmp_path)
    assert statuses(rows) == {2: "sent", 3: "skipped", 4: "skipped"}
    by_line = {row["line"]: row for row in rows}
    assert by_line[3]["warnings"] == ["row: payment not completed: failed payment ch_3FailBBBB, not sent"]
    assert by_line[4]["warnings"] == ["row: payment not completed: refunded payment ch_3RefdCCCC, not sent"]
    event = sent_events(api)["pi_3PaidAAAA"]
    assert (event["custom_data"]["value"], event["custom_data"]["currency"]) == (1299.0, "EUR")
    assert {"em", "fn", "ln", "ct", "zp", "country", "external_id"} <= set(event["user_data"])
    assert by_line[2]["event_name"] == "PURCHASE"
    with path.open(encoding="utf-8") as handle:
        handle.readline()
        when = handle.readline().split(",")[1]
    expected = int(datetime.strptime(when, "%Y-%m-%d %H:%M:%S").replace(tzinfo=ZoneInfo("UTC")).timestamp())
    assert event["event_time"] == expected
    assert report.count("invalid") == 0


def test_woocommerce_with_semicolons_and_decimal_commas(api: Emulator, tmp_path: Path) -> None:
    """A German shop's export (`;`, `1.299,00`): order 501's two rows make one event worth 1299.00 with
    both products; cancelled and failed orders are skipped."""
    path = woo_orders(tmp_path / "orders.csv", delimiter=";", comma=True)
    _, rows = upload(api, path, tmp_path, timezone="Europe/Berlin")
    assert statuses(rows) == {2: "sent", 3: "skipped", 4: "skipped", 5: "skipped"}
    by_line = {row["line"]: row for row in rows}
    assert by_line[4]["warnings"] == ["row: order not completed: cancelled order 502, not sent"]
    assert by_line[5]["warnings"] == ["row: order not completed: failed order 503, not sent"]
    custom = sent_events(api)["501"]["custom_data"]
    assert custom["value"] == 1299.0
    assert custom["num_items"] == 3
    assert custom["contents"] == [
        {"id": "TSH-1", "quantity": 2, "item_price": 19.5},
        {"id": "CAP-7", "quantity": 1, "item_price": 1260.0},
    ]


def test_google_template_times_are_read_in_its_parameters_time_zone(api: Emulator, tmp_path: Path) -> None:
    """The `Parameters:TimeZone=America/New_York` line is not a header; times without an offset are New
    York time; `Offline sale` (not a Snap name) is a PURCHASE; the click id is not sent."""
    path = google_template(tmp_path / "google.csv")
    _, rows = upload(api, path, tmp_path)
    assert statuses(rows) == {3: "sent", 4: "sent"}
    text = path.read_text(encoding="utf-8").splitlines()[2].split(",")[4]
    local = datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=ZoneInfo("America/New_York"))
    events = sent_events(api)
    assert events["G-1"]["event_time"] == int(local.timestamp())
    assert events["G-1"]["event_name"] == events["G-2"]["event_name"] == "PURCHASE"
    assert "sc_click_id" not in events["G-1"]["user_data"]


def test_google_template_with_us_dates_and_a_utc_offset_zone(api: Emulator, tmp_path: Path) -> None:
    """`11/30/2026 02:22:05 PM` under `Parameters:TimeZone=-0500`: month-first (the window decides),
    at -5 hours."""
    path = google_template(tmp_path / "google.csv", zone="-0500", us_dates=True)
    upload(api, path, tmp_path)
    text = path.read_text(encoding="utf-8").splitlines()[2].split(",")[4]
    local = datetime.strptime(text + " -0500", "%m/%d/%Y %I:%M:%S %p %z")
    assert sent_events(api)["G-1"]["event_time"] == int(local.timestamp())


def test_meta_offline_events_file_with_repeated_email_columns(api: Emulator, tmp_path: Path) -> None:
    """Meta's file repeats `email` and `phone`: every address is sent; `Purchase` is PURCHASE, and `Lead`
    (no Snap name) is invalid with the usual hint to map it."""
    path = meta_offline_events(tmp_path / "offline_events.csv")
    _, rows = upload(api, path, tmp_path)
    assert statuses(rows) == {2: "sent", 3: "invalid"}
    event = sent_events(api)["M-1"]
    assert len(event["user_data"]["em"]) == 2
    assert event["event_name"] == "PURCHASE"
    assert "'Lead' is not one of Snap's event names" in {row["line"]: row for row in rows}[3]["errors"][0]


def test_a_broken_row_in_a_recognized_export_still_gets_one_status(api: Emulator, tmp_path: Path) -> None:
    """A row that cannot be read (a field count off) ends invalid with its line; the others go on."""
    path = stripe_payments(tmp_path / "unified_payments.csv")
    with path.open("a", encoding="utf-8") as handle:
        handle.write("ch_broken,only,three\n")
    report, rows = upload(api, path, tmp_path)
    assert statuses(rows)[5] == "invalid"
    broken = {row["line"]: row for row in rows}[5]
    assert "line 5: 3 fields, but the header has 46 columns" in broken["errors"][0]
    assert report.rows == 4


def test_recognize_refuses_a_jsonl_file_for_a_forced_preset() -> None:
    """A forced preset needs columns: JSON Lines has none, and the message says which file."""
    from snapcapi.read.presets import recognize

    with pytest.raises(InputError, match=r"^events\.jsonl: --preset stripe: line 1"):
        recognize("events.jsonl", None, "stripe")


def test_stale_dates_are_relative_to_now() -> None:
    """The fixtures' times are made from the clock: within Snap's window, never in the future."""
    assert datetime.now(ago(0).tzinfo) - ago(2) < timedelta(days=37)
