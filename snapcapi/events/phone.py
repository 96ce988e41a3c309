"""Phone numbers to E.164 without the "+", by `phonenumbers`, with a fast path for well-formed numbers.

`normalize_phone` is what `identifiers` uses: the fast path first, `parse_phone` (phonenumbers, the
reference) for everything the fast path does not take. `fast_e164` takes only text whose result it can
tell for certain, by the same metadata phonenumbers reads, and returns None for anything else:

- an international number: `+` (or `00`, read as `+`) then ASCII digits and the separators space, `-`,
  `.`, `(` and `)`, whose country code is a geographic one and whose national part has a length
  phonenumbers calls possible for the country. A national prefix after the country code (`+44 (0)20 ...`)
  is dropped where phonenumbers certainly drops it (`_CountryPlan.strip_national_prefix`); other numbers
  that start with what the country's national prefix pattern matches are left to phonenumbers;
- with the default region US: 10 digits that do not start with 0 or 1, or 11 that start with 1 and then
  not with 0 or 1, with the same separators (a North American number written nationally).

Every answer of the fast path is the answer phonenumbers gives (tests/test_fastpaths.py checks it against
generated numbers in many formats); what it gives up on costs one regular expression.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Final

import phonenumbers
from phonenumbers import PhoneMetadata

from snapcapi import spec
from snapcapi.events import places


class PhoneError(ValueError):
    """A phone number that cannot be normalized; the message never repeats the number."""


def parse_phone(text: str, default_region: str) -> str:
    """Return `text` (trimmed, `00` already read as `+`) in E.164 without the "+", by phonenumbers alone.

    Raises PhoneError when the text is not a phone number, or not a possible one (with
    `spec.PHONE_REQUIRE_VALID`: not a valid, allocated one).
    """
    try:
        number = phonenumbers.parse(text, default_region.upper())
    except phonenumbers.NumberParseException as err:
        if err.error_type != phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            raise PhoneError("not a phone number") from None
        if text.startswith("+"):
            raise PhoneError("unknown country code") from None
        raise PhoneError("no country code, and the default region is not a known one") from None
    if spec.PHONE_REQUIRE_VALID:
        if not phonenumbers.is_valid_number(number):
            raise PhoneError("not a valid phone number")
    # Stricter than phonenumbers.is_possible_number, which also passes numbers that are only dialable
    # locally (a US number without its area code): their E.164 form would be wrong.
    elif phonenumbers.is_possible_number_with_reason(number) != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise PhoneError("not a possible phone number (wrong length)")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))[1:]


def normalize_phone(raw: str, default_region: str = "US", *, fast: bool = True) -> str:
    """Return the phone number in E.164 form without the "+": country code and national number, digits only.

    A number without a country code is read as a number of `default_region`. A leading "00" is taken as
    the international prefix in every region. `fast=False` skips the fast path (the reference, for tests).

    Raises PhoneError when the text is not a phone number, or not a possible one.
    """
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    if fast:
        quick = fast_e164(text, default_region)
        if quick is not None:
            return quick
    return parse_phone(text, default_region)


def has_country_code(text: str) -> bool:
    """Return True when a phone number's text says its country itself: it starts with `+` or `00`
    (spaces aside). Any other number is read in a region: the row's country, else the default region."""
    head = text.lstrip()[:2]
    return head[:1] == "+" or head == "00"


@lru_cache(maxsize=1024)  # a file's country column holds a few spellings of a few countries
def region_of_country(country: str) -> str | None:
    """Return the phonenumbers region (upper-case ISO 3166-1 alpha-2) of a row's country, in any form the
    country field takes ("FR", "fra", "France", "United Kingdom"), or None when it is not a country that
    phonenumbers has numbering plans for (then the default region applies)."""
    code = places.country_code(country)
    if code is None:
        return None
    region = code.upper()
    return region if region in phonenumbers.SUPPORTED_REGIONS else None


# Separators the fast path accepts: phonenumbers ignores them, and no extension or second number can hide
# among them (those need letters, "#", "~", "/", "," or ";").
_SHAPE: Final = re.compile(r"\+?[0-9 ().\-]{3,40}")
_SEPARATORS: Final = b" ().-+"
_NANP_REGION: Final = "US"
_COUNTRY_CODES: Final = frozenset(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
_NANP_FIRST: Final = frozenset("23456789")


def fast_e164(text: str, default_region: str) -> str | None:
    """Return E.164 without the "+" for the well-formed numbers described in the module docstring.

    `text` is trimmed, with a leading `00` already read as `+`. Returns None when the number is not one
    of those: then only phonenumbers can tell (and it may refuse the number).
    """
    if spec.PHONE_REQUIRE_VALID or _SHAPE.fullmatch(text) is None:
        return None
    # The text is ASCII (its shape says so): bytes.translate deletes the separators in a third of the time
    # str.translate takes.
    digits = text.encode("ascii").translate(None, _SEPARATORS).decode("ascii")
    if text[0] == "+":
        # Country calling codes are a prefix code: the first prefix that is one is the one (as in
        # phonenumbers' own _extract_country_code).
        size = 1 if digits[:1] in _COUNTRY_CODES else 2 if digits[:2] in _COUNTRY_CODES else 3
        plan = _country(digits[:size]) if digits[:size] in _COUNTRY_CODES else None
        if plan is None:
            return None
        national = digits[size:]
    elif default_region == _NANP_REGION or default_region.upper() == _NANP_REGION:
        plan = _country("1")
        if plan is None:
            return None
        if len(digits) == 10 and digits[0] in _NANP_FIRST:
            national = digits
        elif len(digits) == 11 and digits[0] == "1" and digits[1] in _NANP_FIRST and plan.eleven_too_long:
            national = digits[1:]
        else:
            return None
    else:
        return None
    if plan.national_prefix is not None and (found := plan.national_prefix.match(national)) is not None:
        stripped = plan.strip_national_prefix(national, found)
        if stripped is None:
            return None
        national = stripped
    if len(national) not in plan.lengths:
        return None
    return plan.code + national


class _CountryPlan:
    """What the fast path needs of one country calling code, read from phonenumbers' metadata."""

    __slots__ = ("code", "eleven_too_long", "general", "lengths", "national_prefix", "transforms")

    def __init__(self, code: str, metadata: PhoneMetadata) -> None:
        self.code = code
        pattern = metadata.national_prefix_for_parsing
        self.national_prefix = re.compile(pattern) if pattern else None
        self.transforms = bool(metadata.national_prefix_transform_rule)
        general = metadata.general_desc
        national_pattern = general.national_number_pattern if general is not None else None
        self.general = re.compile(national_pattern) if national_pattern else None
        # The national lengths phonenumbers.is_possible_number_with_reason calls IS_POSSIBLE, asked of it.
        self.lengths = frozenset(
            length
            for length in range(2, 18)
            if phonenumbers.is_possible_number_with_reason(
                phonenumbers.PhoneNumber(country_code=int(code), national_number=int("1" * length))
            )
            == phonenumbers.ValidationResult.IS_POSSIBLE
        )
        # phonenumbers drops a leading country code 1 of an 11-digit national number when the 11 digits
        # are too long for the region: only then is "1 415 555 0123" certainly +1 415 555 0123.
        general = metadata.general_desc
        possible = tuple(general.possible_length or ()) if general is not None else ()
        local = tuple(general.possible_length_local_only or ()) if general is not None else ()
        self.eleven_too_long = bool(possible) and max(possible) < 11 and 11 not in local

    def strip_national_prefix(self, national: str, found: re.Match[str]) -> str | None:
        """Return `national` without the national prefix `found` at its start ("+44 (0)20 ..."), as
        phonenumbers' parse strips it, when the answer is certain; None when only phonenumbers can tell.

        phonenumbers strips the prefix unless the number fits the region's national pattern and would
        not without it, and keeps the stripped number if its length is possible. Here: no transform rule,
        a possible length, and no leading zero left (which E.164 would drop, or keep for Italy).
        """
        stripped = national[found.end() :]
        if self.transforms or stripped[:1] in ("", "0") or len(stripped) not in self.lengths:
            return None
        if self._viable(national) and not self._viable(stripped):
            return None  # phonenumbers keeps the number whole
        return stripped

    def _viable(self, national: str) -> bool:
        return self.general is not None and self.general.fullmatch(national) is not None


def _is_country_code(head: str) -> bool:
    return head.isdigit() and head[0] != "0" and int(head) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE


@cache  # one entry per country calling code there is (about 250)
def _country(code: str) -> _CountryPlan | None:
    if not _is_country_code(code):
        return None
    region = phonenumbers.region_code_for_country_code(int(code))
    if region == phonenumbers.UNKNOWN_REGION or region == "001":  # non-geographic codes: leave them
        return None
    metadata = PhoneMetadata.metadata_for_region(region, None)
    return None if metadata is None else _CountryPlan(code, metadata)
