"""Realistic export files, written at test time with dates relative to now (so they never go stale).

The headers are the ones the makers write, taken from their documentation and public examples:
- Shopify: Admin > Orders > Export (`orders_export_1.csv`), one row per line item, the order's fields on
  its first row only, times as `2026-11-30 14:22:05 -0500`;
- WooCommerce: the Advanced Order Export plugin's default columns (`Order Number`, `Order Status`,
  `Email (Billing)`, `Quantity (- Refund)` ...), one row per product, order fields repeated;
- Stripe: Payments > Export (`unified_payments.csv`), `Created date (UTC)`, `Status` Paid/Failed/Refunded;
- Google Ads: the offline conversion import template, a `Parameters:TimeZone=` line above the header;
- Meta: the offline events file of Events Manager, `email` and `phone` repeated, `fn`, `ln`, `ct` ...
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

SHOPIFY_COLUMNS = (
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,Accepts Marketing,Currency,Subtotal,"
    "Shipping,Taxes,Total,Discount Code,Discount Amount,Shipping Method,Created at,Lineitem quantity,"
    "Lineitem name,Lineitem price,Lineitem compare at price,Lineitem sku,Lineitem requires shipping,"
    "Lineitem taxable,Lineitem fulfillment status,Billing Name,Billing Street,Billing Address1,"
    "Billing Address2,Billing Company,Billing City,Billing Zip,Billing Province,Billing Country,"
    "Billing Phone,Shipping Name,Shipping Street,Shipping Address1,Shipping Address2,Shipping Company,"
    "Shipping City,Shipping Zip,Shipping Province,Shipping Country,Shipping Phone,Notes,Note Attributes,"
    "Cancelled at,Payment Method,Payment Reference,Refunded Amount,Vendor,Outstanding Balance,Employee,"
    "Location,Device ID,Id,Tags,Risk Level,Source,Lineitem discount,Tax 1 Name,Tax 1 Value,Tax 2 Name,"
    "Tax 2 Value,Tax 3 Name,Tax 3 Value,Tax 4 Name,Tax 4 Value,Tax 5 Name,Tax 5 Value,Phone,Receipt Number,"
    "Duties,Billing Province Name,Shipping Province Name,Payment ID,Payment Terms Name,Next Payment Due At,"
    "Payment References"
).split(",")

WOO_COLUMNS = [
    "Order Number", "Order Status", "Order Date", "Customer Note", "First Name (Billing)",
    "Last Name (Billing)", "Company (Billing)", "Address 1&2 (Billing)", "City (Billing)",
    "State Code (Billing)", "Postcode (Billing)", "Country Code (Billing)", "Email (Billing)",
    "Phone (Billing)", "First Name (Shipping)", "Last Name (Shipping)", "Address 1&2 (Shipping)",
    "City (Shipping)", "State Code (Shipping)", "Postcode (Shipping)", "Country Code (Shipping)",
    "Payment Method Title", "Cart Discount Amount", "Order Subtotal Amount", "Shipping Method Title",
    "Order Shipping Amount", "Order Refund Amount", "Order Total Amount", "Order Total Tax Amount",
    "Order Currency", "SKU", "Item #", "Item Name", "Quantity (- Refund)", "Item Cost", "Coupon Code",
    "Discount Amount", "Discount Amount Tax",
]  # fmt: skip

STRIPE_COLUMNS = (
    "id,Created date (UTC),Amount,Amount Refunded,Currency,Captured,Converted Amount,"
    "Converted Amount Refunded,Converted Currency,Decline Reason,Description,Fee,Refunded date (UTC),"
    "Statement Descriptor,Status,Seller Message,Taxes On Fee,Card ID,Customer ID,Customer Description,"
    "Customer Email,Card Name,Card Address Line1,Card Address Line2,Card Address City,Card Address State,"
    "Card Address Country,Card Address Zip,Card Issue Country,Card Fingerprint,Card CVC Status,"
    "Card AVS Zip Status,Card AVS Line1 Status,Card Tokenization Method,Disputed Amount,Dispute Status,"
    "Dispute Reason,Dispute Date (UTC),Dispute Evidence Due (UTC),Invoice ID,Invoice Number,"
    "Payment Source Type,Destination,Transfer,Transfer Group,PaymentIntent ID"
).split(",")

GOOGLE_COLUMNS = [
    "Google Click ID", "Email", "Phone Number", "Conversion Name", "Conversion Time", "Conversion Value",
    "Conversion Currency", "Order ID",
]  # fmt: skip

META_COLUMNS = (
    "email,email,email,phone,phone,phone,madid,fn,ln,zip,ct,st,country,dob,doby,gen,age,event_name,"
    "event_time,value,currency,order_id"
).split(",")

NEW_YORK = timezone(timedelta(hours=-5))


def ago(days: float, zone: timezone = UTC) -> datetime:
    """A moment `days` before now, in `zone`."""
    return datetime.now(zone) - timedelta(days=days)


def shopify_time(days: float) -> str:
    """Shopify's format: `2026-11-30 14:22:05 -0500`."""
    return ago(days, NEW_YORK).strftime("%Y-%m-%d %H:%M:%S %z")


def write_rows(
    path: Path, columns: Sequence[str], rows: Sequence[Mapping[str, str]], *, delimiter: str = ","
) -> Path:
    """Write `rows` (column -> value; the others empty) under `columns`, as the maker's CSV does."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(column, "") for column in columns])
    return path


def shopify_orders(path: Path) -> Path:
    """Three orders: #1001 paid with two line items (three rows: 2 mugs, 1 pot, 1 lid), #1002 cancelled
    and refunded (two rows), #1003 paid with one item and only a shipping phone."""
    first = {
        "Name": "#1001", "Email": "jane.doe@example.com", "Financial Status": "paid",
        "Paid at": shopify_time(2), "Fulfillment Status": "fulfilled", "Accepts Marketing": "no",
        "Currency": "USD", "Subtotal": "1280.00", "Shipping": "10.00", "Taxes": "9.00", "Total": "1299.00",
        "Created at": shopify_time(2.1), "Lineitem quantity": "2", "Lineitem name": "Mug",
        "Lineitem price": "12.50", "Lineitem sku": "MUG-1", "Billing Name": "Jane Q Doe",
        "Billing City": "Boston", "Billing Zip": "'02134", "Billing Province": "MA", "Billing Country": "US",
        "Billing Phone": "'+1 617-555-0100", "Shipping Name": "Jane Q Doe", "Shipping City": "Boston",
        "Shipping Zip": "'02134", "Shipping Province": "MA", "Shipping Country": "US", "Id": "5012345678901",
        "Source": "web",
    }  # fmt: skip
    rows = [
        first,
        {"Name": "#1001", "Email": "jane.doe@example.com", "Created at": shopify_time(2.1),
         "Lineitem quantity": "1", "Lineitem name": "Tea pot", "Lineitem price": "1230.00",
         "Lineitem sku": "POT-9"},
        {"Name": "#1001", "Email": "jane.doe@example.com", "Created at": shopify_time(2.1),
         "Lineitem quantity": "1", "Lineitem name": "Lid", "Lineitem price": "0.00", "Lineitem sku": "LID-2"},
        {"Name": "#1002", "Email": "bob@example.com", "Financial Status": "refunded",
         "Paid at": shopify_time(3), "Currency": "USD", "Total": "25.00", "Created at": shopify_time(3),
         "Lineitem quantity": "1", "Lineitem name": "Mug", "Lineitem price": "12.50", "Lineitem sku": "MUG-1",
         "Cancelled at": shopify_time(1), "Billing Name": "Bob Roe", "Billing Country": "US"},
        {"Name": "#1002", "Email": "bob@example.com", "Created at": shopify_time(3),
         "Lineitem quantity": "1", "Lineitem name": "Mug", "Lineitem price": "12.50",
         "Lineitem sku": "MUG-2"},
        {"Name": "#1003", "Email": "", "Financial Status": "paid", "Paid at": shopify_time(1),
         "Currency": "CAD", "Total": "40.00", "Created at": shopify_time(1), "Lineitem quantity": "3",
         "Lineitem name": "Candle", "Lineitem price": "13.33", "Lineitem sku": "CND-3",
         "Shipping Name": "Ann Lee", "Shipping City": "Toronto", "Shipping Zip": "M5V 2T6",
         "Shipping Province": "ON", "Shipping Country": "CA", "Shipping Phone": "+1 416 555 0199"},
    ]  # fmt: skip
    return write_rows(path, SHOPIFY_COLUMNS, rows)


def woo_orders(path: Path, *, delimiter: str = ",", comma: bool = False) -> Path:
    """Order 501 completed (two products, two rows), order 502 cancelled, order 503 failed; a shop that
    writes `1.299,00` when `comma`."""
    total = "1.299,00" if comma else "1299.00"
    when = ago(1).strftime("%Y-%m-%d %H:%M")
    common = {
        "Order Number": "501", "Order Status": "completed", "Order Date": when,
        "First Name (Billing)": "Lena", "Last Name (Billing)": "Schmidt", "City (Billing)": "Berlin",
        "Postcode (Billing)": "10115", "Country Code (Billing)": "DE", "Email (Billing)": "lena@example.de",
        "Phone (Billing)": "+49 30 901820", "Order Total Amount": total, "Order Currency": "EUR",
    }  # fmt: skip
    rows = [
        {**common, "SKU": "TSH-1", "Item #": "1", "Item Name": "T-shirt", "Quantity (- Refund)": "2",
         "Item Cost": "19,50" if comma else "19.50"},
        {**common, "SKU": "CAP-7", "Item #": "2", "Item Name": "Cap", "Quantity (- Refund)": "1",
         "Item Cost": "1.260,00" if comma else "1260.00"},
        {**common, "Order Number": "502", "Order Status": "cancelled", "Email (Billing)": "max@example.de",
         "SKU": "CAP-7", "Item #": "1", "Quantity (- Refund)": "1"},
        {**common, "Order Number": "503", "Order Status": "failed", "Email (Billing)": "eva@example.de",
         "SKU": "TSH-1", "Item #": "1", "Quantity (- Refund)": "1"},
    ]  # fmt: skip
    return write_rows(path, WOO_COLUMNS, rows, delimiter=delimiter)


def stripe_payments(path: Path, *, comma: bool = False) -> Path:
    """A paid payment, a failed one, one refunded in full; amounts `1.299,00` style when `comma`."""
    created = ago(1).strftime("%Y-%m-%d %H:%M:%S")
    amount = "1.299,00" if comma else "1299.00"
    base = {
        "Created date (UTC)": created, "Amount": amount, "Amount Refunded": "0,00" if comma else "0.00",
        "Currency": "eur", "Captured": "true", "Fee": "18,49" if comma else "18.49", "Status": "Paid",
        "Customer ID": "cus_Q1w2E3r4T5", "Customer Email": "marie@example.fr", "Card Name": "Marie Curie",
        "Card Address City": "Paris", "Card Address Country": "FR", "Card Address Zip": "75005",
        "Payment Source Type": "card",
    }  # fmt: skip
    rows = [
        {**base, "id": "ch_3PaidAAAA", "PaymentIntent ID": "pi_3PaidAAAA"},
        {**base, "id": "ch_3FailBBBB", "PaymentIntent ID": "pi_3FailBBBB", "Status": "Failed",
         "Captured": "false", "Decline Reason": "card_declined"},
        {**base, "id": "ch_3RefdCCCC", "PaymentIntent ID": "pi_3RefdCCCC", "Status": "Refunded",
         "Amount Refunded": amount},
    ]  # fmt: skip
    return write_rows(path, STRIPE_COLUMNS, rows)


def google_template(path: Path, *, zone: str = "America/New_York", us_dates: bool = False) -> Path:
    """The template with its `Parameters:TimeZone=` line: two leads' conversions, times in `zone`."""
    when = ago(2)
    text = when.strftime("%m/%d/%Y %I:%M:%S %p") if us_dates else when.strftime("%Y-%m-%d %H:%M:%S")
    rows = [
        {"Google Click ID": "Cj0KCQiA1", "Email": "lead1@example.com", "Conversion Name": "Offline sale",
         "Conversion Time": text, "Conversion Value": "250", "Conversion Currency": "USD", "Order ID": "G-1"},
        {"Google Click ID": "", "Phone Number": "+1 212 555 0142", "Conversion Name": "Purchase",
         "Conversion Time": text, "Conversion Value": "99.90", "Conversion Currency": "USD",
         "Order ID": "G-2"},
    ]  # fmt: skip
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([f"Parameters:TimeZone={zone}", *[""] * (len(GOOGLE_COLUMNS) - 1)])
        writer.writerow(GOOGLE_COLUMNS)
        for row in rows:
            writer.writerow([row.get(c, "") for c in GOOGLE_COLUMNS])
    return path


def meta_offline_events(path: Path) -> Path:
    """Meta's upload template: three email and three phone columns, `Purchase` and `Lead` events."""
    when = ago(1).strftime("%Y-%m-%dT%H:%M:%S+0000")
    rows = [
        ["a@example.com", "a.work@example.com", "", "+1 415 555 0101", "", "", "", "Ann", "Lee", "94105",
         "San Francisco", "CA", "US", "", "1990", "f", "", "Purchase", when, "49.99", "USD", "M-1"],
        ["b@example.com", "", "", "", "", "", "", "Ben", "Ode", "10001", "New York", "NY", "US", "", "", "m",
         "", "Lead", when, "", "", "M-2"],
    ]  # fmt: skip
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(META_COLUMNS)
        writer.writerows(rows)
    return path
