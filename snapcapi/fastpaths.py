"""Encoding identifiers fast: the same answers as `identifiers.encode`, without computing them twice.

Names, zip codes, cities, states, countries and genders repeat from row to row (a file of a million
purchases has a few thousand distinct last names), so their normalized and hashed form is memoized in a
bounded LRU cache: a cache of a pure function, whatever it holds, gives the answers the function gives.
Phone numbers and emails are unique per row and are not cached; phone numbers take `phone.fast_e164`
through `identifiers.encode`.

`encoder(fast)` returns the function `events` uses for a run: `encode_fast`, or the reference
`identifiers.encode` without fast paths (`fast=False`, what the fast paths are checked against).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Final

from snapcapi.identifiers import IdentifierError, encode

# Fields whose values repeat across rows; a value not seen for a while falls out of the cache.
CACHED_FIELDS: Final = frozenset({"first_name", "last_name", "gender", "city", "state", "zip", "country"})
CACHE_SIZE: Final = 16_384  # entries of at most a few hundred bytes each: a few MB at most

Encode = Callable[[str, str, str], "str | None"]


def encode_fast(field: str, raw: str, default_region: str) -> str | None:
    """Return `identifiers.encode(field, raw, default_region)`, memoized for `CACHED_FIELDS`.

    Raises IdentifierError and KeyError as `identifiers.encode` does.
    """
    if field not in CACHED_FIELDS:
        return encode(field, raw, default_region)
    value, error = _encode_cached(field, raw, default_region)
    if error is not None:
        raise IdentifierError(error)
    return value


def encode_reference(field: str, raw: str, default_region: str) -> str | None:
    """Return `identifiers.encode(field, raw, default_region)` without fast paths or caches."""
    return encode(field, raw, default_region, fast=False)


def encoder(fast: bool) -> Encode:
    """Return `encode_fast` or, with `fast=False`, `encode_reference`."""
    return encode_fast if fast else encode_reference


@lru_cache(maxsize=CACHE_SIZE)
def _encode_cached(field: str, raw: str, default_region: str) -> tuple[str | None, str | None]:
    # A refusal is cached too, as its message: the same value is refused the same way every time.
    try:
        return encode(field, raw, default_region), None
    except IdentifierError as err:
        return None, str(err)
