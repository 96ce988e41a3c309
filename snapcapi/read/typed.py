"""Typed values (Parquet files, Arrow batches, Spark DataFrames) as the text a CSV export would hold.

Parquet and Spark columns hold numbers, timestamps, decimals, lists and structs; snapcapi builds events
from them by the very code that builds them from a CSV row, after writing each value as its CSV text:

    None -> ""                      (an empty field: left out, as in a CSV)
    True/False -> "true"/"false"    12 -> "12"    12.5 -> "12.5" (repr: the same float read back)
    Decimal("12.50") -> "12.50"     datetime -> ISO 8601 (with its offset when it has one)   date -> ISO
    bytes -> UTF-8 text             a list or a struct -> JSON (what a CSV's `[...]` or `{...}` field holds)

So a Parquet file and the CSV it was exported from give the same events, byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any


def as_text(value: Any) -> str:
    """Return `value` as CSV text (see the module docstring). Never raises."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    writer = _WRITERS.get(kind)
    if writer is not None:
        return writer(value)
    if value is None:
        return ""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default)
    return str(value)


def texts(values: Sequence[Any]) -> list[str]:
    """Return `as_text` of each value: a column's values, as a Parquet or Arrow reader hands them over."""
    return [v if type(v) is str else as_text(v) for v in values]


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


_WRITERS: dict[type, Callable[[Any], str]] = {
    bool: lambda v: "true" if v else "false",
    int: str,
    float: repr,
    Decimal: str,
    datetime: datetime.isoformat,
    date: date.isoformat,
    bytes: lambda v: v.decode("utf-8", "surrogateescape"),
}
