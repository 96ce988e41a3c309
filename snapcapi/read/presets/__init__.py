"""Recognized exports: files whose makers snapcapi knows, read the way those makers mean them.

    recognize(columns, choice)  -> Preset | None   `choice`: "auto" (detect), "none", or a preset's name

Detection looks at the header only; `--preset NAME` forces a preset (a file without the columns it needs
is refused, naming them), `--preset none` reads every file as plain columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from snapcapi.errors import ConfigError, InputError
from snapcapi.read.presets.base import Columns, Context, Prepared, Preset
from snapcapi.read.presets.conversions import GOOGLE, META, google_timezone
from snapcapi.read.presets.orders import SHOPIFY, WOOCOMMERCE
from snapcapi.read.presets.payments import STRIPE

__all__ = ["PRESETS", "Context", "Prepared", "Preset", "check_choice", "google_timezone", "recognize"]

PRESETS: Final = {preset.name: preset for preset in (SHOPIFY, WOOCOMMERCE, STRIPE, GOOGLE, META)}
# The columns a forced preset needs at least, to say what is missing.
_NEEDS: Final = {
    "shopify": ("Name", "Financial Status", "Lineitem quantity", "Paid at or Created at"),
    "woocommerce": ("Order Number", "Order Status", "Email (Billing)"),
    "stripe": ("id", "Amount", "Currency", "Status", "Created date (UTC)"),
    "google": ("Conversion Name", "Conversion Time", "Email, Phone Number or Google Click ID"),
    "meta": ("event_name", "event_time", "two of fn, ln, ct, st, gen, madid, uid"),
}


def check_choice(choice: str) -> str:
    """Return `choice` folded ("auto", "none" or a preset's name); raises ConfigError for another."""
    folded = choice.strip().lower()
    if folded in ("auto", "none") or folded in PRESETS:
        return folded
    raise ConfigError(f"--preset {choice!r}: expected one of {', '.join(PRESETS)}, none or auto")


def recognize(name: str, columns: Sequence[str] | None, choice: str = "auto") -> Preset | None:
    """Return the preset file `name` (with `columns`, None for JSON Lines) is read by, or None.

    Raises InputError when `choice` forces a preset on a file that lacks its columns.
    """
    choice = check_choice(choice)
    if choice == "none":
        return None
    cols = Columns(columns or ())
    if choice != "auto":
        preset = PRESETS[choice]
        if columns is None or not preset.matches(cols):
            raise InputError(
                f"{name}: --preset {choice}: line 1 (the header) is not {preset.title}: it needs the"
                f" columns {', '.join(_NEEDS[choice])}"
                + ("" if columns is None else f"; the file has {', '.join(columns[:12])}")
                + ("..." if columns is not None and len(columns) > 12 else "")
            )
        return preset
    if columns is None:
        return None
    for preset in PRESETS.values():
        if preset.matches(cols):
            return preset
    return None
