"""Encoding identifiers fast: the same answers as `identifiers.encode`, without computing them twice.

Names, zip codes, cities, states, countries and genders repeat from row to row (a file of a million
purchases has a few thousand distinct last names), so their normalized and hashed form is memoized in
bounded LRU caches, one a field: a cache of a pure function, whatever it holds, gives the answers the
function gives. Phone numbers and emails are unique per row and are not cached; phone numbers take
`phone.fast_e164` through `identifiers.encode`.

`encoders(region, fast)` gives `events` one encoding function per identifier field, for a run: these
memoized ones, or (`fast=False`) the reference `identifiers.encode` without fast paths or caches, what the
fast paths are checked against.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache, lru_cache
from types import MappingProxyType
from typing import Final

from snapcapi.events import places
from snapcapi.events.identifiers import IDENTIFIERS, IdentifierError, encode, encoder_for

# Fields whose values repeat across rows; a value not seen for a while falls out of the cache.
CACHED_FIELDS: Final = frozenset({"first_name", "last_name", "gender", "city", "state", "zip", "country"})
# Entries in each field's cache, about 400 bytes each (the value, its hash, the LRU's links): under 2 MB a
# field in each worker process, and only a field of many distinct values fills its cache. Big enough for
# names and countries; ZIP+4 codes hardly repeat, and churn through it whatever its size.
CACHE_SIZE: Final = 4_096


def encode_fast(field: str, raw: str, default_region: str) -> str | None:
    """Return `identifiers.encode(field, raw, default_region)`, memoized for `CACHED_FIELDS`.

    Raises IdentifierError and KeyError as `identifiers.encode` does.
    """
    return encoders(default_region, True)[field](raw)


def encode_reference(field: str, raw: str, default_region: str) -> str | None:
    """Return `identifiers.encode(field, raw, default_region)` without fast paths or caches."""
    return encode(field, raw, default_region, fast=False)


@lru_cache(maxsize=CACHE_SIZE)
def region_of(country: str, default_region: str) -> str:
    """Return the upper-case alpha-2 code of a row's `country` (a code or name), or `default_region` when
    it is none (empty, unknown, or hashed already).

    The region a state is read in: any ISO country, "UM" too. A phone number's is
    `phone.region_of_country`, only a country with a numbering plan; one function cannot serve both.
    """
    code = places.country_code(country)
    return code.upper() if code is not None else default_region


@cache  # one region a run, and one for each country of its rows with a state
def encoders(default_region: str, fast: bool) -> Mapping[str, Callable[[str], str | None]]:
    """Return, for every identifier field, `encode_fast(field, raw, default_region)` as a function of
    `raw` (or, with `fast=False`, `encode_reference`'s). Each raises as `identifiers.encode` does."""
    return MappingProxyType(
        {
            field: _cached_encoder(field, default_region)
            if fast and field in CACHED_FIELDS
            else encoder_for(field, default_region, fast=fast)
            for field in IDENTIFIERS
        }
    )


@cache  # one a region that rows' countries name (about 250 at most)
def phone_encoder(region: str, fast: bool) -> Callable[[str], str | None]:
    """Return `identifiers.encode("phone", raw, region)` as a function of `raw`, for rows whose own
    country gives the region of their national numbers. Raises as `identifiers.encode` does."""
    return encoder_for("phone", region, fast=fast)


def _cached_encoder(field: str, default_region: str) -> Callable[[str], str | None]:
    encode = encoder_for(field, default_region)
    # Refusals, by value: a value refused once is refused the same way every time, without normalizing it
    # again (a file often has one bad value in many rows: "N/A" for a zip). Cleared when full.
    refusals: dict[str, str] = {}

    def encode_uncached(raw: str) -> str | None:
        message = refusals.get(raw)
        if message is not None:
            raise IdentifierError(message)
        try:
            return encode(raw)
        except IdentifierError as err:
            if len(refusals) >= CACHE_SIZE:
                refusals.clear()
            refusals[raw] = str(err)
            raise

    # The cache itself is the encoder: a hit is one C call, keyed by the str alone. An exception is never
    # cached by lru_cache; `refusals` remembers those.
    return lru_cache(maxsize=CACHE_SIZE)(encode_uncached)
