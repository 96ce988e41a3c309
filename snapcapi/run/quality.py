"""The data-quality counts a run keeps of its rows' `user_keys` (`events.Assembled.user_keys`): the
user_data keys each row has, and the marks the builder adds (a phone number read in the default region, a
row checked without its asset id)."""

from __future__ import annotations

from snapcapi.events.build import ASSET_HINTS, DEFAULT_REGION_PHONE, UNSET_ASSET
from snapcapi.model import RunReport

# The setting a row's UNSET_ASSET mark asks for (WEB and OFFLINE rows both need the Pixel ID).
_UNSET_HINTS = {UNSET_ASSET[source]: hint for source, hint in ASSET_HINTS.items()}


def count_user_keys(user_keys: dict[tuple[str, ...], int], report: RunReport) -> None:
    """Add to `report` the rows counted by their `user_keys` tuples: identifier counts and default-region
    phones to its quality figures, and one warning for each asset id rows were checked without."""
    quality = report.quality
    identifiers = quality.identifiers
    unset: dict[str, int] = {}  # rows checked without an asset id, by the setting that gives it
    for keys, rows in user_keys.items():
        for key in keys:
            if key == DEFAULT_REGION_PHONE:
                quality.default_region_phones += rows
            elif key in _UNSET_HINTS:
                unset[_UNSET_HINTS[key]] = unset.get(_UNSET_HINTS[key], 0) + rows
            else:
                identifiers[key] = identifiers.get(key, 0) + rows
    for hint, rows in unset.items():
        checked = "1 row was" if rows == 1 else f"{rows:,} rows were"
        report.warnings.append(f"{checked} checked without an asset id; to upload, set {hint}")
