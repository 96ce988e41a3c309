"""What every recognized export shares: its columns looked up by name, and a row read into field values.

A preset reads rows (`Row`, the file's own columns) into `Prepared` items, in input order, one per row:
the canonical field values of the event the row stands for, or the reason the row is no event (`skip`:
a line item folded into its order, a cancelled order, a failed payment, a totals row). Values are text
as the file has it (numbers and dates are read per column later, `snapcapi.read.values`), except lists
and `contents`, which the preset builds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from snapcapi.model import Row
from snapcapi.spec import fold


@dataclass(frozen=True, slots=True)
class Prepared:
    """One input row as a recognized export means it: its event's field values, or why it is none."""

    row: Row
    values: dict[str, Any] | None
    skip: str | None = None


@dataclass(frozen=True, slots=True)
class Context:
    """What a preset knows of its file besides the rows: the columns, and the lines above the header."""

    columns: Sequence[str]
    preamble: Sequence[str] = ()


class Columns:
    """A file's columns by folded name (`Billing Phone`, `billing_phone` and `billingphone` are one)."""

    def __init__(self, columns: Iterable[str]) -> None:
        self.by_fold: dict[str, str] = {}
        for column in columns:
            self.by_fold.setdefault(fold(column), column)

    def has(self, *names: str) -> bool:
        """True when every one of `names` is a column."""
        return all(fold(name) in self.by_fold for name in names)

    def any(self, *names: str) -> bool:
        """True when at least one of `names` is a column."""
        return any(fold(name) in self.by_fold for name in names)

    def name(self, name: str) -> str | None:
        """The column's name as the file writes it, or None."""
        return self.by_fold.get(fold(name))

    def first(self, data: Mapping[str, Any], *names: str) -> str | None:
        """The first of `names` that the row has a (non-blank) value in; None when it has none."""
        for name in names:
            column = self.by_fold.get(fold(name))
            if column is not None:
                value = data.get(column)
                if isinstance(value, str):
                    # A spreadsheet's leading apostrophe ('02134) marks a value as text; it is not part of it.
                    value = value.strip().removeprefix("'").strip()
                if value not in (None, ""):
                    return value if isinstance(value, str) else str(value)
        return None


@dataclass(frozen=True, slots=True)
class Preset:
    """A recognized export: how to tell it from its header, and how to read its rows."""

    name: str  # what --preset takes: "shopify"
    title: str  # how a run announces it: "a Shopify orders export"
    matches: Callable[[Columns], bool]
    prepare: Callable[[Iterator[Row], Context], Iterator[Prepared]]
    event: str | None = "PURCHASE"  # the event its rows are, when the file does not say
    columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # field -> columns, by precedence
    decides: tuple[str, ...] = ()  # columns that decide which rows are sent (a status), not a field


def split_name(full: str | None) -> tuple[str | None, str | None]:
    """`Billing Name` and `Card Name` hold a whole name: the first word is the first name, the rest the
    last (`Anna Maria de la Cruz` -> `Anna`, `Maria de la Cruz`); one word is a first name only."""
    if not full:
        return None, None
    parts = full.split()
    if not parts:
        return None, None
    if len(parts) == 1:
        return parts[0], None
    return parts[0], " ".join(parts[1:])


def put(values: dict[str, Any], name: str, value: Any) -> None:
    """Set a field unless the value is missing."""
    if value not in (None, "", []):
        values[name] = value


def address(values: dict[str, Any], cols: Columns, data: Mapping[str, Any], prefixes: Sequence[str]) -> None:
    """Fill city, state, zip and country from the first address (billing, else shipping) the row has.

    Each prefix is a format string with `{}` for the part: `Billing {}` or `{} (Billing)`."""
    parts = {"city": ("City",), "state": ("Province Code", "Province", "State Code", "State"),
             "zip": ("Zip", "Postcode", "Postal Code"), "country": ("Country Code", "Country")}  # fmt: skip
    for prefix in prefixes:
        found = {
            name: cols.first(data, *(prefix.format(p) for p in options)) for name, options in parts.items()
        }
        if any(found.values()):
            for name, value in found.items():
                put(values, name, value)
            return


# A totals row: its first filled cell says so, and it has no identifier and no id of its own.
TOTAL_WORDS: Final = frozenset(
    "total totals grandtotal sum summe gesamt gesamtsumme totalgeneral totale totaal suma somme".split()
)
_WORD = re.compile(r"[^\w]+")


def is_totals_label(text: Any) -> bool:
    """True for `Total`, `Totals:`, `Grand total`, `Summe`, `Gesamt` ... (a totals row's first cell)."""
    return isinstance(text, str) and _WORD.sub("", text).lower() in TOTAL_WORDS


def first_filled(cells: Iterable[Any]) -> Any:
    """The first cell of a row that is not blank, or None."""
    for cell in cells:
        if cell not in (None, "") and not (isinstance(cell, str) and not cell.strip()):
            return cell
    return None
