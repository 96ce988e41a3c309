"""Identifiers of a person: how each is normalized, then hashed, before it is sent (SPEC section 5).

`IDENTIFIERS` lists every identifier field by its canonical input name, with its v3 `user_data` key and its
normalizer (in `normalizers`; phone numbers in `phone`). `encode` gives the value to send; `normalize`
gives the plain normalized value.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from snapcapi.events.normalizers import (
    IdentifierError,
    is_sha256,
    normalize_country,
    normalize_date_of_birth,
    normalize_email,
    normalize_external_id,
    normalize_gender,
    normalize_ip_address,
    normalize_madid,
    normalize_phone,
    normalize_phone_reference,
    normalize_state,
    normalize_verbatim,
    normalize_words,
    normalize_zip,
)

__all__ = [
    "IDENTIFIERS",
    "Identifier",
    "IdentifierError",
    "encode",
    "is_hashed",
    "normalize",
    "normalize_country",
    "normalize_date_of_birth",
    "normalize_email",
    "normalize_external_id",
    "normalize_gender",
    "normalize_ip_address",
    "normalize_madid",
    "normalize_phone",
    "normalize_state",
    "normalize_verbatim",
    "normalize_words",
    "normalize_zip",
    "sha256_hex",
]


@dataclass(frozen=True, slots=True)
class Identifier:
    """One identifier field: canonical input name, v3 `user_data` key, and how its value is prepared."""

    field: str
    key: str
    hashed: bool
    is_list: bool
    normalize: Callable[[str, str], str]


def sha256_hex(text: str) -> str:
    """Return the lower-case hex SHA-256 of the UTF-8 bytes of `text`."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_hashed(value: str) -> bool:
    """Return True when `value`, trimmed, is 64 hex digits in either case: a SHA-256 made already."""
    return is_sha256(value.strip())


def normalize(field: str, raw: str, default_region: str = "US") -> str:
    """Return the normalized plain value of identifier `field` (not hashed).

    For a hashed field whose value already is a SHA-256 (64 hex digits), return it trimmed and lower-cased.
    `default_region` is the ISO 3166-1 alpha-2 region of phone numbers written without a country code.

    Raises:
        IdentifierError: the value is empty or invalid for the field.
        KeyError: `field` is not in `IDENTIFIERS`.
    """
    identifier = IDENTIFIERS[field]
    text = raw.strip()
    if not text:
        raise IdentifierError("empty")
    if identifier.hashed and is_sha256(text):
        return text.lower()
    return _normalized(identifier.normalize, text, default_region)


def encode(field: str, raw: str, default_region: str = "US", *, fast: bool = True) -> str | None:
    """Return the value of identifier `field` as it is sent, or None when `raw` is empty or only spaces.

    A hashed field gives the lower-case hex SHA-256 of the normalized value; a value that already is a
    SHA-256 is lower-cased, never hashed again. An unhashed field gives the normalized value.
    `fast=False` normalizes without fast paths (the reference the fast paths are checked against).

    Raises:
        IdentifierError: the value is invalid for the field.
        KeyError: `field` is not in `IDENTIFIERS`.
    """
    return encoder_for(field, default_region, fast=fast)(raw)


def encoder_for(field: str, default_region: str = "US", *, fast: bool = True) -> Callable[[str], str | None]:
    """Return `encode` for one field and region: a function of the raw value alone, for many values.

    Raises KeyError when `field` is not in `IDENTIFIERS`.
    """
    identifier = IDENTIFIERS[field]
    normalizer = identifier.normalize if fast else _REFERENCE.get(field, identifier.normalize)
    hashed = identifier.hashed

    if not hashed:

        def encode_plain(raw: str) -> str | None:
            text = raw.strip()
            return _normalized(normalizer, text, default_region) if text else None

        return encode_plain

    def encode_hashed(raw: str) -> str | None:
        text = raw.strip()
        # An empty value is left out, never hashed: the SHA-256 of "" is a classic bug.
        if not text:
            return None
        if len(text) == 64 and is_sha256(text):
            return text.lower()
        # `sha256_hex(_normalized(...))`, written out: this runs for every identifier of every row.
        value = normalizer(text, default_region)
        if not value.isascii() and _SURROGATE.search(value):
            raise IdentifierError("contains invalid characters")
        return hashlib.sha256(value.encode("utf-8")).hexdigest()

    return encode_hashed


def _normalized(normalizer: Callable[[str, str], str], text: str, default_region: str) -> str:
    value = normalizer(text, default_region)
    # JSON Lines input can carry lone surrogates ("\ud800"), which cannot be encoded as UTF-8 for hashing or
    # for the request body.
    if not value.isascii() and _SURROGATE.search(value):
        raise IdentifierError("contains invalid characters")
    return value


_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Normalizers without their fast paths, by field.
_REFERENCE: Final[Mapping[str, Callable[[str, str], str]]] = MappingProxyType(
    {"phone": normalize_phone_reference}
)


IDENTIFIERS: Final[Mapping[str, Identifier]] = MappingProxyType(
    {
        identifier.field: identifier
        for identifier in (
            Identifier("email", "em", hashed=True, is_list=True, normalize=normalize_email),
            Identifier("phone", "ph", hashed=True, is_list=True, normalize=normalize_phone),
            Identifier("first_name", "fn", hashed=True, is_list=False, normalize=normalize_words),
            Identifier("last_name", "ln", hashed=True, is_list=False, normalize=normalize_words),
            Identifier("gender", "ge", hashed=True, is_list=False, normalize=normalize_gender),
            Identifier("date_of_birth", "db", hashed=True, is_list=False, normalize=normalize_date_of_birth),
            Identifier("city", "ct", hashed=True, is_list=False, normalize=normalize_words),
            Identifier("state", "st", hashed=True, is_list=False, normalize=normalize_state),
            Identifier("zip", "zp", hashed=True, is_list=False, normalize=normalize_zip),
            Identifier("country", "country", hashed=True, is_list=False, normalize=normalize_country),
            Identifier(
                "external_id", "external_id", hashed=True, is_list=True, normalize=normalize_external_id
            ),
            Identifier(
                "ip_address", "client_ip_address", hashed=False, is_list=False, normalize=normalize_ip_address
            ),
            Identifier(
                "user_agent", "client_user_agent", hashed=False, is_list=False, normalize=normalize_verbatim
            ),
            Identifier(
                "sc_click_id", "sc_click_id", hashed=False, is_list=False, normalize=normalize_verbatim
            ),
            Identifier("sc_cookie1", "sc_cookie1", hashed=False, is_list=False, normalize=normalize_verbatim),
            Identifier("madid", "madid", hashed=False, is_list=False, normalize=normalize_madid),
            Identifier("idfv", "idfv", hashed=False, is_list=False, normalize=normalize_verbatim),
        )
    }
)
"""Every identifier field, by canonical input name, in the order of SPEC section 5."""
