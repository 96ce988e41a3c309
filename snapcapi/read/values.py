"""Numbers and dates as people write them, read per column and never by a silent guess.

    decide_number(samples)       -> NumberReading  (a decimal "." or ","), or raises Ambiguous
    decide_date(samples, now)    -> DateReading    ("iso", "dmy", "mdy", a strptime pattern), or Ambiguous
    read_number(text, reading)   -> str            "1.299,00" -> "1299.00": what float() reads
    read_date(text, reading)     -> str            "01.12.2026 14:22" -> "2026-12-01T14:22"

A column is decided from its values (the first rows of the file), as the delimiter is sniffed:
- numbers: `12,50`, `1.299,00` and `12,50 €` say the comma is the decimal mark; `1,299.00`, `$1,299.00` and
  `12.50` say the dot is. A column whose values say both, or only `1,299` / `1.299` (a thousands separator
  or a decimal mark with three decimals?), is ambiguous.
- dates written with `/`, `.` or `-` and the year last: a first part over 12 says day-first, a second
  part over 12 says month-first; both in one column is ambiguous. When no value decides, the reading that
  keeps every value inside Snap's window (37 days back, 10 minutes ahead of `now`) wins, if only one does.
An ambiguous column is refused by the caller, with the options that force a reading (`--date-format`,
`--decimal-comma`): moving a conversion by months, or a price by a factor of a thousand, is worse than
refusing it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

WINDOW_BACK: Final = 37 * 86400  # Snap's window: events up to 37 days old
WINDOW_AHEAD: Final = 600  # and 10 minutes ahead (clock skew)


class Ambiguous(ValueError):
    """A column's values allow more than one reading. `value` is one that does; `why` says how."""

    def __init__(self, value: str, why: str) -> None:
        super().__init__(why)
        self.value = value
        self.why = why


# -- numbers ----------------------------------------------------------------------------------------------

# Currency signs and codes around an amount: `$1,299.00`, `12,50 €`, `EUR 12,50`, `1 299,00 kr`.
_CURRENCY = re.compile(r"^\s*(?:[A-Z]{3}|[^\d\s+\-.,]{1,3})?\s*|\s*(?:[A-Z]{3}|[^\d\s.,]{1,3})?\s*$")
_GROUPS_SPACE = re.compile(r"(?<=\d)[\s\u00a0\u202f'](?=\d{3}\b)")
_COMMA_DECIMAL = re.compile(r"^[+-]?\d{1,3}(?:\.\d{3})*,\d+$|^[+-]?\d+,\d{1,2}$|^[+-]?\d+,\d{4,}$")
_DOT_DECIMAL = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})*\.\d+$|^[+-]?\d+\.\d{1,2}$|^[+-]?\d+\.\d{4,}$")
_THOUSANDS_ONLY = re.compile(r"^[+-]?[1-9]\d{0,2}(?:[.,]\d{3})+$")
_PLAIN = re.compile(r"^[+-]?\d+(?:\.\d+)?$")


@dataclass(frozen=True, slots=True)
class NumberReading:
    """How a column writes its numbers: `decimal` is "." or ","; `plain` when no value needs rewriting."""

    decimal: str = "."
    plain: bool = True


def _bare(text: str) -> str:
    """The amount without currency signs and spaces between digit groups."""
    return _GROUPS_SPACE.sub("", _CURRENCY.sub("", text.strip()))


def decide_number(samples: Iterable[str]) -> NumberReading:
    """Return how a column's numbers are written, from some of its values. Raises Ambiguous."""
    comma = dot = unsure = None
    plain = True
    for text in samples:
        stripped = text.strip()
        if not stripped:
            continue
        plain = plain and _PLAIN.match(stripped) is not None and not _THOUSANDS_ONLY.match(stripped)
        bare = _bare(stripped)
        if _THOUSANDS_ONLY.match(bare):
            unsure = unsure or text
        elif _COMMA_DECIMAL.match(bare):
            comma = comma or text
        elif _DOT_DECIMAL.match(bare):
            dot = dot or text
    if comma is not None and dot is not None:
        raise Ambiguous(
            comma, f"some values have a decimal comma ({comma!r}), others a decimal dot ({dot!r})"
        )
    if comma is not None:
        return NumberReading(",", plain=False)
    if unsure is not None and dot is None:
        raise Ambiguous(unsure, f"{unsure!r} may have a thousands separator or a decimal mark")
    return NumberReading(".", plain=plain)


def read_number(text: str, reading: NumberReading) -> str:
    """Return `text` as float() reads it (`1.299,00` -> `1299.00`), or `text` unchanged when it is no
    amount (the event's checks then say what is wrong with it)."""
    bare = _bare(text)
    if reading.decimal == ",":
        if not re.fullmatch(r"[+-]?\d{1,3}(?:\.\d{3})*(?:,\d+)?|[+-]?\d+(?:,\d+)?", bare):
            return text
        return bare.replace(".", "").replace(",", ".")
    if not re.fullmatch(r"[+-]?\d{1,3}(?:,\d{3})*(?:\.\d+)?|[+-]?\d+(?:\.\d+)?", bare):
        return text
    return bare.replace(",", "")


# -- dates ------------------------------------------------------------------------------------------------

# A date with the year last: 30/11/2026, 11-30-2026, 01.12.2026, 1.12.26; then an optional time.
_PARTS = re.compile(
    r"^(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})"
    r"(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp])\.?[Mm]\.?)?)?"
    r"(\s*(?:Z|UTC|GMT|[+-]\d{2}:?\d{2}))?$"
)


@dataclass(frozen=True, slots=True)
class DateReading:
    """How a column writes its dates: "iso" (nothing to rewrite), "dmy", "mdy", or a strptime pattern."""

    order: str = "iso"
    pattern: str | None = None

    @property
    def plain(self) -> bool:
        """True when values are read as they are (ISO 8601, Unix time)."""
        return self.order == "iso" and self.pattern is None


def decide_date(samples: Iterable[str], now: int) -> DateReading:
    """Return how a column's dates are written, from some of its values. Raises Ambiguous."""
    day_first = month_first = None
    undecided: list[re.Match[str]] = []
    for text in samples:
        match = _PARTS.match(text.strip())
        if match is None:
            continue
        first, second = int(match.group(1)), int(match.group(3))
        if first > 12 and second <= 12:
            day_first = day_first or text
        elif second > 12 and first <= 12:
            month_first = month_first or text
        else:
            undecided.append(match)
    if day_first is not None and month_first is not None:
        raise Ambiguous(
            day_first, f"{day_first!r} is day-first, {month_first!r} month-first, in the same column"
        )
    if day_first is not None:
        return DateReading("dmy")
    if month_first is not None:
        return DateReading("mdy")
    if not undecided:
        return DateReading()
    fits = [order for order in ("dmy", "mdy") if all(_in_window(m, order, now) for m in undecided)]
    if len(fits) == 1:
        return DateReading(fits[0])
    if all(int(m.group(1)) == int(m.group(3)) for m in undecided):
        return DateReading("dmy")  # 05/05/2026: both readings are the same day
    text = undecided[0].group(0)
    raise Ambiguous(text, f"{text!r} may be day-first or month-first, and no value of the column tells which")


def _in_window(match: re.Match[str], order: str, now: int) -> bool:
    try:
        moment = datetime.fromisoformat(_iso(match, order))
    except ValueError:
        return False
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    stamp = moment.timestamp()
    # A day of slack either side: the time zone of a time without one is not known here.
    return now - WINDOW_BACK - 86400 <= stamp <= now + WINDOW_AHEAD + 86400


def _iso(match: re.Match[str], order: str) -> str:
    first, _, second, year, hour, minute, seconds, half, zone = match.groups()
    day, month = (first, second) if order == "dmy" else (second, first)
    full_year = int(year) + (2000 if len(year) == 2 else 0)
    text = f"{full_year:04d}-{int(month):02d}-{int(day):02d}"
    if hour is not None:
        h = int(hour)
        if half is not None:
            h = h % 12 + (12 if half in "Pp" else 0)
        text += f"T{h:02d}:{minute}:{seconds or '00'}"
        if zone:
            zone = zone.strip()
            text += "+00:00" if zone in ("Z", "UTC", "GMT") else zone
    return text


def read_date(text: str, reading: DateReading) -> str:
    """Return `text` as ISO 8601 by the column's reading, or unchanged when it does not fit it."""
    stripped = text.strip()
    if reading.pattern is not None:
        try:
            return datetime.strptime(stripped, reading.pattern).isoformat()
        except ValueError:
            return text
    if reading.order not in ("dmy", "mdy"):
        return text
    match = _PARTS.match(stripped)
    return text if match is None else _iso(match, reading.order)
