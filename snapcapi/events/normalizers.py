"""How each identifier's value is normalized (SPEC section 5), one function per kind of value.

Every normalizer has the signature `(raw, default_region) -> str`: only the phone number uses the region,
the others take it so that all are called alike. A normalizer returns a non-empty string or raises
`IdentifierError`, whose message names the problem but never repeats the value: messages are shown to
users, and the value is personal data. `identifiers.IDENTIFIERS` says which field uses which.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from types import MappingProxyType
from typing import Final

from snapcapi.events import phone, places


class IdentifierError(ValueError):
    """A value that cannot be normalized. `str(err)` is a short reason that never contains the value."""


def is_sha256(text: str) -> bool:
    """Return True when `text` is exactly 64 hex digits, in either case."""
    return len(text) == 64 and _SHA256_HEX.fullmatch(text) is not None


_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


def normalize_phone(raw: str, default_region: str = "US") -> str:
    """Return the phone number in E.164 form without the "+" (see `phone.normalize_phone`).

    Raises IdentifierError when the text is not a phone number, or not a possible one.
    """
    try:
        return phone.normalize_phone(raw, default_region)
    except phone.PhoneError as err:
        raise IdentifierError(str(err)) from None


def normalize_phone_reference(raw: str, default_region: str = "US") -> str:
    """`normalize_phone` by phonenumbers alone, without the fast path: the reference it is checked against.

    Raises IdentifierError as `normalize_phone` does.
    """
    try:
        return phone.normalize_phone(raw, default_region, fast=False)
    except phone.PhoneError as err:
        raise IdentifierError(str(err)) from None


def normalize_email(raw: str, default_region: str = "US") -> str:
    """Return the address trimmed and lower-cased; IdentifierError unless one "@", a dot in the domain."""
    text = raw.strip().lower()
    if _EMAIL.fullmatch(text) is None:
        raise IdentifierError("not an email address")
    return text


_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")


def normalize_words(raw: str, default_region: str = "US") -> str:
    """Return a name or city lower-cased, in NFC, with only its letters, combining marks and digits.

    Punctuation, symbols and whitespace are removed. Raises IdentifierError when nothing is left.
    """
    text = raw.lower()
    if text.isascii():
        kept = _NOT_ASCII_ALNUM.sub("", text)
    else:
        # Combining marks are kept so that a decomposed "e" + U+0308 composes to "ë" below; NFC comes last
        # because dropping a character can bring a base letter and a mark together.
        kept = unicodedata.normalize(
            "NFC", "".join(ch for ch in text if ch.isalnum() or unicodedata.category(ch)[0] == "M")
        )
    if not kept:
        raise IdentifierError("no letters or digits")
    return kept


_NOT_ASCII_ALNUM = re.compile(r"[^a-z0-9]+")


def normalize_gender(raw: str, default_region: str = "US") -> str:
    """Return "m" or "f" for m/male/man or f/female/woman in any case; IdentifierError for anything else."""
    gender = _GENDERS.get(raw.strip().lower())
    if gender is None:
        raise IdentifierError("not m or f (male or female)")
    return gender


_GENDERS: Final[Mapping[str, str]] = MappingProxyType(
    {"m": "m", "male": "m", "man": "m", "f": "f", "female": "f", "woman": "f"}
)


def normalize_date_of_birth(raw: str, default_region: str = "US") -> str:
    """Return a date of birth as YYYYMMDD.

    Accepted: YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD (month and day may have one digit), YYYYMMDD, and ISO
    date-times (the date is taken as written, without converting time zones). Raises IdentifierError for
    another format (day-first or month-first dates included), an impossible date, or a year outside 1900 to
    2099.
    """
    text = raw.strip()
    match = _DATE.fullmatch(text)
    if match is None:
        # (decision) 01/02/1990 is January 2 in the US and February 1 in most other places, and a file
        # does not say which; guessing would hash wrong values silently, so year-last dates are refused.
        if _YEAR_LAST.fullmatch(text):
            raise IdentifierError("day and month order is ambiguous; write YYYY-MM-DD")
        raise IdentifierError("not a date (write YYYY-MM-DD)")
    year = int(match["year"])
    month = int(match["month"] or match["month8"])
    day = int(match["day"] or match["day8"])
    try:
        date(year, month, day)
    except ValueError:
        raise IdentifierError("not a real date") from None
    # Placeholders such as 0001-01-01 and 9999-12-31 are no one's birthday.
    if not _FIRST_BIRTH_YEAR <= year <= _LAST_BIRTH_YEAR:
        raise IdentifierError("year out of range")
    return f"{year:04d}{month:02d}{day:02d}"


_DATE = re.compile(
    r"(?P<year>[0-9]{4})"
    r"(?:(?P<sep>[-/.])(?P<month>[0-9]{1,2})(?P=sep)(?P<day>[0-9]{1,2})"
    r"|(?P<month8>[0-9]{2})(?P<day8>[0-9]{2}))"
    r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?\s*(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?",
    re.IGNORECASE,
)
_YEAR_LAST = re.compile(r"[0-9]{1,2}([-/.])[0-9]{1,2}\1[0-9]{4}(?:[T ].*)?", re.DOTALL)
_FIRST_BIRTH_YEAR: Final = 1900
_LAST_BIRTH_YEAR: Final = 2099


def normalize_state(raw: str, default_region: str = "US") -> str:
    """Return a state as its ISO 3166-2 code without the country prefix, lower-case.

    `default_region` is the row's country when it has one (else the default region): a code or name of one
    of its subdivisions gives that code ("Québec" in CA gives "qc", "Bayern" in DE "by"); a full code gives
    its own ("CA-QC" gives "qc" anywhere). US state, DC and territory names and USPS codes give the USPS
    code in any region, as they always have. Other values are lower-cased without punctuation, symbols or
    whitespace, like a city. Raises IdentifierError when no letter or digit is left.
    """
    code = places.subdivision_code(raw, default_region)
    if code is None and len(raw) > 3 and raw[2] == "-" and raw[:2].isalpha():
        code = places.subdivision_code(raw, raw[:2])
    if code is None and default_region != "US":
        code = places.us_state_code(raw)
    return code if code is not None else normalize_words(raw)


def normalize_zip(raw: str, default_region: str = "US") -> str:
    """Return a postal code in lower case without whitespace; a US ZIP+4 gives its first 5 digits.

    Raises IdentifierError unless it is ASCII letters and digits, optionally joined by hyphens.
    """
    text = _WHITESPACE.sub("", raw).lower()
    if _ZIP_PLUS_4.fullmatch(text):
        return text[:5]
    if _POSTAL_CODE.fullmatch(text) is None:
        raise IdentifierError("not a postal code")
    return text


_WHITESPACE = re.compile(r"\s+")
_ZIP_PLUS_4 = re.compile(r"[0-9]{5}-?[0-9]{4}")
_POSTAL_CODE = re.compile(r"[0-9a-z]+(?:-[0-9a-z]+)*")


def normalize_country(raw: str, default_region: str = "US") -> str:
    """Return a country as its lower-case ISO 3166-1 alpha-2 code.

    Accepted: alpha-2 and alpha-3 codes, English names and common variants (see `places.country_code`).
    Raises IdentifierError for anything else.
    """
    code = places.country_code(raw)
    if code is None:
        raise IdentifierError("not a known country (write an ISO 3166-1 code or English name)")
    return code


def normalize_external_id(raw: str, default_region: str = "US") -> str:
    """Return the external id trimmed and lower-cased; IdentifierError when it is empty."""
    return _nonempty(raw.strip().lower())


def normalize_ip_address(raw: str, default_region: str = "US") -> str:
    """Return the IP address, trimmed, in its canonical form (IPv6 compressed and lower-case).

    Raises IdentifierError when it is not an IPv4 or IPv6 address, or looks hashed (Snap refuses those).
    """
    text = raw.strip()
    if is_sha256(text):
        raise IdentifierError("looks hashed; Snap wants the plain IP address")
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise IdentifierError("not an IPv4 or IPv6 address") from None
    return str(address)


def normalize_verbatim(raw: str, default_region: str = "US") -> str:
    """Return the value trimmed, otherwise as given (user agent, click id, cookie, IDFV).

    Raises IdentifierError when it is empty.
    """
    return _nonempty(raw.strip())


def normalize_madid(raw: str, default_region: str = "US") -> str:
    """Return a mobile ad id (IDFA or AAID) lower-cased, hyphens kept.

    Raises IdentifierError for the all-zero id (the user opted out of tracking), a value that looks hashed,
    and anything but a UUID (32 hex digits, with or without the hyphens).
    """
    text = raw.strip().lower()
    if _UUID.fullmatch(text) is None:
        if is_sha256(text):
            raise IdentifierError("looks hashed; Snap wants the plain mobile ad id")
        raise IdentifierError("not a mobile ad id (IDFA or AAID)")
    if not text.replace("-", "").strip("0"):
        raise IdentifierError("all-zero id: the user opted out")
    return text


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}")


def _nonempty(text: str) -> str:
    if not text:
        raise IdentifierError("empty")
    return text
