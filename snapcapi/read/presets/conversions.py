"""Files made for other ad networks' offline conversion uploads, which advertisers already have.

- Google Ads' offline conversion import template (clicks, and enhanced conversions for leads): a
  `Parameters:TimeZone=...` line above the header, then `Google Click ID`, `Conversion Name`, `Conversion
  Time`, `Conversion Value`, `Conversion Currency`, and for leads `Email`, `Phone Number`, `Order ID`.
  Times without an offset are in the parameters' time zone (a zone name or `+hhmm`). A Google Click ID
  means nothing to Snap and is not sent; a row needs an email or a phone. `Conversion Name` is the event
  when it is one of Snap's names (or one the mapping's `[event_names]` maps), else the row is a PURCHASE.
- Meta's offline events file (the upload template of Events Manager): `email`, `phone` (each possibly
  repeated), `madid`, `fn`, `ln`, `zip`, `ct`, `st`, `country`, `dob`, `gen`, `event_name` (Meta's names:
  `Purchase`, `Lead`, ...), `event_time`, `value`, `currency`, `order_id`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from snapcapi.model import Row
from snapcapi.read.presets.base import Columns, Context, Prepared, Preset, put
from snapcapi.spec import fold

_TIMEZONE = re.compile(r"Parameters\s*:\s*TimeZone\s*=\s*([^,;\t]+)", re.IGNORECASE)


def google_timezone(preamble: list[str] | tuple[str, ...]) -> str | None:
    """The time zone the template's `Parameters:TimeZone=` line names, or None."""
    for line in preamble:
        match = _TIMEZONE.search(line)
        if match:
            return match.group(1).strip()
    return None


def _google_matches(cols: Columns) -> bool:
    return cols.has("Conversion Name", "Conversion Time") and cols.any(
        "Google Click ID", "Email", "Phone Number"
    )


def _google_prepare(rows: Iterator[Row], context: Context) -> Iterator[Prepared]:
    cols = Columns(context.columns)
    for row in rows:
        if row.error is not None:
            yield Prepared(row, None)
            continue
        data = row.data
        values: dict[str, Any] = {}
        put(values, "event_name", cols.first(data, "Conversion Name"))
        put(values, "event_time", cols.first(data, "Conversion Time"))
        put(values, "value", cols.first(data, "Conversion Value"))
        put(values, "currency", cols.first(data, "Conversion Currency"))
        put(values, "email", cols.first(data, "Email"))
        put(values, "phone", cols.first(data, "Phone Number"))
        put(values, "order_id", cols.first(data, "Order ID"))
        put(values, "first_name", cols.first(data, "First Name"))
        put(values, "last_name", cols.first(data, "Last Name"))
        put(values, "zip", cols.first(data, "Zip", "Postal Code"))
        put(values, "country", cols.first(data, "Country"))
        put(values, "city", cols.first(data, "City"))
        put(values, "state", cols.first(data, "State", "Region"))
        yield Prepared(row, values)


# Meta's standard event names, and Snap's for them; the others (Lead, Contact, Other...) have none.
META_EVENTS = {
    "purchase": "PURCHASE",
    "addtocart": "ADD_CART",
    "addtowishlist": "ADD_TO_WISHLIST",
    "addpaymentinfo": "ADD_BILLING",
    "initiatecheckout": "START_CHECKOUT",
    "viewcontent": "VIEW_CONTENT",
    "completeregistration": "SIGN_UP",
    "search": "SEARCH",
    "subscribe": "SUBSCRIBE",
    "starttrial": "START_TRIAL",
    "schedule": "RESERVE",
}
_META_FIELDS = {
    "madid": "madid", "fn": "first_name", "ln": "last_name", "zip": "zip", "ct": "city", "st": "state",
    "country": "country", "dob": "date_of_birth", "gen": "gender", "event_time": "event_time",
    "value": "value", "currency": "currency", "order_id": "order_id", "uid": "external_id",
}  # fmt: skip
_REPEATABLE = ("email", "phone")


def _meta_matches(cols: Columns) -> bool:
    keys = sum(cols.any(key) for key in ("fn", "ln", "ct", "st", "gen", "doby", "madid", "uid"))
    repeated = any(cols.any(f"{key} 2") for key in _REPEATABLE)
    return cols.has("event_name", "event_time") and (keys >= 2 or repeated)


def _meta_prepare(rows: Iterator[Row], context: Context) -> Iterator[Prepared]:
    cols = Columns(context.columns)
    repeats = {
        key: [c for c in context.columns if fold(c) == key or re.fullmatch(f"{key}\\d+", fold(c))]
        for key in _REPEATABLE
    }
    for row in rows:
        if row.error is not None:
            yield Prepared(row, None)
            continue
        data = row.data
        values: dict[str, Any] = {}
        for key, columns in repeats.items():
            found = [str(data[c]).strip() for c in columns if str(data.get(c) or "").strip()]
            put(values, key, found)
        for column, name in _META_FIELDS.items():
            put(values, name, cols.first(data, column))
        event = cols.first(data, "event_name")
        if event is not None:
            values["event_name"] = META_EVENTS.get(fold(event), event)
        yield Prepared(row, values)


GOOGLE = Preset(
    name="google",
    title="a Google Ads offline conversions template",
    matches=_google_matches,
    prepare=_google_prepare,
    columns={
        "event_name": ("Conversion Name",),
        "event_time": ("Conversion Time",),
        "value": ("Conversion Value",),
        "currency": ("Conversion Currency",),
        "email": ("Email",),
        "phone": ("Phone Number",),
        "order_id": ("Order ID",),
    },
)

META = Preset(
    name="meta",
    title="a Meta offline events file",
    matches=_meta_matches,
    prepare=_meta_prepare,
    event=None,
    columns={"email": ("email",), "phone": ("phone",), "event_name": ("event_name",)}
    | {name: (column,) for column, name in _META_FIELDS.items()},
)
