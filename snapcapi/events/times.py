"""Reading `event_time`: ISO 8601 (with or without offset), a date alone, Unix seconds or milliseconds,
and the typed values of Parquet files and Spark DataFrames (`datetime`, `date`, `Decimal`).

Also `now` and `now-<N><s|m|h|d>` (`now-90m`, `now-2d`): times relative to the run, for test fixtures and
the bundled samples, which would otherwise fall out of Snap's 37-day window.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from snapcapi.spec import MILLISECONDS_THRESHOLD

_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_RELATIVE = re.compile(r"now(?:\s*-\s*(\d{1,6})\s*([smhd]))?", re.IGNORECASE)
_SPACED_OFFSET = re.compile(
    r"(\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s+([+-]\d{2}:?\d{2}|Z|UTC|GMT)", re.I
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_event_time(value: Any, timezone: tzinfo = UTC, now: int = 0) -> int:
    """Return `value` as Unix seconds; a time without an offset (or a date alone) is read in `timezone`.

    `now` (Unix seconds) anchors relative times.

    Numbers above `spec.MILLISECONDS_THRESHOLD` are read as milliseconds. A `datetime` is read as text
    would be (without a time zone, in `timezone`), a `date` as midnight in `timezone`, a `Decimal` as a
    number. Raises ValueError with a message that can be shown to the user.
    """
    if type(value) is str:  # the common case, tested first
        return _from_text(value.strip(), timezone, now)
    if isinstance(value, bool):
        raise ValueError("expected a time, got true/false")
    if isinstance(value, int) and abs(value) > 10**18:  # float() of a huge JSON integer overflows
        raise ValueError("a Unix time must be a positive number of seconds or milliseconds")
    if isinstance(value, int | float | Decimal):
        return _from_number(float(value))
    if isinstance(value, datetime):  # before date: a datetime is a date too
        return _from_moment(value, timezone)
    if isinstance(value, date):
        return int(datetime(value.year, value.month, value.day, tzinfo=timezone).timestamp())
    if not isinstance(value, str):
        raise ValueError(f"expected a time, got {type(value).__name__}")
    return _from_text(value.strip(), timezone, now)


def _from_text(text: str, timezone: tzinfo, now: int) -> int:
    """`parse_event_time` of trimmed text."""
    if len(text) > 10 and text[10] in "T " and text[:4].isdigit():
        # A date and a time (the common case): not a number, a relative time nor a date alone.
        return _from_iso(text, timezone)
    if _NUMBER.fullmatch(text) and len(text) <= 24:
        return _from_number(float(text))
    relative = _RELATIVE.fullmatch(text)
    if relative:
        amount, unit = relative.groups()
        return now - (int(amount) * _UNIT_SECONDS[unit.lower()] if amount else 0)
    if _DATE.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a real date") from None
        return int(datetime(day.year, day.month, day.day, tzinfo=timezone).timestamp())
    return _from_iso(text, timezone)


def _from_iso(text: str, timezone: tzinfo) -> int:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None:
        # Exports write the offset after a space (Shopify: `2026-11-30 14:22:05 -0500`), or a zone name.
        spaced = _SPACED_OFFSET.fullmatch(text)
        if spaced is not None:
            offset = spaced.group(2)
            offset = "+00:00" if offset.upper() in ("Z", "UTC", "GMT") else offset
            try:
                moment = datetime.fromisoformat(spaced.group(1) + offset)
            except ValueError:
                moment = None
    if moment is None:
        raise ValueError(
            f"{text[:40]!r} is not a time snapcapi reads: use ISO 8601 (2026-11-20T14:03:00Z),"
            " a date (2026-11-20), or Unix seconds or milliseconds"
        ) from None
    return _from_moment(moment, timezone)


def _from_moment(moment: datetime, timezone: tzinfo) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone)
    return int(moment.timestamp())


def _from_number(number: float) -> int:
    if not math.isfinite(number) or number <= 0:
        raise ValueError("a Unix time must be a positive number")
    if number >= MILLISECONDS_THRESHOLD:
        number /= 1000.0
    return int(number)
