"""Places for identifiers: countries (ISO 3166-1) and their subdivisions (ISO 3166-2), from `pycountry`,
with the names people write that ISO does not ("UK", "Ivory Coast", "Washington, D.C.").

Names are matched on a place key (`place_key`): accents dropped, lower case, ASCII letters and digits only,
so "Côte d'Ivoire", "COTE D'IVOIRE" and "cote divoire" meet. Each table is built the first time it is
needed, once a process (a country's subdivisions once a country): a command that looks up no place never
imports pycountry, whose import alone takes a tenth of a second.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import cache, lru_cache
from types import MappingProxyType
from typing import Final


def place_key(text: str) -> str:
    """Return the matching key of a place name or code: accents dropped, lower case, [a-z0-9] only."""
    if not text.isascii():
        text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return _NOT_KEY.sub("", text.lower())


@lru_cache(maxsize=4096)  # called for every row with a phone (its region) or a state: values repeat
def country_code(name: str) -> str | None:
    """Return the lower-case ISO 3166-1 alpha-2 code of a country, or None when `name` is not one.

    `name` may be an alpha-2 or alpha-3 code, an ISO English name (short, common or official), or a
    common variant ("USA", "UK", "Great Britain", "Ivory Coast", "The Netherlands").
    """
    key = place_key(name)
    countries = _countries()
    code = countries.get(key)
    if code is None and key.startswith("the"):
        # "The Netherlands", "the Gambia": no country's own name starts with "The".
        code = countries.get(key[3:])
    return code


def subdivision_code(name: str, country: str) -> str | None:
    """Return the ISO 3166-2 code of a subdivision of `country` without its country prefix, lower-case
    ("QC", "CA-QC", "Québec" with "CA" give "qc"; "Bayern" with "DE" gives "by"), or None when `name` is
    none of `country`'s. `country` is an alpha-2 code, in any case.

    The US has the USPS codes and names besides ISO's: the military "states" (AA, AE, AP), the freely
    associated states (FM, MH, PW) and common spellings ("Washington, D.C.", "U.S. Virgin Islands").
    """
    return _subdivisions(country.upper()).get(place_key(name))


def us_state_code(name: str) -> str | None:
    """Return the lower-case USPS code of a US state, DC, territory or military "state", or None."""
    return subdivision_code(name, "US")


@cache
def country_alpha3() -> Mapping[str, str]:
    """Every ISO 3166-1 country: lower-case alpha-2 code to lower-case alpha-3 code."""
    import pycountry

    return MappingProxyType({c.alpha_2.lower(): c.alpha_3.lower() for c in pycountry.countries})


_NOT_KEY = re.compile(r"[^a-z0-9]+")
_ASIDE = re.compile(r"\s*(?:\([^)]*\)|\[[^\]]*\])")  # "(Malvinas)", "[Sir Ynys Môn GB-YNM]"

# Names people write for countries that are none of ISO's names, by alpha-2 code, "|"-separated.
_COUNTRY_NAMES: Final = {
    "AE": "UAE",
    "BA": "Bosnia",
    "BL": "St Barts",
    "BN": "Brunei",
    "BQ": "Bonaire | Caribbean Netherlands",
    "CD": "Democratic Republic of the Congo | DR Congo | DRC | Congo-Kinshasa",
    "CG": "Congo-Brazzaville",
    "CI": "Ivory Coast",
    "CV": "Cape Verde",
    "FM": "Micronesia",
    "GB": "UK | Britain | Great Britain | England | Scotland | Wales | Northern Ireland",
    "IE": "Republic of Ireland",
    "KP": "DPRK | Korea, North",
    "KR": "Korea, South | Republic of Korea",
    "LA": "Lao PDR",
    "MK": "Macedonia",
    "MM": "Burma",
    "MO": "Macau",
    "NL": "Holland",
    "PN": "Pitcairn Islands",
    "PS": "Palestine | State of Palestine",
    "RU": "Russia",
    "SH": "Saint Helena | Ascension | Tristan da Cunha",
    "SZ": "Swaziland",
    "TL": "East Timor",
    "TR": "Turkey",
    "VA": "Vatican | Vatican City | Vatican City State",
    "VI": "US Virgin Islands | United States Virgin Islands",
}

# USPS codes and names that are no ISO 3166-2 subdivision of the US, by code, "|"-separated.
_US_NAMES: Final = {
    "AA": "Armed Forces Americas",
    "AE": "Armed Forces Europe",
    "AP": "Armed Forces Pacific",
    "FM": "Federated States of Micronesia | Micronesia",
    "MH": "Marshall Islands",
    "PW": "Palau",
    "DC": "Washington DC | Washington, D.C.",
    "VI": "U.S. Virgin Islands | Virgin Islands | United States Virgin Islands",
    "UM": "U.S. Minor Outlying Islands",
}


def _variants(name: str) -> set[str]:
    """The ways of writing `name` accepted besides itself: without an aside in brackets ("Falkland
    Islands"), "and" left out (the key drops "&"), "Saint" written "St"."""
    variants = {name, _ASIDE.sub("", name)}
    variants |= {variant.replace(" and ", " ") for variant in variants}
    variants |= {"St " + variant[6:] for variant in variants if variant.startswith("Saint ")}
    return variants


def _add(keys: dict[str, str], code: str, names: Iterable[str]) -> None:
    """Map the place key of every name of `names` (and its variants) to `code`, unless taken: the tables
    are filled from the surest names to the loosest, and the first claim of a key wins."""
    for name in names:
        for variant in sorted(_variants(name.strip())):
            key = place_key(variant)
            if key:
                keys.setdefault(key, code)


@cache
def _countries() -> Mapping[str, str]:
    import pycountry

    countries = sorted(pycountry.countries, key=lambda c: c.alpha_2)
    keys: dict[str, str] = {}
    for country in countries:
        code = country.alpha_2.lower()
        _add(keys, code, (country.alpha_2, country.alpha_3, country.name))
    for field in ("common_name", "official_name"):
        for country in countries:
            _add(keys, country.alpha_2.lower(), filter(None, [getattr(country, field, None)]))
    for alpha_2, names in _COUNTRY_NAMES.items():
        _add(keys, alpha_2.lower(), names.split("|"))
    return MappingProxyType(keys)


@lru_cache(maxsize=512)
def _subdivisions(country: str) -> Mapping[str, str]:
    import pycountry

    found = pycountry.subdivisions.get(country_code=country) if len(country) == 2 else None  # type: ignore[no-untyped-call]
    subdivisions = sorted(found or (), key=lambda s: (s.parent_code is not None, s.code))
    keys: dict[str, str] = {}
    for subdivision in subdivisions:  # codes first ("QC", "CA-QC"), then names, the top level's first
        suffix = subdivision.code.split("-", 1)[1]
        _add(keys, suffix.lower(), (suffix, subdivision.code))
    for subdivision in subdivisions:
        _add(keys, subdivision.code.split("-", 1)[1].lower(), (subdivision.name,))
    if country == "US":
        for code, names in _US_NAMES.items():
            _add(keys, code.lower(), (code, *names.split("|")))
    return MappingProxyType(keys)
