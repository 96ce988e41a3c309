"""Tests of snapcapi.events.build: every rule of SPEC sections 3 to 5, checked before anything is sent.

Every test uses a fixed `now` (NOW) in its BuildContext, so that event times never fall out of the window.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import fields
from datetime import timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snapcapi import spec
from snapcapi.events.build import Assembled, BuildContext, Invalid, build, derive_event_id, split_list
from snapcapi.events.fields import FIELDS
from snapcapi.events.identifiers import sha256_hex
from snapcapi.model import Event, Problem
from snapcapi.spec import ActionSource, EventName

NOW = 1_800_000_000  # 2027-01-15T08:00:00Z
DAY = 86400
CTX = BuildContext(now=NOW, pixel_id="PIXEL-1", snap_app_id="SNAP-APP-1", app_id="123456789")
EMAIL = "Person@Example.com"
EMAIL_HASH = "542d240129883c019e106e3b1b2d3f3cb3537c43c425364de8e951d5a3083345"
PHONE_HASH = "413ba75461ab5f99d36820e561ea97e2bd80f9cb586f7ecea6cf4c496518950a"  # +1 415 555 0123
URL = "https://shop.example/p/1"
IP = "203.0.113.7"
UA = "Mozilla/5.0 (X11; Linux x86_64)"
MADID = "6d92078a-8246-4ba4-ae5b-76104861e7dc"
DROP = object()  # marks a key to remove from the base row


def row(**changes: Any) -> dict[str, Any]:
    """A valid WEB PAGE_VIEW row, one hour old, with `changes` applied (DROP removes a key)."""
    values: dict[str, Any] = {
        "event_name": "PAGE_VIEW",
        "event_time": str(NOW - 3600),
        "email": EMAIL,
        "event_source_url": URL,
    }
    values.update(changes)
    return {name: value for name, value in values.items() if value is not DROP}


def purchase(**changes: Any) -> dict[str, Any]:
    """A valid WEB PURCHASE row without an event id or order id, with `changes` applied."""
    return row(**{"event_name": "PURCHASE", "value": "10", "currency": "USD", **changes})


def app_row(**changes: Any) -> dict[str, Any]:
    """A valid MOBILE_APP APP_OPEN row (no page URL), with `changes` applied."""
    return row(
        **{"event_name": "APP_OPEN", "action_source": "MOBILE_APP", "event_source_url": DROP, **changes}
    )


def built(values: Mapping[str, Any], ctx: BuildContext = CTX) -> Event:
    """Build `values` and return the Event, failing the test with the problems if it is Invalid."""
    result = build(values, "events.csv", 2, ctx)
    assert isinstance(result, Event), [str(p) for p in result.errors]
    return result


def refused(values: Mapping[str, Any], ctx: BuildContext = CTX) -> Invalid:
    """Build `values` and return the Invalid, failing the test if an Event came out."""
    result = build(values, "events.csv", 2, ctx)
    assert isinstance(result, Invalid), result.payload
    return result


def messages(problems: tuple[Problem, ...], field: str) -> list[str]:
    """The messages of the problems about `field`."""
    return [p.message for p in problems if p.field == field]


def only_message(problems: tuple[Problem, ...], field: str) -> str:
    """The message of the one problem about `field` (failing the test unless there is exactly one)."""
    found = messages(problems, field)
    assert len(found) == 1, [str(p) for p in problems]
    return found[0]


def fields_of(problems: tuple[Problem, ...]) -> set[str]:
    """The fields the problems are about."""
    return {p.field for p in problems}


# --- the event as sent --------------------------------------------------------------------------------------


def test_valid_web_purchase_gives_the_whole_v3_payload() -> None:
    """A valid WEB PURCHASE becomes exactly the v3 event of SPEC section 3."""
    event = built(
        purchase(
            currency="usd",
            order_id=" ORD-1 ",
            ip_address=IP,
            user_agent=UA,
            phone="(415) 555-0123",
            content_ids="sku-1|sku-2",
            num_items="2",
        )
    )
    assert event.payload == {
        "event_name": "PURCHASE",
        "event_time": NOW - 3600,
        "action_source": "WEB",
        "event_source_url": URL,
        "user_data": {
            "em": [EMAIL_HASH],
            "ph": [PHONE_HASH],
            "client_ip_address": IP,
            "client_user_agent": UA,
        },
        "custom_data": {
            "value": 10.0,
            "currency": "USD",
            "order_id": "ORD-1",
            "content_ids": ["sku-1", "sku-2"],
            "num_items": 2,
        },
        "event_id": "ORD-1",
        "integration": "snapcapi",
    }


def test_event_carries_file_line_asset_and_typed_values() -> None:
    """The Event names its file and line, its asset, and its name, source, id and time as typed values."""
    event = built(row(event_id="e-1"))
    assert (event.file, event.line, event.asset_id) == ("events.csv", 2, "PIXEL-1")
    assert (event.event_name, event.action_source) == (EventName.PAGE_VIEW, ActionSource.WEB)
    assert (event.event_id, event.event_time, event.warnings) == ("e-1", NOW - 3600, ())


def test_event_without_custom_values_has_no_custom_data() -> None:
    """custom_data is left out when the row has none of its fields."""
    assert "custom_data" not in built(row()).payload


def test_web_event_has_no_app_data() -> None:
    """app_data belongs to MOBILE_APP events only, even when an app id is configured."""
    assert "app_data" not in built(row(app_id="987654321")).payload


# --- event names --------------------------------------------------------------------------------------------

# SPEC section 4's alias list, written out here independently of spec.EVENT_ALIASES.
SPEC_ALIASES = [
    ("Order Completed", "PURCHASE"),
    ("Product Added", "ADD_CART"),
    ("Product Added to Wishlist", "ADD_TO_WISHLIST"),
    ("Payment Info Entered", "ADD_BILLING"),
    ("Checkout Started", "START_CHECKOUT"),
    ("Product Viewed", "VIEW_CONTENT"),
    ("Product List Viewed", "LIST_VIEW"),
    ("Products Searched", "SEARCH"),
    ("Product Shared", "SHARE"),
    ("Signed Up", "SIGN_UP"),
    ("Signed In", "LOGIN"),
    ("Application Installed", "APP_INSTALL"),
    ("Application Opened", "APP_OPEN"),
    ("page", "PAGE_VIEW"),
    ("purchase", "PURCHASE"),
    ("add_to_cart", "ADD_CART"),
    ("view_item", "VIEW_CONTENT"),
    ("view_item_list", "LIST_VIEW"),
    ("begin_checkout", "START_CHECKOUT"),
    ("add_payment_info", "ADD_BILLING"),
    ("add_to_wishlist", "ADD_TO_WISHLIST"),
    ("sign_up", "SIGN_UP"),
    ("login", "LOGIN"),
    ("search", "SEARCH"),
    ("share", "SHARE"),
    ("page_view", "PAGE_VIEW"),
    ("tutorial_complete", "COMPLETE_TUTORIAL"),
    ("ADD_TO_CART", "ADD_CART"),
]


def test_there_are_31_predefined_names() -> None:
    """SPEC section 4 lists 31 names, five of them CUSTOM_EVENT slots."""
    assert len(EventName) == 31
    assert tuple(f"CUSTOM_EVENT_{n}" for n in range(1, 6)) == spec.CUSTOM_EVENT_SLOTS


@pytest.mark.parametrize("name", list(EventName), ids=str)
@pytest.mark.parametrize("case", [str.upper, str.lower, str.title], ids=["upper", "lower", "title"])
def test_every_predefined_name_is_accepted_in_any_case(name: EventName, case: Callable[[str], str]) -> None:
    """Each of the 31 names is accepted whatever its case, and sent in upper case."""
    values = purchase(event_name=case(name.value))
    assert built(values).payload["event_name"] == name.value


@pytest.mark.parametrize(("alias", "snap_name"), SPEC_ALIASES)
def test_alias_stands_for_its_snap_name(alias: str, snap_name: str) -> None:
    """The Segment, GA4 and ADD_TO_CART names of SPEC section 4 are sent as Snap's name."""
    assert built(purchase(event_name=alias)).payload["event_name"] == snap_name


@pytest.mark.parametrize(
    ("raw", "snap_name"),
    [
        ("add-cart", "ADD_CART"),
        (" Add Cart ", "ADD_CART"),
        ("custom event 3", "CUSTOM_EVENT_3"),
        ("ORDER_COMPLETED", "PURCHASE"),
        ("order-completed", "PURCHASE"),
    ],
)
def test_name_matching_ignores_case_spaces_dashes_and_underscores(raw: str, snap_name: str) -> None:
    """Names match after folding case, spaces, `-` and `_`."""
    assert built(purchase(event_name=raw)).payload["event_name"] == snap_name


@pytest.mark.parametrize(("raw", "hint"), [("PURCHSE", "PURCHASE"), ("ADD_TO_BASKET", "ADD_CART")])
def test_unknown_name_is_refused_with_the_closest_name(raw: str, hint: str) -> None:
    """A misspelt name is refused, and the message suggests the predefined name closest to it."""
    [message] = messages(refused(row(event_name=raw)).errors, "event_name")
    assert message.startswith(f"{raw!r} is not one of Snap's event names; did you mean {hint}? ")


def test_unknown_name_message_points_to_custom_slots_and_the_mapping_file() -> None:
    """The refusal tells how to send a custom event: a CUSTOM_EVENT slot, or the mapping's [event_names]."""
    [message] = messages(refused(row(event_name="Newsletter Opened")).errors, "event_name")
    assert "CUSTOM_EVENT_1" in message
    assert "--mapping [event_names]" in message


def test_unknown_name_far_from_every_name_has_no_hint() -> None:
    """With nothing close, the message suggests no predefined name."""
    [message] = messages(refused(row(event_name="zzzz")).errors, "event_name")
    assert message.startswith("'zzzz' is not one of Snap's event names; ")
    assert "did you mean" not in message


@pytest.mark.parametrize("raw", ["CUSTOM_EVENT_6", "CUSTOM_EVENT_0", "CUSTOM_EVENT", "Newsletter Opened"])
def test_custom_names_outside_the_five_slots_are_refused(raw: str) -> None:
    """Custom events must use one of CUSTOM_EVENT_1..5; any other name is refused."""
    assert fields_of(refused(row(event_name=raw)).errors) == {"event_name"}


def test_refused_name_is_still_reported_on_the_invalid_row() -> None:
    """An Invalid row without a usable name carries no event name."""
    assert refused(row(event_name="zzzz")).event_name is None


def test_invalid_row_with_a_good_name_reports_it() -> None:
    """An Invalid row whose name was read carries the Snap name, for the report's per-event counts."""
    assert refused(row(event_name="Order Completed", event_time=DROP)).event_name == "PURCHASE"


def test_user_event_names_map_to_snap_names() -> None:
    """A name from the mapping file's [event_names] (folded) is sent as the Snap name it maps to."""
    ctx = BuildContext(now=NOW, pixel_id="PIXEL-1", event_names={"membershipbought": EventName.SUBSCRIBE})
    assert built(row(event_name="Membership Bought"), ctx).event_name is EventName.SUBSCRIBE


def test_user_event_names_are_consulted_before_builtin_aliases() -> None:
    """The user's [event_names] can re-map a name that is also a built-in alias."""
    ctx = BuildContext(now=NOW, pixel_id="PIXEL-1", event_names={"search": EventName.CUSTOM_EVENT_2})
    assert built(row(event_name="search"), ctx).event_name is EventName.CUSTOM_EVENT_2


def test_missing_name_takes_the_default_event_type() -> None:
    """A row without an event name takes `--event-type`."""
    ctx = BuildContext(now=NOW, pixel_id="PIXEL-1", default_event_name=EventName.SIGN_UP)
    assert built(row(event_name=DROP), ctx).event_name is EventName.SIGN_UP


def test_name_in_the_row_wins_over_the_default_event_type() -> None:
    """`--event-type` only fills rows that have no name."""
    ctx = BuildContext(now=NOW, pixel_id="PIXEL-1", default_event_name=EventName.SIGN_UP)
    assert built(row(event_name="LOGIN"), ctx).event_name is EventName.LOGIN


def test_missing_name_without_default_is_refused() -> None:
    """Without a name and without `--event-type`, the row is refused, and told how to fix it."""
    result = refused(row(event_name=DROP))
    assert "--event-type" in only_message(result.errors, "event_name")


# --- action source ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "source"),
    [
        ("WEB", ActionSource.WEB),
        ("web", ActionSource.WEB),
        ("OFFLINE", ActionSource.OFFLINE),
        ("offline", ActionSource.OFFLINE),
        ("in store", ActionSource.OFFLINE),
        ("store", ActionSource.OFFLINE),
        ("MOBILE_APP", ActionSource.MOBILE_APP),
        ("mobile app", ActionSource.MOBILE_APP),
        ("Mobile-App", ActionSource.MOBILE_APP),
        ("app", ActionSource.MOBILE_APP),
        ("mobile", ActionSource.MOBILE_APP),
    ],
)
def test_action_source_spellings_are_accepted(raw: str, source: ActionSource) -> None:
    """WEB, MOBILE_APP and OFFLINE are read in any case and spacing, plus a few plain-words synonyms."""
    event = built(row(action_source=raw))
    assert (event.action_source, event.payload["action_source"]) == (source, source.value)


def test_unknown_action_source_is_refused() -> None:
    """Anything else is refused with a message listing the three sources."""
    result = refused(row(action_source="TV"))
    message = only_message(result.errors, "action_source")
    assert all(part in message for part in ("'TV'", "WEB", "MOBILE_APP", "OFFLINE"))


def test_missing_action_source_takes_the_conversion_type() -> None:
    """A row without an action source takes `--conversion-type`."""
    ctx = BuildContext(now=NOW, pixel_id="PIXEL-1", default_action_source=ActionSource.OFFLINE)
    assert built(row(), ctx).action_source is ActionSource.OFFLINE


def test_action_source_in_the_row_wins_over_the_conversion_type() -> None:
    """`--conversion-type` only fills rows that have no source."""
    ctx = BuildContext(now=NOW, pixel_id="PIXEL-1", default_action_source=ActionSource.OFFLINE)
    assert built(row(action_source="WEB"), ctx).action_source is ActionSource.WEB


# --- event time ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "age",
    [0, 3600, 7 * DAY, -spec.MAX_CLOCK_SKEW, -60],
    ids=["now", "1h", "7d-exactly", "10min-ahead", "1min-ahead"],
)
def test_recent_event_is_accepted_without_warning(age: int) -> None:
    """Events up to 7 days old, or up to 10 minutes ahead (clock skew), are taken with no warning."""
    event = built(row(event_time=str(NOW - age)))
    assert (event.event_time, event.warnings) == (NOW - age, ())


@pytest.mark.parametrize(
    ("age", "days"), [(7 * DAY + 1, 7), (20 * DAY, 20), (37 * DAY, 37)], ids=["7d+1s", "20d", "37d-exactly"]
)
def test_event_older_than_7_days_is_accepted_with_a_warning(age: int, days: int) -> None:
    """Events between 7 and 37 days old are taken, with a warning that they attribute poorly."""
    event = built(row(event_time=str(NOW - age)))
    assert [str(w) for w in event.warnings] == [
        f"event_time: {days} days old; events older than 7 days attribute poorly"
    ]


@pytest.mark.parametrize("age", [37 * DAY + 1, 38 * DAY, 400 * DAY], ids=["37d+1s", "38d", "400d"])
def test_event_older_than_37_days_is_refused(age: int) -> None:
    """Snap refuses events more than 37 days old; so does snapcapi, before sending."""
    result = refused(row(event_time=str(NOW - age)))
    assert "37 days" in only_message(result.errors, "event_time")


def test_refusal_of_an_old_event_does_not_claim_it_is_within_the_limit() -> None:
    """An event just over 37 days old is not described as "37 days old" while being refused for its age."""
    result = refused(row(event_time=str(NOW - 37 * DAY - 3600)))
    assert not only_message(result.errors, "event_time").startswith("37 days old")


@pytest.mark.parametrize("ahead", [spec.MAX_CLOCK_SKEW + 1, DAY], ids=["10min+1s", "1d"])
def test_event_in_the_future_is_refused(ahead: int) -> None:
    """An event stamped more than 10 minutes ahead of now is refused."""
    assert "future" in only_message(refused(row(event_time=str(NOW + ahead))).errors, "event_time")


def test_missing_event_time_is_refused() -> None:
    """event_time is required."""
    assert "missing" in only_message(refused(row(event_time=DROP)).errors, "event_time")


def test_unreadable_event_time_is_refused_with_the_parser_message() -> None:
    """A time that cannot be read is refused with timeparse's explanation."""
    result = refused(row(event_time="2026-02-30"))
    assert "'2026-02-30' is not a real date" in only_message(result.errors, "event_time")


def test_milliseconds_are_sent_as_seconds() -> None:
    """event_time is sent as integer Unix seconds, whatever the input notation."""
    assert built(row(event_time=str((NOW - 3600) * 1000 + 123))).payload["event_time"] == NOW - 3600


def test_relative_time_uses_the_context_now() -> None:
    """`now-2d` counts back from BuildContext.now."""
    assert built(row(event_time="now-2d")).event_time == NOW - 2 * DAY


def test_time_without_offset_is_read_in_the_context_timezone() -> None:
    """A naive ISO time is read in BuildContext.timezone (`--timezone`)."""
    ctx = BuildContext(now=NOW, pixel_id="PIXEL-1", timezone=timezone(timedelta(hours=2)))
    assert built(row(event_time="2027-01-15T09:00:00"), ctx).event_time == NOW - 3600


# --- event_source_url ---------------------------------------------------------------------------------------


def test_web_event_without_url_is_refused() -> None:
    """WEB events need the page URL."""
    result = refused(row(event_source_url=DROP))
    assert "URL" in only_message(result.errors, "event_source_url")


@pytest.mark.parametrize("source", ["OFFLINE", "MOBILE_APP"])
def test_non_web_event_needs_no_url(source: str) -> None:
    """OFFLINE and MOBILE_APP events are valid without a page URL."""
    assert "event_source_url" not in built(row(action_source=source, event_source_url=DROP)).payload


def test_url_is_sent_trimmed() -> None:
    """The page URL is sent without surrounding whitespace."""
    assert built(row(event_source_url=f"  {URL}\t")).payload["event_source_url"] == URL


# --- identifiers --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "identifiers",
    [
        {"email": EMAIL},
        {"phone": "+1 415 555 0123"},
        {"madid": MADID},
        {"ip_address": IP, "user_agent": UA},
        {"email": EMAIL_HASH},
        {"phone": PHONE_HASH.upper()},
    ],
    ids=["email", "phone", "madid", "ip+ua", "hashed-email", "hashed-phone-upper"],
)
def test_row_with_a_matchable_identifier_is_valid(identifiers: dict[str, str]) -> None:
    """An email, a phone, a mobile ad id, or both IP and user agent make an event matchable."""
    built(row(**{"email": DROP, **identifiers}))


@pytest.mark.parametrize(
    "identifiers",
    [
        {},
        {"ip_address": IP},
        {"user_agent": UA},
        {"first_name": "John", "last_name": "Doe", "zip": "94025", "city": "Menlo Park"},
        {"external_id": "crm-42"},
        {"sc_click_id": "click-1", "sc_cookie1": "cookie-1", "idfv": "idfv-1"},
        {"email": "not-an-address"},
        {"phone": "12"},
        {"madid": "00000000-0000-0000-0000-000000000000"},
        {"ip_address": EMAIL_HASH, "user_agent": UA},
        {"email": "   "},
    ],
    ids=[
        "none",
        "ip-only",
        "ua-only",
        "name-and-address",
        "external-id",
        "click-cookie-idfv",
        "bad-email",
        "bad-phone",
        "opted-out-madid",
        "hashed-ip",
        "blank-email",
    ],
)
def test_row_without_a_matchable_identifier_is_refused(identifiers: dict[str, str]) -> None:
    """Without email, phone, mobile ad id or the IP + user agent pair, the row is refused."""
    result = refused(row(**{"email": DROP, **identifiers}))
    assert "no matchable identifier" in only_message(result.errors, "user_data")


def test_bad_identifier_is_dropped_with_a_warning() -> None:
    """An identifier that cannot be normalized is left out with a warning; the row stays valid."""
    event = built(row(phone="12", gender="unknown"))
    assert set(event.payload["user_data"]) == {"em"}
    assert [str(w) for w in event.warnings] == [
        "phone: dropped: not a possible phone number (wrong length)",
        "gender: dropped: not m or f (male or female)",
    ]


def test_ip_address_is_sent_plain_and_user_agent_as_given() -> None:
    """v3 takes the IP address and user agent unhashed (v2 hashed the IP; v3 must not)."""
    user = built(row(ip_address=f" {IP} ", user_agent=UA)).payload["user_data"]
    assert (user["client_ip_address"], user["client_user_agent"]) == (IP, UA)


@pytest.mark.parametrize(
    ("raw", "count"),
    [
        ("a@example.com|b@example.com", 2),
        ("a@example.com, b@example.com", 2),
        (["a@example.com", "b@example.com"], 2),
        ("a@example.com|A@Example.com", 1),
    ],
    ids=["pipe", "comma", "json-list", "duplicate-after-normalizing"],
)
def test_several_emails_are_sent_as_a_list_of_hashes(raw: Any, count: int) -> None:
    """A list field takes several values, each hashed, duplicates sent once."""
    em = built(row(email=raw)).payload["user_data"]["em"]
    assert len(em) == count
    assert em[0] == sha256_hex("a@example.com")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    field=st.sampled_from(["email", "phone", "external_id"]),
    raw=st.one_of(
        st.text(max_size=30),
        st.sampled_from([" Person@Example.com ", "+1 (415) 555-0123", "4155550123", "not an email", "  "]),
    ),
)
def test_one_value_of_a_list_field_is_read_as_a_list_of_one(field: str, raw: str) -> None:
    """A list field's text without separators (read straight, without splitting) gives what the same value
    as a one-item JSON list gives: the same hashes, or the same warnings and errors."""
    if any(mark in raw for mark in "|,["):
        raw = raw.replace("|", "").replace(",", "").replace("[", "")
    alone = build(row(**{field: raw}), "in.csv", 2, CTX)
    listed = build(row(**{field: [raw]}), "in.csv", 2, CTX)
    if isinstance(alone, Event):
        assert isinstance(listed, Event)
        assert alone.payload == listed.payload
    else:
        assert isinstance(listed, Invalid)
        assert (alone.errors, alone.user_keys) == (listed.errors, listed.user_keys)
    assert alone.warnings == listed.warnings


def test_invalid_row_lists_the_identifier_keys_that_survived() -> None:
    """Invalid.user_keys says which user_data keys normalized fine (for the quality summary)."""
    assert refused(row(event_name="zzzz", phone="+1 415 555 0123")).user_keys == ("em", "ph")


# --- PURCHASE value and currency ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        ("10", "USD", (10.0, "USD")),
        ("10", "usd", (10.0, "USD")),
        (" 19.99 ", " eur ", (19.99, "EUR")),
        ("0", "GBP", (0.0, "GBP")),
        (12.5, "jpy", (12.5, "JPY")),
        (7, "Chf", (7.0, "CHF")),
    ],
)
def test_purchase_value_and_currency_are_sent_as_number_and_upper_case_code(
    value: Any, currency: str, expected: tuple[float, str]
) -> None:
    """value is sent as a number, currency trimmed and upper-cased (lower case input is accepted)."""
    custom = built(purchase(value=value, currency=currency)).payload["custom_data"]
    assert (custom["value"], custom["currency"]) == expected


@pytest.mark.parametrize(
    "value", ["-1", "-0.01", "NaN", "nan", "inf", "-inf", "1e400"], ids=lambda v: f"value={v}"
)
def test_negative_or_non_finite_value_is_refused(value: str) -> None:
    """A negative, NaN or infinite value is refused."""
    result = refused(purchase(value=value))
    assert "0 or more" in only_message(result.errors, "value")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "'abc'"),
        ("1,000", "'1,000'"),
        ("$10", "'$10'"),
        (True, "true/false"),
        ([10], "'[10]'"),
    ],
)
def test_non_numeric_value_is_refused(value: Any, message: str) -> None:
    """A value that is not a number is refused, quoting (a short piece of) what was given."""
    assert message in only_message(refused(purchase(value=value)).errors, "value")


@pytest.mark.parametrize("currency", ["XYZ", "dollars", "US", "€"])
def test_unknown_currency_is_refused(currency: str) -> None:
    """A currency that is not an ISO 4217 code is refused."""
    result = refused(purchase(currency=currency))
    message = only_message(result.errors, "currency")
    assert f"{currency.upper()!r}" in message
    assert "ISO 4217" in message


@pytest.mark.parametrize("missing", ["value", "currency"])
def test_purchase_without_value_or_currency_is_refused(missing: str) -> None:
    """PURCHASE events need both a value and a currency."""
    result = refused(purchase(**{missing: DROP}))
    assert "PURCHASE" in only_message(result.errors, missing)


def test_purchase_without_both_reports_both() -> None:
    """A PURCHASE with neither value nor currency has one problem for each."""
    assert fields_of(refused(purchase(value=DROP, currency=DROP)).errors) == {"value", "currency"}


def test_other_events_need_no_value() -> None:
    """Only PURCHASE requires a value and a currency."""
    built(row(event_name="ADD_CART"))


def test_bad_value_is_refused_on_any_event() -> None:
    """A value that is given is checked whatever the event name."""
    assert fields_of(refused(row(event_name="ADD_CART", value="abc")).errors) == {"value"}


# --- other custom_data fields -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"), [("3", 3), ("3.0", 3), (4, 4), ("0", 0), (" 12 ", 12), (5.0, 5)]
)
def test_num_items_is_sent_as_an_integer(raw: Any, expected: int) -> None:
    """num_items is a whole number, sent as an int."""
    num_items = built(row(num_items=raw)).payload["custom_data"]["num_items"]
    assert (num_items, type(num_items)) == (expected, int)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("2.5", "whole number"),
        ("-1", "0 or more"),
        ("many", "'many'"),
        ("inf", "0 or more"),
    ],
)
def test_bad_num_items_is_refused(raw: str, message: str) -> None:
    """A fractional, negative or non-numeric num_items is refused."""
    assert message in only_message(refused(row(num_items=raw)).errors, "num_items")


LIST_CASES = [
    ("a|b", ["a", "b"]),
    ("a,b", ["a", "b"]),
    (" a | b ", ["a", "b"]),
    ("a, ,b,", ["a", "b"]),
    ("a,1|b", ["a,1", "b"]),
    ("single", ["single"]),
    (["a", "b"], ["a", "b"]),
    (["a", 1, 2.5], ["a", "1", "2.5"]),
    (["a", "", None, "  "], ["a"]),
    (123, ["123"]),
]
LIST_IDS = [
    "pipe",
    "comma",
    "padded",
    "blanks",
    "pipe-wins-over-comma",
    "single",
    "json-list",
    "json-numbers",
    "json-blanks",
    "number",
]


@pytest.mark.parametrize(("raw", "expected"), LIST_CASES, ids=LIST_IDS)
@pytest.mark.parametrize("field", ["content_ids", "brands"])
def test_list_fields_split_on_pipe_or_comma_or_take_a_json_list(field: str, raw: Any, expected: Any) -> None:
    """content_ids and brands take a JSON list, or a string split on `|` (else `,`), sent as strings."""
    assert built(row(**{field: raw})).payload["custom_data"][field] == expected


@pytest.mark.parametrize("field", ["content_ids", "brands"])
def test_list_field_given_as_json_text_is_read_as_a_list(field: str) -> None:
    """CLI.md: list fields take a JSON list; `["sku-1","sku-2"]` in a CSV cell is two ids, not two shards."""
    assert built(row(**{field: '["sku-1","sku-2"]'})).payload["custom_data"][field] == ["sku-1", "sku-2"]


def test_split_list_reads_json_list_text() -> None:
    """split_list('["a","b"]') gives ["a", "b"], as the docstring's "a JSON list" promises for CSV cells."""
    assert split_list('["a","b"]') == ["a", "b"]


@pytest.mark.parametrize("field", ["order_id", "content_category", "search_string", "sign_up_method"])
def test_text_custom_fields_are_sent_trimmed(field: str) -> None:
    """The free-text custom_data fields are sent as given, without surrounding whitespace."""
    assert built(row(**{field: "  some text "})).payload["custom_data"][field] == "some text"


@pytest.mark.parametrize(
    "raw",
    [
        '[{"id": "sku-1", "quantity": 2, "item_price": 5.5, "colour": "red"}]',
        [{"id": "sku-1", "quantity": 2, "item_price": 5.5, "colour": "red"}],
    ],
    ids=["json-text", "json-list"],
)
def test_contents_keep_id_quantity_and_item_price(raw: Any) -> None:
    """contents is a list of {id, quantity, item_price}; other keys are left out."""
    contents = built(row(contents=raw)).payload["custom_data"]["contents"]
    assert contents == [{"id": "sku-1", "quantity": 2, "item_price": 5.5}]


@pytest.mark.parametrize("raw", ["not json", '{"id": "sku-1"}', '["sku-1"]', "[1, 2]"])
def test_contents_that_is_not_a_list_of_objects_is_refused(raw: str) -> None:
    """contents must be a JSON list of objects."""
    assert "JSON list" in only_message(refused(row(contents=raw)).errors, "contents")


# --- MOBILE_APP app_data ------------------------------------------------------------------------------------


def test_numeric_app_id_gives_ios_extinfo() -> None:
    """A numeric store id is iOS: extinfo starts with i2, 16 strings, unknown entries empty."""
    app = built(app_row()).payload["app_data"]
    assert app == {
        "app_id": "123456789",
        "advertiser_tracking_enabled": 0,
        "extinfo": ["i2"] + [""] * 15,
    }


def test_package_name_gives_android_extinfo_with_the_package() -> None:
    """A package name is Android: extinfo starts with a2, then the package name."""
    extinfo = built(app_row(app_id="com.example.shop")).payload["app_data"]["extinfo"]
    assert extinfo == ["a2", "com.example.shop"] + [""] * 14


def test_extinfo_has_16_entries() -> None:
    """extinfo is always a 16-string array."""
    extinfo = built(app_row(app_id="com.example.shop")).payload["app_data"]["extinfo"]
    assert len(extinfo) == spec.EXTINFO_LENGTH == 16
    assert all(isinstance(entry, str) for entry in extinfo)


def test_app_id_in_the_row_wins_over_the_setting() -> None:
    """A row's app_id column wins over `--app-id`."""
    assert built(app_row(app_id="987")).payload["app_data"]["app_id"] == "987"


def test_mobile_app_event_without_app_id_is_refused() -> None:
    """MOBILE_APP events need the store app id, from the row or `--app-id`."""
    ctx = BuildContext(now=NOW, snap_app_id="SNAP-APP-1")
    message = only_message(refused(app_row(), ctx).errors, "app_id")
    assert "--app-id" in message
    assert "SNAPCAPI_APP_ID" in message


def test_mobile_app_event_goes_to_the_snap_app_id() -> None:
    """MOBILE_APP events are sent to the Snap App ID, not the Pixel ID."""
    assert built(app_row()).asset_id == "SNAP-APP-1"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", 1), ("true", 1), ("YES", 1), (True, 1), (1, 1), ("0", 0), ("false", 0), ("no", 0), (False, 0)],
)
def test_advertiser_tracking_enabled_is_sent_as_0_or_1(raw: Any, expected: int) -> None:
    """The tracking flag accepts the usual spellings of true and false, and is sent as 0 or 1."""
    app = built(app_row(advertiser_tracking_enabled=raw)).payload["app_data"]
    assert app["advertiser_tracking_enabled"] == expected


def test_advertiser_tracking_enabled_defaults_to_0() -> None:
    """Without the flag, tracking is sent as not allowed: consent never recorded is not claimed."""
    assert built(app_row()).payload["app_data"]["advertiser_tracking_enabled"] == 0


def test_unreadable_tracking_flag_is_refused() -> None:
    """A tracking flag that is neither true nor false is refused."""
    result = refused(app_row(advertiser_tracking_enabled="maybe"))
    assert "0 or 1" in only_message(result.errors, "advertiser_tracking_enabled")


@pytest.mark.parametrize(
    "raw",
    [
        "a2|com.example|1.0|1.0.0|14|Pixel 8|en_US|PST|carrier|1080|2400|2.6|8|128|64|America/Los_Angeles",
        json.dumps(["a2", "com.example", *[""] * 14]),
        ["a2", "com.example", *[""] * 14],
    ],
    ids=["pipes", "json-text", "json-list"],
)
def test_extinfo_from_the_row_is_sent(raw: Any) -> None:
    """A row's own 16-entry extinfo (pipe-separated or JSON) is sent instead of the default."""
    extinfo = built(app_row(extinfo=raw)).payload["app_data"]["extinfo"]
    assert (len(extinfo), extinfo[:2]) == (16, ["a2", "com.example"])


@pytest.mark.parametrize(
    "raw", ["a2|com.example", "x2" + "|" * 15, json.dumps(["i2"] * 17)], ids=["short", "platform", "long"]
)
def test_bad_extinfo_is_refused(raw: str) -> None:
    """extinfo must have 16 entries and start with i2 or a2."""
    message = only_message(refused(app_row(extinfo=raw)).errors, "extinfo")
    assert all(part in message for part in ("16", "i2", "a2"))


# --- data processing options --------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["LDU", "ldu", " Ldu ", "1", "true", "yes", True, ["LDU"]])
def test_limited_data_use_is_sent_as_ldu(raw: Any) -> None:
    """LDU (or a true flag) is sent as data_processing_options ["LDU"]."""
    assert built(row(data_processing_options=raw)).payload["data_processing_options"] == ["LDU"]


@pytest.mark.parametrize("raw", ["0", "false", "no", False])
def test_false_ldu_flag_sends_no_options(raw: Any) -> None:
    """A false flag means no data processing options at all."""
    assert "data_processing_options" not in built(row(data_processing_options=raw)).payload


@pytest.mark.parametrize("raw", ["GDPR", "LDU|CCPA"])
def test_unknown_processing_option_is_refused(raw: str) -> None:
    """LDU is the only option Snap knows."""
    result = refused(row(data_processing_options=raw))
    assert "LDU" in only_message(result.errors, "data_processing_options")


# --- asset ids ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("WEB", "To send WEB events, set a Pixel ID (--pixel-id or SNAPCAPI_PIXEL_ID)"),
        ("OFFLINE", "To send OFFLINE events, set a Pixel ID (--pixel-id or SNAPCAPI_PIXEL_ID)"),
        (
            "MOBILE_APP",
            "To send MOBILE_APP events, set a Snap App ID (--snap-app-id or SNAPCAPI_SNAP_APP_ID)",
        ),
    ],
)
def test_missing_asset_is_refused_naming_the_flag(source: str, message: str) -> None:
    """Without the asset id for its conversion type, a row is refused, and told which setting to give."""
    ctx = BuildContext(now=NOW, app_id="123456789")
    assert only_message(refused(row(action_source=source), ctx).errors, "action_source") == message


def test_web_and_offline_events_go_to_the_pixel() -> None:
    """WEB and OFFLINE events are sent to the Pixel ID."""
    assert {built(row(action_source=s)).asset_id for s in ("WEB", "OFFLINE")} == {"PIXEL-1"}


# --- event_id -----------------------------------------------------------------------------------------------


def test_event_id_from_the_input_is_kept_trimmed() -> None:
    """An event id given in the row is sent as is (trimmed)."""
    assert built(row(event_id=" dedup-7 ")).payload["event_id"] == "dedup-7"


def test_purchase_without_event_id_uses_the_order_id() -> None:
    """A PURCHASE without an event id is deduplicated by its order id."""
    assert built(purchase(order_id="ORD-42")).event_id == "ORD-42"


def test_event_id_wins_over_the_order_id() -> None:
    """The order id stands in only when no event id is given."""
    assert built(purchase(order_id="ORD-42", event_id="dedup-7")).event_id == "dedup-7"


def test_order_id_is_not_the_event_id_of_other_events() -> None:
    """Only a PURCHASE takes its order id as event id; other events get a derived id."""
    assert built(row(event_name="ADD_CART", order_id="ORD-42")).event_id.startswith("snapcapi-")


def test_derived_event_id_has_a_recognizable_form() -> None:
    """A derived id is `snapcapi-` and 32 lower-case hex digits."""
    assert re.fullmatch(r"snapcapi-[0-9a-f]{32}", built(row()).event_id)


def test_derived_event_id_is_sent_in_the_payload() -> None:
    """The derived id is the payload's event_id too."""
    event = built(row())
    assert event.payload["event_id"] == event.event_id


def test_same_row_gives_the_same_event_id_on_every_call() -> None:
    """Building the same row twice gives the same id."""
    assert built(row()).event_id == built(row()).event_id


def test_derived_event_id_does_not_depend_on_file_or_line() -> None:
    """The same event read from another file or line keeps its id (re-exports deduplicate)."""
    first = build(row(), "a.csv", 2, CTX)
    second = build(row(), "b.csv", 900, CTX)
    assert isinstance(first, Event)
    assert isinstance(second, Event)
    assert first.event_id == second.event_id


def test_derived_event_id_is_the_same_in_another_process() -> None:
    """The id is stable across runs: a fresh interpreter with another hash seed derives the same one."""
    script = (
        "import json,sys\n"
        "from snapcapi.events.build import build, BuildContext\n"
        "values, now = json.loads(sys.argv[1])\n"
        "print(build(values, 'x', 1, BuildContext(now=now, pixel_id='PIXEL-1')).event_id)\n"
    )
    values = purchase(content_ids="a|b", phone="(415) 555-0123")
    output = subprocess.run(
        [sys.executable, "-c", script, json.dumps([values, NOW])],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    assert output.stdout.strip() == built(values).event_id


BASE_DERIVED = {
    "event_name": "ADD_CART",
    "event_time": str(NOW - 3600),
    "email": EMAIL,
    "phone": "(415) 555-0123",
    "event_source_url": URL,
    "value": "10",
    "currency": "USD",
    "content_ids": "a|b",
}
SAME_EVENT = [
    {"currency": "usd"},
    {"currency": " Usd "},
    {"event_time": "2027-01-15T07:00:00Z"},
    {"event_time": "2027-01-15T08:00:00+01:00"},
    {"event_time": str((NOW - 3600) * 1000)},
    {"event_time": NOW - 3600},
    {"email": " PERSON@example.COM "},
    {"email": EMAIL_HASH.upper()},
    {"phone": "+1 415-555-0123"},
    {"phone": "0014155550123"},
    {"value": "10.00"},
    {"value": 10},
    {"event_name": "add_to_cart"},
    {"event_name": "Product Added"},
    {"action_source": "web"},
    {"content_ids": "a, b"},
    {"content_ids": ["a", "b"]},
    {"event_source_url": f" {URL} "},
]
SAME_IDS = [
    "currency-lower",
    "currency-padded",
    "iso-z",
    "iso-offset",
    "milliseconds",
    "json-number",
    "email-case",
    "email-hashed",
    "phone-dashes",
    "phone-00",
    "value-decimals",
    "value-number",
    "name-ga4",
    "name-segment",
    "source-default",
    "ids-comma",
    "ids-json",
    "url-padded",
]


@pytest.mark.parametrize("change", SAME_EVENT, ids=SAME_IDS)
def test_formatting_only_differences_keep_the_derived_id(change: dict[str, Any]) -> None:
    """A re-export that only changes formatting (case, time notation, list syntax...) keeps the id."""
    assert built({**BASE_DERIVED, **change}).event_id == built(BASE_DERIVED).event_id


def test_column_order_does_not_change_the_derived_id() -> None:
    """The id does not depend on the order of the row's columns."""
    reversed_row = dict(reversed(list(BASE_DERIVED.items())))
    assert built(reversed_row).event_id == built(BASE_DERIVED).event_id


OTHER_EVENT = [
    {"event_name": "VIEW_CONTENT"},
    {"event_time": str(NOW - 3599)},
    {"email": "someone.else@example.com"},
    {"phone": "(415) 555-0124"},
    {"value": "11"},
    {"currency": "EUR"},
    {"content_ids": "a|c"},
    {"content_ids": "b|a"},
    {"event_source_url": URL + "?x=1"},
    {"action_source": "OFFLINE"},
    {"first_name": "John"},
    {"data_processing_options": "LDU"},
    {"num_items": "1"},
]


@pytest.mark.parametrize("change", OTHER_EVENT, ids=lambda c: "-".join(c))
def test_different_rows_get_different_derived_ids(change: dict[str, Any]) -> None:
    """Rows that differ in what they say about the event get different ids."""
    assert built({**BASE_DERIVED, **change}).event_id != built(BASE_DERIVED).event_id


def test_derive_event_id_is_a_digest_of_the_payload() -> None:
    """derive_event_id depends on the payload only, not on the order of its keys."""
    payload = {"event_name": "PAGE_VIEW", "user_data": {"em": ["x"], "ph": ["y"]}}
    reordered = {"user_data": {"ph": ["y"], "em": ["x"]}, "event_name": "PAGE_VIEW"}
    assert derive_event_id(payload) == derive_event_id(reordered)


def test_invalid_row_keeps_its_event_id() -> None:
    """A refused row still reports the id it was given, for the report and the rejects file."""
    assert refused(row(event_id="dedup-9", event_name="zzzz")).event_id == "dedup-9"


def test_invalid_purchase_reports_its_order_id_as_event_id() -> None:
    """A refused PURCHASE without an event id reports its order id."""
    assert refused(purchase(order_id="ORD-9", currency="XYZ")).event_id == "ORD-9"


# --- all problems at once, and no personal data in messages -------------------------------------------------


def test_every_problem_of_a_row_is_reported_at_once() -> None:
    """A row with many mistakes reports each of them, by field, in one go."""
    values = {
        "event_name": "Purchsed",
        "value": "-5",
        "currency": "dollars",
        "num_items": "2.5",
        "contents": "nope",
        "data_processing_options": "GDPR",
        "phone": "12",
    }
    result = refused(values)
    assert fields_of(result.errors) == {
        "event_name",
        "event_time",
        "event_source_url",
        "user_data",
        "value",
        "currency",
        "num_items",
        "contents",
        "data_processing_options",
    }
    assert fields_of(result.warnings) == {"phone"}


def test_every_problem_is_reported_for_a_mobile_app_row() -> None:
    """A MOBILE_APP row's app_data problems are reported alongside the others."""
    ctx = BuildContext(now=NOW)
    values = {"action_source": "MOBILE_APP", "event_time": "soon", "advertiser_tracking_enabled": "?"}
    assert fields_of(refused(values, ctx).errors) == {
        "event_name",
        "event_time",
        "action_source",
        "user_data",
        "app_id",
    }


PERSONAL = {
    "email": "Jane.Doe.Secret at Example.org",
    "phone": "+44 7700 9",
    "first_name": "Janeczka!",
    "last_name": "Doe-Smithers",
    "gender": "Jane-ish",
    "date_of_birth": "12/31/1990",
    "city": "!!!",
    "zip": "SW1A 1AA!!",
    "country": "Janeland",
    "madid": "jane-device-0001",
    "ip_address": "jane.local",
}


def test_messages_never_contain_the_personal_data() -> None:
    """Problems about identifiers name the field and the reason, never the value."""
    result = refused({**PERSONAL, "event_name": "PURCHASE", "event_time": "bad"})
    text = " ".join(str(p) for p in (*result.errors, *result.warnings))
    for value in PERSONAL.values():
        assert value not in text
    for piece in ("Jane", "Secret", "Doe", "7700", "1990", "SW1A"):
        assert piece not in text


def test_every_bad_identifier_gets_its_own_warning() -> None:
    """Each identifier that is dropped is named in a warning."""
    result = refused({**PERSONAL, "event_name": "PURCHASE", "event_time": "bad"})
    assert fields_of(result.warnings) == set(PERSONAL) - {"first_name", "last_name"}


# --- never raises -------------------------------------------------------------------------------------------

PLAUSIBLE: dict[str, list[str]] = {
    "event_name": ["PURCHASE", "page", "Order Completed", "CUSTOM_EVENT_2", "purchse"],
    "event_time": ["now", "now-1d", "now-40d", str(NOW), str(NOW * 1000), "2027-01-14T10:00:00Z"],
    "action_source": ["WEB", "MOBILE_APP", "offline", "app"],
    "email": [EMAIL, EMAIL_HASH, "a@b.co|c@d.co"],
    "phone": ["+44 844 412 4653", "(415) 555-0123", "0039 06 1234 5678"],
    "ip_address": [IP, "::1"],
    "user_agent": [UA],
    "madid": [MADID, "00000000-0000-0000-0000-000000000000"],
    "value": ["10", "-1", "nan", "1e308"],
    "currency": ["usd", "EUR", "xx"],
    "num_items": ["2", "2.5", "1e20"],
    "content_ids": ["a|b", "a,b", "[]"],
    "contents": ['[{"id": "a", "quantity": 1}]', "[]", "{}"],
    "app_id": ["123", "com.x"],
    "advertiser_tracking_enabled": ["1", "0", "x"],
    "extinfo": ["i2" + "|" * 15, "[]", "[1"],
    "data_processing_options": ["LDU", "1", "x"],
}


def _field_value(field: str) -> st.SearchStrategy[str]:
    """Arbitrary text, mixed with values that pass the first checks so deeper rules are reached."""
    return st.one_of(st.text(max_size=40), st.sampled_from(PLAUSIBLE.get(field, ["x", " 1 "])))


ROWS = st.fixed_dictionaries({}, optional={field: _field_value(field) for field in FIELDS})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(FIELDS), st.text(max_size=40), max_size=len(FIELDS)))
def test_build_on_arbitrary_text_never_raises(values: dict[str, str]) -> None:
    """build on any dict of canonical field -> text returns an Event or an Invalid, never raises."""
    result = build(values, "f.csv", 2, CTX)
    assert isinstance(result, Event | Invalid)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ROWS)
def test_build_on_plausible_rows_never_raises(values: dict[str, str]) -> None:
    """build on rows mixing arbitrary and realistic text never raises, and valid events are complete."""
    result = build(values, "f.csv", 2, CTX)
    if isinstance(result, Invalid):
        assert result.errors
        return
    assert {"event_name", "event_time", "action_source", "user_data", "event_id"} <= set(result.payload)
    json.dumps(result.payload, allow_nan=False)
    value = result.payload.get("custom_data", {}).get("value")
    assert value is None or (math.isfinite(value) and value >= 0)


# --- known crashes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["event_time", "value", "num_items"])
def test_huge_json_integer_is_a_problem_not_a_crash(field: str) -> None:
    """A 400-digit JSON integer (the JSON Lines reader passes it through) makes the row invalid."""
    assert field in fields_of(refused(purchase(**{field: 10**400})).errors)


def test_deeply_nested_contents_is_a_problem_not_a_crash() -> None:
    """A contents cell of 100 000 `[` (a CSV field can hold it) makes the row invalid."""
    assert "contents" in fields_of(refused(row(contents="[" * 100_000)).errors)


def test_deeply_nested_extinfo_is_a_problem_not_a_crash() -> None:
    """An extinfo cell of 100 000 `[` on a MOBILE_APP row makes the row invalid."""
    assert "extinfo" in fields_of(refused(app_row(extinfo="[" * 100_000)).errors)


def test_lone_surrogate_in_a_text_field_is_a_problem_not_a_crash() -> None:
    """A lone surrogate in search_string (possible when build is called as a library) is refused."""
    assert "search_string" in fields_of(refused(row(search_string="\ud800")).errors)


def test_assembled_has_the_fields_of_an_event_after_its_file_and_line() -> None:
    """build() makes Event(file, line, *assembled[:-1]): the two must list the same fields in the same order
    (the last, user_keys, is for the data-quality counts)."""
    assert Assembled._fields[:-1] == tuple(f.name for f in fields(Event))[2:]
    assert Assembled._fields[-1] == "user_keys"
