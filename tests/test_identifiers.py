"""Tests of identifier normalization and hashing (SPEC section 5)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from snapcapi import spec
from snapcapi.events import identifiers, places
from snapcapi.events.identifiers import (
    IDENTIFIERS,
    IdentifierError,
    encode,
    is_hashed,
    normalize,
    normalize_phone,
    sha256_hex,
)

HASHED_FIELDS = sorted(field for field, identifier in IDENTIFIERS.items() if identifier.hashed)
PLAIN_FIELDS = sorted(field for field, identifier in IDENTIFIERS.items() if not identifier.hashed)
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
A_HASH = "542d240129883c019e106e3b1b2d3f3cb3537c43c425364de8e951d5a3083345"

# SPEC section 5's verified reference values: field, raw, normalized, SHA-256.
REFERENCE = [
    ("email", "Person@Example.com", "person@example.com", A_HASH),
    (
        "email",
        "   Test123@gmail.com    ",
        "test123@gmail.com",
        "cc779c04191c2e736d89e45c11339c8382832bcaf70383f7df94e3d08ba7a6d9",
    ),
    (
        "phone",
        "+44 844 412 4653",
        "448444124653",
        "dc008fda46e2e64002cf2f82a4906236282d431c4f75e5b60bfe79fc48546383",
    ),
    (
        "phone",
        "(415) 555-0123",
        "14155550123",
        "413ba75461ab5f99d36820e561ea97e2bd80f9cb586f7ecea6cf4c496518950a",
    ),
    ("first_name", "John", "john", "96d9632f363564cc3032521409cf22a852f2032eec099ed5967c0d000cec607a"),
    ("first_name", "Raphaël", "raphaël", "e74bb89e718fe1e19c422a48382870399f8bf7ca8dfa008739e75b0be76627b7"),
    ("city", "Menlo Park", "menlopark", "0007a3d64c01e23d5075203c5977c14e4f7e01a3fc570686fcc50b5e1dd42685"),
    (
        "date_of_birth",
        "1997-12-26",
        "19971226",
        "069068313b0b2dd680b9f0b8082228a817fb100433ad1d825ccc4d20123669a8",
    ),
]
REFERENCE_IDS = [f"{field}:{raw.strip()}" for field, raw, _, _ in REFERENCE]


# --- the interface ---------------------------------------------------------------------------------------


def test_identifiers_cover_every_field_of_the_spec() -> None:
    """IDENTIFIERS has exactly the 17 canonical fields, each under its own name."""
    assert set(IDENTIFIERS) == {
        "email",
        "phone",
        "first_name",
        "last_name",
        "gender",
        "date_of_birth",
        "city",
        "state",
        "zip",
        "country",
        "external_id",
        "ip_address",
        "user_agent",
        "sc_click_id",
        "sc_cookie1",
        "madid",
        "idfv",
    }
    assert all(identifier.field == field for field, identifier in IDENTIFIERS.items())


@pytest.mark.parametrize(
    ("field", "key"),
    [
        ("email", "em"),
        ("phone", "ph"),
        ("first_name", "fn"),
        ("last_name", "ln"),
        ("gender", "ge"),
        ("date_of_birth", "db"),
        ("city", "ct"),
        ("state", "st"),
        ("zip", "zp"),
        ("country", "country"),
        ("external_id", "external_id"),
        ("ip_address", "client_ip_address"),
        ("user_agent", "client_user_agent"),
        ("sc_click_id", "sc_click_id"),
        ("sc_cookie1", "sc_cookie1"),
        ("madid", "madid"),
        ("idfv", "idfv"),
    ],
)
def test_each_field_has_its_v3_key(field: str, key: str) -> None:
    """Every field is sent under the v3 user_data key of SPEC section 5."""
    assert IDENTIFIERS[field].key == key


def test_hashed_fields_are_the_personal_data_ones() -> None:
    """Exactly the personal-data fields are hashed; the IP, user agent and device ids are not."""
    assert PLAIN_FIELDS == ["idfv", "ip_address", "madid", "sc_click_id", "sc_cookie1", "user_agent"]


def test_list_fields_are_email_phone_and_external_id() -> None:
    """v3 takes em, ph and external_id as lists; every other key is a single value."""
    assert {field for field, identifier in IDENTIFIERS.items() if identifier.is_list} == {
        "email",
        "phone",
        "external_id",
    }


def test_unknown_field_raises_key_error() -> None:
    """A field that is not an identifier is a programming error, not a bad value."""
    with pytest.raises(KeyError):
        encode("favourite_colour", "blue")


# --- hashing -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "raw", "normalized", "digest"), REFERENCE, ids=REFERENCE_IDS)
def test_reference_value_normalizes(field: str, raw: str, normalized: str, digest: str) -> None:
    """Each reference value of SPEC section 5 normalizes to the verified plain value."""
    assert normalize(field, raw, "US") == normalized


@pytest.mark.parametrize(("field", "raw", "normalized", "digest"), REFERENCE, ids=REFERENCE_IDS)
def test_reference_value_encodes_to_its_hash(field: str, raw: str, normalized: str, digest: str) -> None:
    """Each reference value of SPEC section 5 is sent as the verified SHA-256."""
    assert encode(field, raw, "US") == digest


@pytest.mark.parametrize(("field", "raw", "normalized", "digest"), REFERENCE, ids=REFERENCE_IDS)
def test_sha256_hex_of_normalized_reference_value(field: str, raw: str, normalized: str, digest: str) -> None:
    """sha256_hex gives lower-case hex of the UTF-8 bytes, as Snap expects."""
    assert sha256_hex(normalized) == digest


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (A_HASH, True),
        (A_HASH.upper(), True),
        (f"  {A_HASH}\t", True),
        (A_HASH[:63], False),
        (A_HASH + "0", False),
        ("g" + A_HASH[1:], False),
        ("", False),
    ],
    ids=["lower", "upper", "padded", "63-chars", "65-chars", "not-hex", "empty"],
)
def test_is_hashed_means_64_hex_digits_after_trimming(value: str, expected: bool) -> None:
    """is_hashed is true for exactly 64 hex digits, in either case, after trimming."""
    assert is_hashed(value) is expected


@pytest.mark.parametrize("field", HASHED_FIELDS)
def test_already_hashed_value_is_never_hashed_again(field: str) -> None:
    """A 64-hex value of a hashed field is sent as it is, not hashed a second time."""
    assert encode(field, A_HASH) == A_HASH


@pytest.mark.parametrize("field", HASHED_FIELDS)
def test_upper_case_hash_is_lower_cased(field: str) -> None:
    """Upper-case hex is accepted as a hash and sent lower-cased (Snap compares lower-case hex)."""
    assert encode(field, f" {A_HASH.upper()} ") == A_HASH


@pytest.mark.parametrize("field", HASHED_FIELDS)
def test_normalize_returns_an_existing_hash_lower_cased(field: str) -> None:
    """normalize passes an existing hash through, trimmed and lower-cased."""
    assert normalize(field, f"{A_HASH.upper()}  ") == A_HASH


@pytest.mark.parametrize("field", sorted(IDENTIFIERS))
@pytest.mark.parametrize("raw", ["", "   ", "\t\n"], ids=["empty", "spaces", "tab-newline"])
def test_empty_value_is_left_out(field: str, raw: str) -> None:
    """encode gives None for an empty or blank value: the SHA-256 of "" is never sent."""
    assert encode(field, raw) is None


@pytest.mark.parametrize("field", sorted(IDENTIFIERS))
def test_normalize_refuses_an_empty_value(field: str) -> None:
    """normalize has no value to give for a blank input, so it raises."""
    with pytest.raises(IdentifierError, match=r"^empty$"):
        normalize(field, "  ")


@pytest.mark.parametrize(("field", "raw"), [("first_name", "..."), ("city", " - "), ("last_name", "'")])
def test_value_that_normalizes_to_nothing_is_refused_not_hashed(field: str, raw: str) -> None:
    """A value with nothing left after normalization raises rather than hashing ""."""
    with pytest.raises(IdentifierError, match="no letters or digits"):
        encode(field, raw)


def test_decomposed_name_hashes_like_composed_name() -> None:
    """ "Raphae" + U+0308 (decomposed) is put in NFC, so it hashes like "Raphaël"."""
    assert encode("first_name", "Raphae\u0308l") == encode("first_name", "Rapha\u00ebl")


def test_error_message_never_contains_the_value() -> None:
    """An IdentifierError names the problem, not the personal data that caused it."""
    with pytest.raises(IdentifierError) as caught:
        encode("email", "jane.secret.doe@nowhere")
    assert "jane" not in str(caught.value)
    assert "nowhere" not in str(caught.value)


# --- email ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "person",
        "person@example",
        "a@b@example.com",
        "@example.com",
        "person@",
        "per son@example.com",
        "p@.com",
    ],
)
def test_email_that_is_not_an_address_is_refused(raw: str) -> None:
    """An email needs one "@", something before it, and a dotted domain after it."""
    with pytest.raises(IdentifierError, match="not an email address"):
        normalize("email", raw)


# --- phone ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+44 844 412 4653", "US", "448444124653"),
        ("+1 (415) 555-0123", "GB", "14155550123"),
        ("+39 06 1234 5678", "US", "390612345678"),
        ("0044 844 412 4653", "US", "448444124653"),
        ("00 39 06 1234 5678", "FR", "390612345678"),
        ("011 44 844 412 4653", "US", "448444124653"),
        ("020 7946 0018", "GB", "442079460018"),
        ("06 1234 5678", "IT", "390612345678"),
        ("030 123456", "DE", "4930123456"),
        ("415.555.0123", "us", "14155550123"),
        ("tel:+1-415-555-0123", "US", "14155550123"),
    ],
    ids=[
        "plus-country-code-in-us",
        "us-number-in-gb",
        "italian-leading-zero",
        "00-prefix-in-us",
        "00-prefix-in-fr",
        "us-exit-code-011",
        "gb-national",
        "it-national",
        "de-national",
        "lower-case-region",
        "tel-uri",
    ],
)
def test_phone_normalizes_to_e164_digits(raw: str, region: str, expected: str) -> None:
    """Phone numbers become E.164 digits without "+", parsed in the default region only when needed."""
    assert normalize_phone(raw, region) == expected


def test_phone_with_country_code_gets_no_extra_1() -> None:
    """A number that carries +44 keeps 44 in region US; no "1" is put in front of it."""
    assert not normalize("phone", "+44 844 412 4653", "US").startswith("1")


def test_italian_phone_keeps_its_leading_zero() -> None:
    """Italian numbers keep the 0 after the country code (+39 06 ... is 3906...)."""
    assert normalize("phone", "+39 06 1234 5678", "US") == "390612345678"


def test_double_zero_is_an_international_prefix_not_digits() -> None:
    """ "0044..." in region US is the UK number +44..., not a US number starting with 0044."""
    assert encode("phone", "0044 844 412 4653", "US") == encode("phone", "+44 844 412 4653", "US")


@pytest.mark.parametrize(
    ("raw", "region", "message"),
    [
        ("hello", "US", "not a phone number"),
        ("12", "US", "not a possible phone number"),
        ("555-0123", "US", "not a possible phone number"),
        ("+1 415 555 01234567", "US", "not a possible phone number"),
        ("+999 123 456", "US", "unknown country code"),
        ("415 555 0123", "XX", "no country code"),
        ("415 555 0123", "", "no country code"),
    ],
    ids=["letters", "too-short", "local-only", "too-long", "bad-country-code", "unknown-region", "no-region"],
)
def test_phone_that_cannot_be_a_number_is_refused(raw: str, region: str, message: str) -> None:
    """Text that is not a dialable number, in full, raises IdentifierError with a reason."""
    with pytest.raises(IdentifierError, match=message):
        normalize_phone(raw, region)


def test_phone_possible_but_unallocated_passes_by_default() -> None:
    """By default (spec.PHONE_REQUIRE_VALID is False) a number of the right length is enough."""
    assert normalize_phone("+1 415 123 4567", "US") == "14151234567"


def test_phone_must_be_valid_when_the_spec_requires_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """With spec.PHONE_REQUIRE_VALID, a number outside allocated ranges is refused."""
    monkeypatch.setattr(spec, "PHONE_REQUIRE_VALID", True)
    with pytest.raises(IdentifierError, match="not a valid phone number"):
        normalize_phone("+1 415 123 4567", "US")


# --- names, city, gender, date of birth -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("John", "john"),
        ("  Mary-Jane  ", "maryjane"),
        ("O'Neil", "oneil"),
        ("O\u2019Neil", "oneil"),
        ("JOSÉ", "josé"),
        ("Zoë Anne", "zoëanne"),
        ("Ægir", "ægir"),
        ("Dr. Smith, Jr.", "drsmithjr"),
        ("李 小龍", "李小龍"),
        ("Åsa\u00a0Berg", "åsaberg"),
    ],
)
def test_name_is_lower_case_without_punctuation_or_spaces(raw: str, expected: str) -> None:
    """Names keep their letters (accents included), lower-cased; punctuation and whitespace go."""
    assert normalize("last_name", raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Menlo Park", "menlopark"),
        ("  NEW YORK ", "newyork"),
        ("St. Louis", "stlouis"),
        ("Winston-Salem", "winstonsalem"),
        ("Zürich", "zürich"),
        ("Zu\u0308rich", "zürich"),
    ],
)
def test_city_is_lower_case_without_punctuation_or_spaces(raw: str, expected: str) -> None:
    """Cities are lower-cased, in NFC, without spaces or punctuation."""
    assert normalize("city", raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("m", "m"),
        ("M", "m"),
        ("Male", "m"),
        ("MAN", "m"),
        ("f", "f"),
        (" F ", "f"),
        ("female", "f"),
        ("Woman", "f"),
    ],
)
def test_gender_becomes_m_or_f(raw: str, expected: str) -> None:
    """Gender words in any case become "m" or "f"."""
    assert normalize("gender", raw) == expected


@pytest.mark.parametrize("raw", ["x", "other", "unknown", "mf", "0"])
def test_gender_other_than_m_or_f_is_refused(raw: str) -> None:
    """Snap knows only m and f; anything else raises so the caller can drop it with a warning."""
    with pytest.raises(IdentifierError, match="not m or f"):
        normalize("gender", raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1997-12-26", "19971226"),
        ("19971226", "19971226"),
        ("1997/12/26", "19971226"),
        ("1997.12.26", "19971226"),
        ("1997-1-5", "19970105"),
        ("1997-12-26T00:00:00", "19971226"),
        ("1997-12-26T23:30:00Z", "19971226"),
        ("1997-12-26 23:30:00.123+05:30", "19971226"),
        ("2000-02-29", "20000229"),
    ],
)
def test_date_of_birth_becomes_yyyymmdd(raw: str, expected: str) -> None:
    """Year-first dates and ISO date-times become YYYYMMDD, the date taken as written."""
    assert normalize("date_of_birth", raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("12/26/1997", "ambiguous"),
        ("26/12/1997", "ambiguous"),
        ("01-02-1990", "ambiguous"),
        ("1997-02-30", "not a real date"),
        ("1900-02-29", "not a real date"),
        ("1997-13-01", "not a real date"),
        ("0001-01-01", "year out of range"),
        ("9999-12-31", "year out of range"),
        ("1997-12", "not a date"),
        ("1997-12/26", "not a date"),
        ("Dec 26, 1997", "not a date"),
        ("1997-12-26 garbage", "not a date"),
    ],
)
def test_date_of_birth_that_is_ambiguous_or_impossible_is_refused(raw: str, message: str) -> None:
    """Year-last dates (day or month first?), impossible dates and placeholders raise."""
    with pytest.raises(IdentifierError, match=message):
        normalize("date_of_birth", raw)


# --- state, zip, country ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("CA", "ca"),
        ("California", "ca"),
        ("new york", "ny"),
        ("District of Columbia", "dc"),
        ("Washington, D.C.", "dc"),
        ("Washington", "wa"),
        ("Puerto Rico", "pr"),
        ("U.S. Virgin Islands", "vi"),
        ("Hawai\u02bbi", "hi"),
        ("Ontario", "ontario"),
        ("Île-de-France", "îledefrance"),
    ],
)
def test_state_becomes_a_lower_case_code(raw: str, expected: str) -> None:
    """US state and territory names become USPS codes; other regions are squeezed like a city."""
    assert normalize("state", raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("94025", "94025"),
        ("94025-1234", "94025"),
        ("94025 1234", "94025"),
        ("940251234", "94025"),
        ("SW1A 1AA", "sw1a1aa"),
        ("K1A 0B1", "k1a0b1"),
        ("01310-100", "01310-100"),
        ("1010", "1010"),
    ],
)
def test_zip_is_lower_case_without_spaces_and_zip4_keeps_five_digits(raw: str, expected: str) -> None:
    """Postal codes lose whitespace and case; a US ZIP+4 keeps its first five digits."""
    assert normalize("zip", raw) == expected


@pytest.mark.parametrize("raw", ["N/A", "---", "94025#", "ab--12"])
def test_zip_that_is_not_a_postal_code_is_refused(raw: str) -> None:
    """A postal code is letters and digits, optionally joined by single hyphens."""
    with pytest.raises(IdentifierError, match="not a postal code"):
        normalize("zip", raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("US", "us"),
        ("usa", "us"),
        ("U.S.A.", "us"),
        ("United States", "us"),
        ("United States of America", "us"),
        ("UK", "gb"),
        ("Great Britain", "gb"),
        ("United Kingdom", "gb"),
        ("England", "gb"),
        ("GBR", "gb"),
        ("de", "de"),
        ("Germany", "de"),
        ("Côte d'Ivoire", "ci"),
        ("COTE D\u2019IVOIRE", "ci"),
        ("Ivory Coast", "ci"),
        ("The Netherlands", "nl"),
        ("Bosnia & Herzegovina", "ba"),
        ("St. Lucia", "lc"),
        ("Falkland Islands", "fk"),
        ("Turkey", "tr"),
        ("Türkiye", "tr"),
        ("South Korea", "kr"),
        ("Korea, Republic of", "kr"),
        ("Russia", "ru"),
        ("Viet Nam", "vn"),
        ("Vietnam", "vn"),
        ("Czech Republic", "cz"),
        ("Åland Islands", "ax"),
    ],
)
def test_country_becomes_alpha2(raw: str, expected: str) -> None:
    """Country codes, English names and common variants become lower-case ISO 3166-1 alpha-2."""
    assert normalize("country", raw) == expected


@pytest.mark.parametrize("raw", ["Atlantis", "XX", "ZZZ", "Deutschland", "Korea", "12"])
def test_unknown_country_is_refused(raw: str) -> None:
    """A value that is no ISO 3166-1 code or known English name raises (Korea: which one?)."""
    with pytest.raises(IdentifierError, match="not a known country"):
        normalize("country", raw)


def test_country_table_is_complete_iso_3166_1() -> None:
    """The embedded table has all 249 ISO 3166-1 countries."""
    assert len(places.country_alpha3()) == 249
    assert {"us", "gb", "ax", "bq", "ss", "sx", "xk"} - set(places.country_alpha3()) == {"xk"}


@pytest.mark.parametrize(("alpha2", "alpha3"), sorted(places.country_alpha3().items()))
def test_every_country_code_normalizes_to_its_alpha2(alpha2: str, alpha3: str) -> None:
    """Each alpha-2 code maps to itself, and each alpha-3 code to its alpha-2, whatever the case."""
    assert normalize("country", alpha2.upper()) == alpha2
    assert normalize("country", alpha3.upper()) == alpha2


# --- external id, IP address, user agent, device ids ------------------------------------------------------


def test_external_id_is_trimmed_and_lower_cased() -> None:
    """external_id is hashed from its trimmed, lower-case form."""
    assert normalize("external_id", "  CRM-00042-AbC ") == "crm-00042-abc"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  203.0.113.7 ", "203.0.113.7"),
        ("2001:DB8::1", "2001:db8::1"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
    ],
)
def test_ip_address_is_sent_plain_in_canonical_form(raw: str, expected: str) -> None:
    """The IP address is trimmed and canonical, and encode sends it as is, never hashed."""
    assert encode("ip_address", raw) == expected


@pytest.mark.parametrize("raw", [A_HASH, A_HASH.upper()])
def test_hashed_ip_address_is_refused(raw: str) -> None:
    """A 64-hex IP address is refused: v3 wants the plain address (v2 hashed it)."""
    with pytest.raises(IdentifierError, match=r"^looks hashed; Snap wants the plain IP address$"):
        encode("ip_address", raw)


@pytest.mark.parametrize("raw", ["203.0.113", "256.1.1.1", "203.0.113.7:8080", "localhost", "::g"])
def test_ip_address_that_does_not_parse_is_refused(raw: str) -> None:
    """Only a parseable IPv4 or IPv6 address is accepted."""
    with pytest.raises(IdentifierError, match="not an IPv4 or IPv6 address"):
        encode("ip_address", raw)


@pytest.mark.parametrize("field", ["user_agent", "sc_click_id", "sc_cookie1", "idfv"])
def test_verbatim_field_is_only_trimmed(field: str) -> None:
    """User agent, click id, cookie and IDFV are sent as given, trimmed, case kept."""
    assert encode(field, "  Mozilla/5.0 (X11; Linux) AbC-123  ") == "Mozilla/5.0 (X11; Linux) AbC-123"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("6D92078A-8246-4BA4-AE5B-76104861E7DC", "6d92078a-8246-4ba4-ae5b-76104861e7dc"),
        (" 38400000-8cf0-11bd-b23e-10b96e40000d ", "38400000-8cf0-11bd-b23e-10b96e40000d"),
        ("6D92078A82464BA4AE5B76104861E7DC", "6d92078a82464ba4ae5b76104861e7dc"),
    ],
)
def test_madid_is_lower_cased_with_hyphens_kept(raw: str, expected: str) -> None:
    """A mobile ad id is sent lower-case, plain, with its hyphens."""
    assert encode("madid", raw) == expected


@pytest.mark.parametrize("raw", ["00000000-0000-0000-0000-000000000000", "0" * 32])
def test_all_zero_madid_means_opted_out(raw: str) -> None:
    """The all-zero id is what a device reports when the user opted out: it is refused."""
    with pytest.raises(IdentifierError, match=r"^all-zero id: the user opted out$"):
        encode("madid", raw)


def test_hashed_madid_is_refused() -> None:
    """v3 sends madid plain; a SHA-256 there (a v2 hashed_mobile_ad_id) could never match."""
    with pytest.raises(IdentifierError, match="looks hashed"):
        encode("madid", A_HASH)


@pytest.mark.parametrize(
    "raw", ["not-an-id", "6d92078a-8246-4ba4-ae5b", "6d92078a-8246-4ba4-ae5b-76104861e7dz"]
)
def test_madid_that_is_not_a_uuid_is_refused(raw: str) -> None:
    """IDFA and AAID are UUIDs; anything else is refused."""
    with pytest.raises(IdentifierError, match="not a mobile ad id"):
        encode("madid", raw)


def test_lone_surrogate_is_refused_not_crashed_on() -> None:
    """JSON input can carry a lone surrogate, which has no UTF-8 form; it is an IdentifierError."""
    with pytest.raises(IdentifierError, match="invalid characters"):
        encode("external_id", "abc\ud800")


# --- properties -------------------------------------------------------------------------------------------


def _check_outcome(field: str, raw: str) -> None:
    try:
        value = encode(field, raw)
    except IdentifierError:
        return
    if value is None:
        assert not raw.strip()
    elif IDENTIFIERS[field].hashed:
        assert SHA256_HEX.fullmatch(value)
    else:
        assert value
        assert value == value.strip()


@pytest.mark.parametrize("field", sorted(IDENTIFIERS))
@given(raw=st.text())
def test_any_text_gives_a_value_none_or_identifier_error(field: str, raw: str) -> None:
    """encode never fails otherwise than with IdentifierError; a hashed result is 64 lower-case hex."""
    _check_outcome(field, raw)


@pytest.mark.parametrize("field", sorted(IDENTIFIERS))
@given(raw=st.text(st.characters(exclude_categories=()), max_size=30))
def test_any_code_point_including_surrogates_gives_an_outcome(field: str, raw: str) -> None:
    """Even lone surrogates (possible from JSON input) give a value, None or IdentifierError."""
    _check_outcome(field, raw)


@pytest.mark.parametrize("region", ["US", "GB", "IT", "DE", "", "XX"])
@given(raw=st.from_regex(r"[+0-9 ()\-.]{0,25}", fullmatch=True))
def test_phone_like_text_gives_digits_or_identifier_error(region: str, raw: str) -> None:
    """Any mix of digits and phone punctuation gives E.164 digits or IdentifierError, in any region."""
    try:
        value = normalize_phone(raw, region)
    except IdentifierError:
        return
    assert value.isdigit()
    assert value[0] != "0"


def test_module_keeps_no_mutable_tables() -> None:
    """The lookup tables are read-only, so no caller can change another's normalization."""
    with pytest.raises(TypeError):
        IDENTIFIERS["email"] = IDENTIFIERS["phone"]  # type: ignore[index]
    assert identifiers.IDENTIFIERS is IDENTIFIERS
