"""Stripe's payments export (Dashboard > Payments > Export: `unified_payments.csv`).

One row per payment, a PURCHASE event: `Amount` and `Currency`, the time `Created date (UTC)` (UTC, as
its name says), `Customer Email`, the name on the card split into first and last name, and the card's
billing address. Only payments that went through are events: any `Status` other than `Paid` (or
`succeeded`), a payment that was not captured, or one refunded in full is skipped with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from snapcapi.model import Row
from snapcapi.read.presets.base import Columns, Context, Prepared, Preset, put, split_name

_PAID = frozenset({"paid", "succeeded", "partially refunded"})
_NAIVE_ISO = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?")


def _matches(cols: Columns) -> bool:
    return cols.has("id", "Amount", "Currency", "Status") and cols.any("Created date (UTC)", "Created (UTC)")


def _payment(cols: Columns, data: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    values: dict[str, Any] = {}
    payment = cols.first(data, "id")
    put(values, "order_id", cols.first(data, "PaymentIntent ID") or payment)
    created = cols.first(data, "Created date (UTC)", "Created (UTC)")
    if created is not None and _NAIVE_ISO.fullmatch(created):
        created += "+00:00"  # the column says UTC; without this it would be read in --timezone
    put(values, "event_time", created)
    put(values, "value", cols.first(data, "Amount"))
    put(values, "currency", cols.first(data, "Currency"))
    put(values, "email", cols.first(data, "Customer Email", "Receipt Email", "email"))
    put(values, "phone", cols.first(data, "Customer Phone", "Phone"))
    first, last = split_name(cols.first(data, "Card Name", "Customer Name", "Customer Description"))
    if first is not None and "@" not in first:
        put(values, "first_name", first)
        put(values, "last_name", last)
    put(values, "city", cols.first(data, "Card Address City"))
    put(values, "state", cols.first(data, "Card Address State"))
    put(values, "zip", cols.first(data, "Card Address Zip"))
    put(values, "country", cols.first(data, "Card Address Country"))
    put(values, "external_id", cols.first(data, "Customer ID"))
    status = (cols.first(data, "Status") or "").lower()
    label = f"payment {payment}" if payment else "payment"
    if status and status not in _PAID:
        return values, f"payment not completed: {status} {label}, not sent"
    if (cols.first(data, "Captured") or "true").lower() == "false":
        return values, f"payment not completed: {label} was not captured, not sent"
    amount, refunded = cols.first(data, "Amount"), cols.first(data, "Amount Refunded")
    if amount and refunded and refunded == amount:
        return values, f"payment not completed: {label} was refunded in full, not sent"
    return values, None


def _prepare(rows: Iterator[Row], context: Context) -> Iterator[Prepared]:
    cols = Columns(context.columns)
    for row in rows:
        if row.error is not None:
            yield Prepared(row, None)
            continue
        values, skip = _payment(cols, row.data)
        yield Prepared(row, None, skip) if skip else Prepared(row, values)


STRIPE = Preset(
    name="stripe",
    title="a Stripe payments export",
    matches=_matches,
    prepare=_prepare,
    decides=("Status", "Captured", "Amount Refunded"),
    columns={
        "order_id": ("PaymentIntent ID", "id"),
        "event_time": ("Created date (UTC)", "Created (UTC)"),
        "value": ("Amount",),
        "currency": ("Currency",),
        "email": ("Customer Email",),
        "first_name": ("Card Name",),
        "last_name": ("Card Name",),
        "city": ("Card Address City",),
        "state": ("Card Address State",),
        "zip": ("Card Address Zip",),
        "country": ("Card Address Country",),
        "external_id": ("Customer ID",),
    },
)
