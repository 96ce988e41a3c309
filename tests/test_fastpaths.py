"""Fast paths give the reference's answers: phone numbers, cached identifiers, JSON, mapping, emulator.

Each fast path is checked against the slow path it stands in for, on generated values of many shapes:
the same value, or the same refusal with the same message.
"""

from __future__ import annotations

import json
from typing import Any

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snapcapi.emulator.quick import plainly_valid_prefix
from snapcapi.emulator.rules import VALID, check_event
from snapcapi.events import phone
from snapcapi.events.fastpaths import CACHE_SIZE, CACHED_FIELDS, encode_fast, encode_reference
from snapcapi.events.identifiers import IdentifierError, sha256_hex
from snapcapi.events.mapping import Mapper, MappingConfig
from snapcapi.events.wire import build_body, encode_event, encode_json, join_body
from snapcapi.model import Row

REGIONS = ["US", "GB", "FR", "DE", "IT", "CA", "AU", "IN", "us", "ZZ"]
COUNTRY_CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
SEPARATORS = ["", " ", "-", ".", "(", ")", " - ", ") ", "/", "\t", "x", "#"]


def outcome(function: Any, *args: Any, **kwargs: Any) -> tuple[str, str]:
    """("ok", value) or ("error", message): what a normalizer gave."""
    try:
        return "ok", function(*args, **kwargs)
    except (phone.PhoneError, IdentifierError) as err:
        return "error", str(err)


@st.composite
def phone_texts(draw: st.DrawFn) -> str:
    """Phone numbers as people write them: prefixes, country codes, digits, separators, noise."""
    prefix = draw(st.sampled_from(["", "+", "00", "+ ", "011 ", "1 ", "1-", "0", "(", "+(", "++", " "]))
    code = str(draw(st.sampled_from(COUNTRY_CODES))) if draw(st.booleans()) else ""
    digits = draw(st.text(alphabet="0123456789", min_size=0, max_size=18))
    if draw(st.booleans()) and len(digits) >= 10:  # NANP-shaped: an area code that starts with 2-9
        digits = (
            draw(st.sampled_from("23456789")) + digits[1:3] + draw(st.sampled_from("0123456789")) + digits[4:]
        )
    parts = [prefix, code]
    rest = digits
    while rest:
        size = draw(st.integers(min_value=1, max_value=4))
        parts.append(draw(st.sampled_from(SEPARATORS)))
        parts.append(rest[:size])
        rest = rest[size:]
    if draw(st.integers(0, 9)) == 0:
        parts.append(draw(st.sampled_from([")", " ", "-", " ext 12", "a", "٣"])))
    return "".join(parts)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=phone_texts(), region=st.sampled_from(REGIONS))
def test_the_phone_fast_path_gives_what_phonenumbers_gives(text: str, region: str) -> None:
    """normalize_phone with the fast path == without it: the same E.164 digits, or the same refusal."""
    assert outcome(phone.normalize_phone, text, region) == outcome(
        phone.normalize_phone, text, region, fast=False
    )


@settings(max_examples=2000, deadline=None)
@given(
    code=st.sampled_from(COUNTRY_CODES),
    national=st.text(alphabet="0123456789", min_size=2, max_size=17),
    style=st.sampled_from(["+{c}{n}", "+{c} {n}", "00{c} {n}", "+{c}-{n}", "+({c}) {n}"]),
)
def test_international_numbers_agree_with_phonenumbers(code: int, national: str, style: str) -> None:
    """Every country code, every national length: the fast path agrees, or leaves it to phonenumbers."""
    text = style.format(c=code, n=national)
    assert outcome(phone.normalize_phone, text, "US") == outcome(
        phone.normalize_phone, text, "US", fast=False
    )


@settings(max_examples=2000, deadline=None)
@given(
    code=st.sampled_from(COUNTRY_CODES),
    prefix=st.sampled_from(["0", "(0)", " (0) ", "00", "1", "8", "06", "(0)0"]),
    national=st.text(alphabet="0123456789", min_size=1, max_size=16),
)
def test_national_prefixes_after_the_country_code_agree_with_phonenumbers(
    code: int, prefix: str, national: str
) -> None:
    """ "+44 (0)20 ...": the fast path drops a national prefix exactly when phonenumbers does."""
    text = f"+{code} {prefix}{national}"
    assert outcome(phone.normalize_phone, text, "US") == outcome(
        phone.normalize_phone, text, "US", fast=False
    )


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("(415) 555-0123", "US", "14155550123"),
        ("415.555.0123", "US", "14155550123"),
        ("1 (415) 555-0123", "US", "14155550123"),
        ("+1 415 555 0123", "GB", "14155550123"),
        ("+44 844 412 4653", "US", "448444124653"),
        ("+39 06 6988 4321", "US", "390669884321"),  # the Italian leading zero stays
        ("+4420 7946 0123", "FR", "442079460123"),
        ("+44 (0)20 7946 0123", "US", "442079460123"),  # the national prefix in brackets, dropped
        ("+33 (0)1 42 68 53 00", "US", "33142685300"),
    ],
)
def test_common_numbers_take_the_fast_path(text: str, region: str, expected: str) -> None:
    """The fast path answers for the usual shapes (otherwise it would be no faster)."""
    assert phone.fast_e164(text, region) == expected
    assert phone.normalize_phone(text, region, fast=False) == expected


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("+44 (0)20 79", "US"),  # a national prefix, and too short without it: phonenumbers decides
        ("020 7946 0123", "GB"),  # national format outside the US
        ("1415550123", "US"),  # 10 digits starting with 1
        ("+800 1234 5678", "US"),  # a non-geographic code
        ("415-555-0123 ext 7", "US"),
    ],
)
def test_unusual_numbers_are_left_to_phonenumbers(text: str, region: str) -> None:
    """Shapes the fast path cannot be sure of get None from it."""
    assert phone.fast_e164(text, region) is None


@settings(max_examples=1500, deadline=None)
@given(
    field=st.sampled_from(sorted(CACHED_FIELDS)),
    raw=st.one_of(
        st.text(max_size=30),
        st.sampled_from(["Menlo Park", " JOSÉ ", "94025-1234", "United States", "female", "California", ""]),
    ),
)
def test_cached_identifiers_encode_as_the_reference(field: str, raw: str) -> None:
    """The memoized encoding of names, places and gender == identifiers.encode, twice in a row."""
    expected = outcome(encode_reference, field, raw, "US")
    assert outcome(encode_fast, field, raw, "US") == expected
    assert outcome(encode_fast, field, raw, "US") == expected  # now from the cache


def test_refusals_stay_the_reference_s_once_their_cache_was_full() -> None:
    """More distinct refused values than a cache holds (it is cleared when full): each is still refused
    with the reference's message, the first one again too."""
    values = ["!" * (i + 1) for i in range(CACHE_SIZE + 10)]  # no name is left once normalized
    expected = outcome(encode_reference, "last_name", values[0], "US")
    assert expected[0] == "error"
    for raw in [*values, values[0]]:
        expected = outcome(encode_reference, "last_name", raw, "US")
        assert outcome(encode_fast, "last_name", raw, "US") == expected


def test_a_cached_value_is_the_sha256_of_the_normalized_value() -> None:
    """The cache holds hashes of normalized values (SPEC section 5's reference value)."""
    assert encode_fast("city", "Menlo Park", "US") == sha256_hex("menlopark")


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(exclude_categories=["Cs"])),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None)
@given(value=JSON_VALUES)
def test_encode_json_is_json_dumps(value: Any) -> None:
    """wire.encode_json writes the bytes json.dumps writes with snapcapi's settings."""
    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert encode_json(value) == expected


EVENT_VALUES = st.one_of(
    st.floats(min_value=0),  # what the builder lets through, and more: 0, tiny, huge, infinite
    st.floats(),
    st.integers(min_value=0, max_value=10**30),
    st.text(alphabet=st.characters(exclude_categories=["Cs"])),
    st.sampled_from([0.00001, 9.99e-05, 1e-7, 1e-4, 1e16, 1.5e16, float("nan"), 12.5, -0.0]),
)


@settings(max_examples=800, deadline=None)
@given(
    value=EVENT_VALUES,
    contents=st.none() | st.lists(st.dictionaries(st.sampled_from(["id", "item_price"]), JSON_VALUES)),
    user=st.dictionaries(st.sampled_from(["em", "ph", "fn"]), st.text(), max_size=3),
    when=st.integers(min_value=0, max_value=2**70),
)
def test_encode_event_is_encode_json(value: Any, contents: Any, user: dict[str, str], when: int) -> None:
    """wire.encode_event (orjson where it writes what json writes) gives encode_json's bytes, floats and
    all; a value json cannot write is refused the same way."""
    custom: dict[str, Any] = {"value": value, "currency": "USD"}
    if contents is not None:
        custom["contents"] = contents
    payload = {"event_name": "PURCHASE", "event_time": when, "user_data": user, "custom_data": custom}
    try:
        expected = encode_json(payload)
    except (TypeError, UnicodeEncodeError, ValueError) as error:
        with pytest.raises(type(error)):
            encode_event(payload)
        return
    assert encode_event(payload) == expected


@settings(max_examples=200, deadline=None)
@given(
    data=st.lists(st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=3), max_size=5),
    code=st.one_of(st.none(), st.just(""), st.text(max_size=8)),
)
def test_joined_bodies_are_the_encoded_body(data: list[dict[str, Any]], code: str | None) -> None:
    """Joining encoded events gives the body encoding the events together would."""
    assert join_body([encode_json(event) for event in data], code) == encode_json(build_body(data, code))


@settings(max_examples=300, deadline=None)
@given(
    fields=st.lists(st.one_of(st.text(max_size=6), st.just(""), st.just("  ")), min_size=5, max_size=5),
    constants=st.dictionaries(st.sampled_from(["currency", "country", "event_name"]), st.text(max_size=4)),
)
def test_the_fields_mapper_maps_as_map_does(fields: list[str], constants: dict[str, str]) -> None:
    """Mapper.fields_mapper on a row's values == Mapper.map on the Row."""
    columns = ("Email", "phone_number", "Price", "notes", "Currency")
    mapper = Mapper(MappingConfig(constants=constants))
    plan = mapper.plan(columns)
    fast = mapper.fields_mapper(columns, plan)
    assert fast is not None
    assert fast(fields) == mapper.map(Row("f.csv", 2, dict(zip(columns, fields, strict=True))), plan)


NOW = 1_790_000_000
HASH = "a" * 64


def plain_event(**changes: Any) -> dict[str, Any]:
    """An event the emulator takes without a word; `changes` set (or, as None, remove) keys."""
    event: dict[str, Any] = {
        "event_name": "PURCHASE",
        "event_time": NOW - 60,
        "action_source": "OFFLINE",
        "user_data": {"em": [HASH], "ph": [HASH], "fn": HASH, "zp": HASH},
        "custom_data": {"value": 12.5, "currency": "USD", "order_id": "o-1"},
        "event_id": "e-1",
        "integration": "snapcapi",
    }
    for key, value in changes.items():
        if value is None:
            event.pop(key, None)
        else:
            event[key] = value
    return event


MUTATIONS = st.sampled_from(
    [
        {},
        {"event_name": "purchase"},
        {"event_name": "NOPE"},
        {"event_time": NOW - 9 * 86400},
        {"event_time": NOW - 40 * 86400},
        {"event_time": NOW + 3600},
        {"event_time": True},
        {"event_time": float(NOW)},
        {"event_time": (NOW - 60) * 1000},
        {"action_source": "WEB"},
        {"action_source": "WEB", "event_source_url": "https://shop.example/"},
        {"action_source": "MOBILE_APP"},
        {"custom_data": {"value": -1, "currency": "USD"}},
        {"custom_data": {"value": 1, "currency": "usd"}},
        {"custom_data": []},
        {"custom_data": None},
        {"event_id": ""},
        {"event_id": None},
        {"user_data": {"em": [HASH.upper()]}},
        {"user_data": {"em": []}},
        {"user_data": {"external_id": [HASH]}},
        {"user_data": {"fn": HASH}},
        {"user_data": {"madid": "6d92078a-8246-4ba4-ae5b-76104861e7dc"}},
        {"user_data": {"em": [HASH], "client_ip_address": "1.2.3.4"}},
        {"user_data": {"em": [HASH], "ln": "Smith"}},
        {"user_data": {"ph": HASH}},
        {"user_data": []},
        {"user_data": None},
    ]
)


@settings(max_examples=400, deadline=None)
@given(mutations=st.lists(MUTATIONS, min_size=1, max_size=6))
def test_the_emulators_plain_prefix_is_only_events_check_event_finds_valid(
    mutations: list[dict[str, Any]],
) -> None:
    """Every event the emulator's quick test passes is VALID by the full checks, with no warning."""
    events: list[Any] = [plain_event(**m) for m in mutations]
    prefix = plainly_valid_prefix(events, NOW)
    assert all(check_event(event, NOW) == VALID for event in events[:prefix])


def test_the_plain_prefix_takes_ordinary_events() -> None:
    """Ordinary events are taken by the quick test (otherwise it would be no quicker)."""
    assert plainly_valid_prefix([plain_event() for _ in range(50)], NOW) == 50
    assert plainly_valid_prefix([plain_event(), plain_event(event_name="NOPE"), plain_event()], NOW) == 1
