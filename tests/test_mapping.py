"""Tests of snapcapi.events.mapping and snapcapi.read.segment: columns to snapcapi's canonical fields.

Covers `--map FIELD=COLUMN`, TOML mapping files ([columns], [constants], [event_names], [settings]),
automatic column detection, JSON Lines rows in Snap's v3 shape, and Segment track/page calls.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from snapcapi.errors import ConfigError
from snapcapi.events.build import BuildContext, build
from snapcapi.events.fields import FIELDS
from snapcapi.events.identifiers import sha256_hex
from snapcapi.events.mapping import Mapper, MappingConfig, load_mapping_file, parse_map_options
from snapcapi.model import NOT_AN_EVENT, Event, Row
from snapcapi.read.segment import flatten_segment, is_segment_event
from snapcapi.spec import EventName

NOW = 1_800_000_000  # 2027-01-15T08:00:00Z
CTX = BuildContext(now=NOW, pixel_id="PIXEL-1", snap_app_id="SNAP-APP-1", app_id="123456789")
EMAIL = "Person@Example.com"
EMAIL_HASH = "542d240129883c019e106e3b1b2d3f3cb3537c43c425364de8e951d5a3083345"
IP = "203.0.113.7"
UA = "Mozilla/5.0 (X11; Linux x86_64)"
URL = "https://shop.example/p/1"
MADID = "6d92078a-8246-4ba4-ae5b-76104861e7dc"


def csv_row(**data: str) -> Row:
    """A CSV row (string values) at line 2 of `events.csv`."""
    return Row("events.csv", 2, dict(data))


def map_csv(mapper: Mapper, data: dict[str, Any]) -> dict[str, Any]:
    """Map one CSV-like row through the plan of its own header."""
    plan = mapper.plan(data, source="events.csv")
    return mapper.map(Row("events.csv", 2, data), plan)


def map_json(data: dict[str, Any], mapper: Mapper | None = None) -> dict[str, Any]:
    """Map one JSON Lines row (no plan: its shape decides)."""
    return (mapper or Mapper(MappingConfig())).map(Row("events.jsonl", 1, data))


def write_mapping(tmp_path: Path, text: str) -> Path:
    """Write a mapping file and return its path."""
    path = tmp_path / "mapping.toml"
    path.write_text(text, encoding="utf-8")
    return path


def event_of(values: dict[str, Any]) -> Event:
    """Build mapped values into an Event, failing the test with the problems if it is invalid."""
    result = build(values, "events.jsonl", 1, CTX)
    assert isinstance(result, Event), [str(p) for p in result.errors]
    return result


# --- --map FIELD=COLUMN -------------------------------------------------------------------------------------


def test_map_options_give_field_column_pairs() -> None:
    """Each `--map FIELD=COLUMN` names the column of a field; spaces around either side are trimmed."""
    assert parse_map_options(["email=Email Address", " phone = Tel "]) == {
        "email": "Email Address",
        "phone": "Tel",
    }


def test_later_map_option_for_a_field_wins() -> None:
    """Given twice for one field, the last `--map` counts."""
    assert parse_map_options(["email=A", "email=B"]) == {"email": "B"}


def test_map_column_may_contain_an_equals_sign() -> None:
    """Only the first `=` separates field from column."""
    assert parse_map_options(["event_name=kind=of"]) == {"event_name": "kind=of"}


@pytest.mark.parametrize("option", ["email", "=Email", "email=", " = ", ""])
def test_malformed_map_option_is_a_config_error(option: str) -> None:
    """A `--map` without a field, a column or the `=` is refused with an example of the right form."""
    with pytest.raises(ConfigError, match="expected FIELD=COLUMN, for example --map email=Email Address"):
        parse_map_options([option])


def test_map_option_with_unknown_field_is_a_config_error() -> None:
    """A `--map` naming a field snapcapi does not know is refused, listing the fields."""
    with pytest.raises(ConfigError, match=r"--map: unknown field 'colour'; the fields are: event_name, "):
        parse_map_options(["colour=Colour"])


# --- mapping files ------------------------------------------------------------------------------------------

FULL_MAPPING = """
[columns]
email = "Customer E-mail"
event_time = "Ordered At"

[constants]
currency = "EUR"
value = 10
num_items = 1.5
action_source = "OFFLINE"

[event_names]
"Membership Bought" = "SUBSCRIBE"
"Basket Add" = "add_to_cart"
"Big Win" = "Order Completed"

[settings]
pixel_id = "PIXEL-9"
default_region = "GB"
"""


def test_mapping_file_columns_are_read(tmp_path: Path) -> None:
    """[columns] maps fields to the file's column names."""
    config = load_mapping_file(write_mapping(tmp_path, FULL_MAPPING))
    assert dict(config.columns) == {"email": "Customer E-mail", "event_time": "Ordered At"}


def test_mapping_file_constants_are_read_as_text(tmp_path: Path) -> None:
    """[constants] values are kept as text, numbers included, like a CSV cell."""
    config = load_mapping_file(write_mapping(tmp_path, FULL_MAPPING))
    assert dict(config.constants) == {
        "currency": "EUR",
        "value": "10",
        "num_items": "1.5",
        "action_source": "OFFLINE",
    }


def test_mapping_file_event_names_are_folded_and_resolved(tmp_path: Path) -> None:
    """[event_names] keys are folded like event names; targets may be Snap names or aliases, any case."""
    config = load_mapping_file(write_mapping(tmp_path, FULL_MAPPING))
    assert dict(config.event_names) == {
        "membershipbought": EventName.SUBSCRIBE,
        "basketadd": EventName.ADD_CART,
        "bigwin": EventName.PURCHASE,
    }


def test_mapping_file_settings_are_passed_on(tmp_path: Path) -> None:
    """[settings] is kept as text for settings.resolve (which checks the names)."""
    config = load_mapping_file(write_mapping(tmp_path, FULL_MAPPING))
    assert dict(config.settings) == {"pixel_id": "PIXEL-9", "default_region": "GB"}


def test_empty_mapping_file_is_an_empty_config(tmp_path: Path) -> None:
    """A mapping file with no tables changes nothing."""
    assert load_mapping_file(write_mapping(tmp_path, "# nothing yet\n")) == MappingConfig()


def test_user_event_names_from_the_file_reach_build(tmp_path: Path) -> None:
    """A name from [event_names] is accepted by build when the context carries the file's names."""
    config = load_mapping_file(write_mapping(tmp_path, FULL_MAPPING))
    ctx = BuildContext(now=NOW, pixel_id="PIXEL-1", event_names=config.event_names)
    values = {"event_name": "MEMBERSHIP_BOUGHT", "event_time": "now", "email": EMAIL, "event_source_url": URL}
    result = build(values, "f.csv", 2, ctx)
    assert isinstance(result, Event)
    assert result.event_name is EventName.SUBSCRIBE


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[columns\nemail = 'x'", "not a valid TOML mapping file"),
        ("[colums]\nemail = 'x'", "unknown table(s) colums"),
        ("title = 'mine'", "unknown table(s) title"),
        ("[columns]\ncolour = 'Colour'", "[columns]: unknown field 'colour'"),
        ("[constants]\ncolour = 'red'", "[constants]: unknown field 'colour'"),
        (
            "[event_names]\n'Bought' = 'BUY_THING'",
            "[event_names]: 'BUY_THING' is not one of Snap's event names",
        ),
        ("columns = 'email'", "[columns] must be a table"),
        ("[constants]\naction_source = true", "[constants]: action_source must be a string or a number"),
        ("[columns]\nemail = ['a', 'b']", "[columns]: email must be a string or a number"),
        ("[columns.email]\nname = 'x'", "[columns]: email must be a string or a number"),
    ],
    ids=[
        "bad-toml",
        "misspelt-table",
        "top-level-key",
        "unknown-column-field",
        "unknown-constant-field",
        "unknown-snap-name",
        "not-a-table",
        "boolean",
        "array",
        "nested-table",
    ],
)
def test_bad_mapping_file_is_a_config_error_naming_the_file(tmp_path: Path, text: str, fragment: str) -> None:
    """Whatever is wrong in a mapping file, the ConfigError starts with the file's path and says what."""
    path = write_mapping(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_mapping_file(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert fragment in message


def test_missing_mapping_file_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    """A mapping file that does not exist is a ConfigError that names it."""
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError, match="cannot read the mapping file") as caught:
        load_mapping_file(path)
    assert str(caught.value).startswith(str(path))


def test_mapping_file_that_is_not_utf8_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 are a ConfigError naming the file, not a traceback."""
    path = tmp_path / "latin1.toml"
    path.write_bytes("[constants]\ncurrency = 'é'\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not a valid TOML mapping file") as caught:
        load_mapping_file(path)
    assert str(caught.value).startswith(str(path))


# --- automatic detection ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "field"),
    [
        ("event_type", "event_name"),
        ("Event Name", "event_name"),
        ("event_conversion_type", "action_source"),
        ("timestamp", "event_time"),
        ("client_dedup_id", "event_id"),
        ("transaction_id", "order_id"),
        ("price", "value"),
        ("item_ids", "content_ids"),
        ("item_category", "content_category"),
        ("number_items", "num_items"),
        ("page_url", "event_source_url"),
        ("uuid_c1", "sc_cookie1"),
        ("click_id", "sc_click_id"),
        ("hashed_email", "email"),
        ("E-Mail", "email"),
        ("Email Address", "email"),
        ("hashed_phone_number", "phone"),
        ("hashed_mobile_ad_id", "madid"),
        ("mobile_ad_id", "madid"),
        ("ip_address", "ip_address"),
        ("client_ip_address", "ip_address"),
        ("user_agent", "user_agent"),
        ("client_user_agent", "user_agent"),
        ("CURRENCY", "currency"),
        ("First Name", "first_name"),
        ("zip-code", "zip"),
    ],
)
def test_column_names_are_detected(column: str, field: str) -> None:
    """v2 names, v3 keys and common spellings are matched ignoring case, spaces, `-` and `_`."""
    assert Mapper(MappingConfig()).plan([column]).pairs == ((column, field),)


def test_every_canonical_field_detects_its_own_name() -> None:
    """A column named exactly like a canonical field feeds that field."""
    plan = Mapper(MappingConfig()).plan(FIELDS)
    assert plan.pairs == tuple((field, field) for field in FIELDS)


def test_unknown_columns_are_listed_as_unused() -> None:
    """Columns that feed no field are reported, so a user can spot a missed mapping."""
    plan = Mapper(MappingConfig()).plan(["email", "Loyalty Tier", "notes"])
    assert plan.unused == ("Loyalty Tier", "notes")


def test_first_of_two_columns_for_one_field_wins() -> None:
    """When two columns stand for the same field, the first feeds it and the second is unused."""
    plan = Mapper(MappingConfig()).plan(["hashed_email", "email"])
    assert (plan.pairs, plan.unused) == ((("hashed_email", "email"),), ("email",))


def test_plan_is_reused_for_the_same_header() -> None:
    """The plan of a header is decided once."""
    mapper = Mapper(MappingConfig())
    assert mapper.plan(["email", "ts"]) is mapper.plan(["email", "ts"])


# --- explicit columns ---------------------------------------------------------------------------------------


def test_map_option_wins_over_detection() -> None:
    """`--map email=Work Email` makes that column the email; a detected `email` column goes unused."""
    plan = Mapper(MappingConfig(), {"email": "Work Email"}).plan(["email", "Work Email"])
    assert (plan.pairs, plan.unused) == ((("Work Email", "email"),), ("email",))


def test_map_option_wins_over_mapping_file_columns() -> None:
    """`--map` overrides the mapping file's [columns] for the same field."""
    mapper = Mapper(MappingConfig(columns={"email": "A"}), {"email": "B"})
    assert mapper.plan(["A", "B"]).pairs == (("B", "email"),)


def test_mapping_file_columns_win_over_detection() -> None:
    """[columns] overrides detection."""
    plan = Mapper(MappingConfig(columns={"email": "Contact"})).plan(["email", "Contact"])
    assert plan.pairs == (("Contact", "email"),)


def test_mapped_column_is_found_by_folded_name() -> None:
    """A mapped column name matches the header ignoring case, spaces, `-` and `_`."""
    plan = Mapper(MappingConfig(), {"email": "work-email"}).plan(["Work Email"])
    assert plan.pairs == (("Work Email", "email"),)


def test_column_mapped_to_one_field_is_not_detected_for_another() -> None:
    """`--map external_id=email` feeds external_id from the email column, and not email."""
    plan = Mapper(MappingConfig(), {"external_id": "email"}).plan(["email"])
    assert plan.pairs == (("email", "external_id"),)


def test_mapped_column_missing_from_the_file_is_a_config_error() -> None:
    """A mapping naming a column the file lacks is a ConfigError naming the file, column and field."""
    mapper = Mapper(MappingConfig(), {"email": "Work Email"})
    with pytest.raises(ConfigError) as caught:
        mapper.plan(["email", "ts"], source="events.csv")
    assert str(caught.value) == (
        "events.csv: the mapping names column 'Work Email' for email, but the file has no such column"
        " (columns: email, ts)"
    )


def test_mapped_column_missing_without_a_source_is_ignored() -> None:
    """Without a source (JSON rows vary), a missing mapped column is simply not used."""
    assert Mapper(MappingConfig(), {"email": "Work Email"}).plan(["ts"]).pairs == (("ts", "event_time"),)


def test_dotted_mapped_column_is_not_required_in_the_header() -> None:
    """A dotted path (for nested JSON) is not a header column, so its absence is not an error."""
    plan = Mapper(MappingConfig(), {"ip_address": "context.ip"}).plan(["email"], source="events.csv")
    assert plan.pairs == (("email", "email"),)


# --- mapping rows -------------------------------------------------------------------------------------------


def test_csv_row_is_mapped_to_fields() -> None:
    """A row's values come out under canonical field names."""
    mapper = Mapper(MappingConfig(), {"email": "Contact"})
    values = map_csv(mapper, {"Contact": EMAIL, "event_type": "PURCHASE", "Notes": "vip"})
    assert values == {"email": EMAIL, "event_name": "PURCHASE"}


@pytest.mark.parametrize("blank", ["", "   ", "\t"])
def test_blank_values_are_left_out(blank: str) -> None:
    """Empty or whitespace-only cells are not values."""
    assert map_csv(Mapper(MappingConfig()), {"email": blank, "event_type": "PURCHASE"}) == {
        "event_name": "PURCHASE"
    }


@pytest.mark.parametrize("empty", [None, [], {}])
def test_empty_json_values_are_left_out(empty: Any) -> None:
    """JSON null, [] and {} are not values."""
    assert map_json({"email": empty, "event_name": "PURCHASE"}) == {"event_name": "PURCHASE"}


def test_constants_fill_missing_fields() -> None:
    """[constants] give a value to fields the row does not have."""
    mapper = Mapper(MappingConfig(constants={"currency": "EUR"}))
    assert map_csv(mapper, {"value": "5"}) == {"value": "5", "currency": "EUR"}


def test_constants_fill_blank_cells() -> None:
    """A blank cell takes the constant."""
    mapper = Mapper(MappingConfig(constants={"currency": "EUR"}))
    assert map_csv(mapper, {"currency": " "}) == {"currency": "EUR"}


def test_row_values_win_over_constants() -> None:
    """A constant never overrides a value the row has."""
    mapper = Mapper(MappingConfig(constants={"currency": "EUR"}))
    assert map_csv(mapper, {"currency": "usd"}) == {"currency": "usd"}


def test_flat_json_row_is_mapped_like_a_csv_row() -> None:
    """A flat JSON Lines row maps by its keys, JSON values kept as they are."""
    assert map_json({"event_type": "PURCHASE", "price": 12.5, "item_ids": ["a", "b"]}) == {
        "event_name": "PURCHASE",
        "value": 12.5,
        "content_ids": ["a", "b"],
    }


def test_dotted_path_reads_nested_json() -> None:
    """`--map content_category=properties.category` reads a nested JSON value."""
    mapper = Mapper(MappingConfig(), {"content_category": "meta.category.name"})
    values = map_json({"event_name": "VIEW_CONTENT", "meta": {"category": {"name": "shoes"}}}, mapper)
    assert values["content_category"] == "shoes"


@pytest.mark.parametrize("data", [{}, {"meta": "flat"}, {"meta": {"other": 1}}, {"meta": {"category": None}}])
def test_dotted_path_that_leads_nowhere_gives_no_value(data: dict[str, Any]) -> None:
    """A dotted path that is absent, or crosses a non-object, gives no value (and no error)."""
    mapper = Mapper(MappingConfig(), {"content_category": "meta.category"})
    assert "content_category" not in map_json(data, mapper)


# --- Snap's v3 shape ----------------------------------------------------------------------------------------

V3_ROW: dict[str, Any] = {
    "event_name": "PURCHASE",
    "event_time": NOW - 3600,
    "action_source": "WEB",
    "event_source_url": URL,
    "event_id": "dedup-1",
    "user_data": {"em": [EMAIL_HASH], "client_ip_address": IP, "client_user_agent": UA, "fn": "John"},
    "custom_data": {"value": 25.5, "currency": "usd", "order_id": "ORD-1", "content_ids": ["a"]},
    "integration": "their-tool",
}


def test_v3_shape_is_read_as_flat_fields() -> None:
    """user_data, custom_data and app_data keys are read as if they were top-level columns."""
    assert map_json(V3_ROW) == {
        "event_name": "PURCHASE",
        "event_time": NOW - 3600,
        "action_source": "WEB",
        "event_source_url": URL,
        "event_id": "dedup-1",
        "email": [EMAIL_HASH],
        "ip_address": IP,
        "user_agent": UA,
        "first_name": "John",
        "value": 25.5,
        "currency": "usd",
        "order_id": "ORD-1",
        "content_ids": ["a"],
    }


def test_v3_shape_top_level_value_wins_over_nested() -> None:
    """A key both at the top and inside a v3 object takes the top-level value."""
    row = {**V3_ROW, "value": 99, "user_data": {**V3_ROW["user_data"]}}
    assert map_json(row)["value"] == 99


def test_v3_app_data_is_read() -> None:
    """app_data's app_id, tracking flag and extinfo are read."""
    row = {"app_data": {"app_id": "com.x", "advertiser_tracking_enabled": 1, "extinfo": ["a2"]}}
    assert map_json(row) == {"app_id": "com.x", "advertiser_tracking_enabled": 1, "extinfo": ["a2"]}


@pytest.mark.parametrize(
    "values",
    [
        {
            "event_name": "Order Completed",
            "event_time": "2027-01-15T07:00:00Z",
            "email": EMAIL,
            "phone": "+44 844 412 4653",
            "first_name": "Raphaël",
            "ip_address": IP,
            "user_agent": UA,
            "event_source_url": URL,
            "value": "25.50",
            "currency": "usd",
            "order_id": "ORD-1",
            "content_ids": "a|b",
            "num_items": "3",
            "contents": '[{"id": "a", "quantity": 1, "item_price": 5}]',
            "data_processing_options": "LDU",
        },
        {
            "event_name": "APP_OPEN",
            "event_time": "now-2h",
            "action_source": "MOBILE_APP",
            "madid": MADID.upper(),
            "app_id": "com.example.shop",
            "advertiser_tracking_enabled": "yes",
            "brands": "acme,globex",
        },
    ],
    ids=["web-purchase", "mobile-app"],
)
def test_built_payload_read_back_builds_the_same_payload(values: dict[str, Any]) -> None:
    """An event snapcapi built, written as v3 JSON and read back, builds to the very same payload."""
    first = event_of(values)
    again = event_of(map_json(json.loads(json.dumps(first.payload))))
    assert again.payload == first.payload


def test_v3_shape_integration_key_is_not_a_field() -> None:
    """The sender's `integration` name is not read into any field (snapcapi sends its own)."""
    plan = Mapper(MappingConfig()).plan(["integration", "email"])
    assert plan.unused == ("integration",)


# --- Segment ------------------------------------------------------------------------------------------------

SEGMENT_ORDER: dict[str, Any] = {
    "type": "track",
    "event": "Order Completed",
    "messageId": "msg-1",
    "userId": "user-1",
    "timestamp": "2027-01-15T07:00:00Z",
    "properties": {
        "order_id": "ORD-1",
        "revenue": 25.5,
        "currency": "usd",
        "products": [
            {"product_id": "sku-1", "quantity": 2, "price": 10},
            {"product_id": "sku-2", "price": 5.5},
        ],
    },
    "context": {
        "ip": IP,
        "userAgent": UA,
        "page": {"url": URL},
        "device": {"advertisingId": MADID, "id": "device-1"},
        "app": {"namespace": "com.example.shop"},
        "traits": {
            "email": EMAIL,
            "phone": "+1 415 555 0123",
            "firstName": "John",
            "last_name": "Doe",
            "address": {"city": "Menlo Park", "state": "CA", "postal_code": "94025", "country": "US"},
        },
    },
}


def test_segment_track_call_is_flattened_like_segments_destination() -> None:
    """A Segment Order Completed call gives the fields Segment's Snap destination would send."""
    assert flatten_segment(SEGMENT_ORDER) == {
        "event_name": "Order Completed",
        "event_time": "2027-01-15T07:00:00Z",
        "event_id": "msg-1",
        "email": EMAIL,
        "phone": "+1 415 555 0123",
        "first_name": "John",
        "last_name": "Doe",
        "city": "Menlo Park",
        "state": "CA",
        "zip": "94025",
        "country": "US",
        "madid": MADID,
        "idfv": "device-1",
        "user_agent": UA,
        "ip_address": IP,
        "event_source_url": URL,
        "content_ids": ["sku-1", "sku-2"],
        "contents": [
            {"id": "sku-1", "quantity": 2, "item_price": 10},
            {"id": "sku-2", "quantity": None, "item_price": 5.5},
        ],
        "value": 25.5,
        "currency": "usd",
        "order_id": "ORD-1",
        "app_id": "com.example.shop",
    }


def test_segment_order_completed_builds_a_purchase() -> None:
    """Mapped and built, the Segment order is a PURCHASE deduplicated by its messageId."""
    event = event_of(map_json(SEGMENT_ORDER))
    assert (event.event_name, event.event_id) == (EventName.PURCHASE, "msg-1")
    assert event.payload["custom_data"]["value"] == 25.5
    assert event.payload["custom_data"]["currency"] == "USD"
    assert event.payload["custom_data"]["contents"][1] == {"id": "sku-2", "item_price": 5.5}


def test_segment_page_call_is_a_page_view() -> None:
    """A Segment `page` call is a PAGE_VIEW of its page URL."""
    page = {
        "type": "page",
        "messageId": "msg-2",
        "timestamp": "2027-01-15T07:30:00Z",
        "properties": {"url": URL},
        "context": {"traits": {"email": EMAIL}},
    }
    event = event_of(map_json(page))
    assert (event.event_name, event.payload["event_source_url"]) == (EventName.PAGE_VIEW, URL)


def test_segment_properties_win_over_traits() -> None:
    """Identifiers in `properties` come before the user's traits."""
    call = {
        "type": "track",
        "event": "Signed Up",
        "properties": {"email": "p@example.com"},
        "context": {"traits": {"email": "t@example.com"}},
    }
    assert flatten_segment(call)["email"] == "p@example.com"


def test_segment_top_level_traits_win_over_context_traits() -> None:
    """Traits at the top of the call come before `context.traits`."""
    call = {
        "type": "track",
        "event": "Signed Up",
        "traits": {"email": "top@example.com"},
        "context": {"traits": {"email": "t@example.com"}},
    }
    assert flatten_segment(call)["email"] == "top@example.com"


def test_empty_top_level_traits_fall_back_to_context_traits() -> None:
    """`"traits": {}` says nothing, so the identifiers in `context.traits` are used."""
    call = {
        "type": "track",
        "event": "Signed Up",
        "traits": {},
        "context": {"traits": {"email": "t@example.com"}},
    }
    assert flatten_segment(call).get("email") == "t@example.com"


def test_segment_single_product_id_is_the_content_id() -> None:
    """`properties.product_id` (Product Viewed) is the content id."""
    call = {"type": "track", "event": "Product Viewed", "properties": {"product_id": "sku-9"}}
    assert flatten_segment(call)["content_ids"] == "sku-9"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"type": "track", "event": "Order Completed"}, True),
        ({"type": "TRACK", "properties": {}}, True),
        ({"type": "page", "context": {}}, True),
        ({"type": "screen", "messageId": "m"}, True),
        ({"type": "identify", "traits": {}, "messageId": "m"}, False),
        ({"type": "track"}, False),
        ({"type": 5, "event": "x"}, False),
        ({"event": "Order Completed", "properties": {}}, False),
        ({"event_type": "PURCHASE", "type": "purchase", "event": "x"}, False),
    ],
)
def test_segment_calls_are_recognized(data: dict[str, Any], expected: bool) -> None:
    """A row is a Segment call when its `type` is track/page/screen and it has Segment's keys."""
    assert is_segment_event(data) is expected


@pytest.mark.parametrize(
    "call",
    [
        {"type": "track", "event": "x", "properties": ["not", "an", "object"]},
        {"type": "track", "event": "x", "context": "nope", "traits": 5},
        {"type": "track", "event": "x", "properties": {"products": ["sku-1", None, {"price": 1}]}},
        {"type": "track", "event": "x", "properties": {"products": "sku-1"}},
    ],
    ids=["list-properties", "string-context", "odd-products", "string-products"],
)
def test_odd_segment_shapes_do_not_crash(call: dict[str, Any]) -> None:
    """Unexpected types inside a Segment call give fewer fields, never an exception."""
    assert flatten_segment(call)["event_name"] == "x"


def test_dotted_map_reaches_into_a_segment_call() -> None:
    """A dotted `--map` reads the raw Segment call, not only the flattened fields."""
    mapper = Mapper(MappingConfig(), {"content_category": "properties.category"})
    call = {**SEGMENT_ORDER, "properties": {**SEGMENT_ORDER["properties"], "category": "shoes"}}
    assert map_json(call, mapper)["content_category"] == "shoes"


def test_map_of_a_top_level_segment_key_is_honoured() -> None:
    """`--map external_id=userId` on Segment rows feeds external_id from the call's userId."""
    mapper = Mapper(MappingConfig(), {"external_id": "userId"})
    assert map_json(SEGMENT_ORDER, mapper).get("external_id") == "user-1"


# --- spreadsheet apostrophes ---------------------------------------------------------------------------

GUARDED = {
    "Event": "'PURCHASE",
    "Time": "'2027-01-15T07:00:00Z",
    "Zip": "'02134",
    "Phone": "'+14155550100",
    "Price": "'12.50",
    "Currency": "USD",
    "Last Name": "O'Brien",
}
UNGUARDED = {
    "event_name": "PURCHASE",
    "event_time": "2027-01-15T07:00:00Z",
    "zip": "02134",
    "phone": "+14155550100",
    "value": "12.50",
    "currency": "USD",
    "last_name": "O'Brien",
}


def test_a_leading_apostrophe_is_dropped_from_every_csv_field() -> None:
    """Excel and Shopify write '02134 and '+14155550100 to keep them text: the value is what follows,
    by the fast CSV mapper and by `map` alike; an apostrophe inside a value stays."""
    mapper = Mapper(MappingConfig())
    plan = mapper.plan(GUARDED, source="events.csv")
    fast = mapper.fields_mapper(tuple(GUARDED), plan)
    assert fast is not None
    assert fast(list(GUARDED.values())) == UNGUARDED
    assert mapper.map(Row("events.csv", 2, dict(GUARDED)), plan) == UNGUARDED


@pytest.mark.parametrize("cell", ["'", "' ", "'   "])
def test_an_apostrophe_alone_is_an_empty_cell(cell: str) -> None:
    """A cell holding only the apostrophe (and spaces) has no value, by either mapper."""
    mapper = Mapper(MappingConfig())
    plan = mapper.plan(["email", "zip"], source="events.csv")
    fast = mapper.fields_mapper(("email", "zip"), plan)
    assert fast is not None
    assert fast([EMAIL, cell]) == {"email": EMAIL}
    assert map_csv(mapper, {"email": EMAIL, "zip": cell}) == {"email": EMAIL}


def test_a_leading_apostrophe_is_dropped_from_json_and_mapped_columns() -> None:
    """JSON Lines strings and `--map` columns (dotted paths too) lose the apostrophe as well."""
    mapper = Mapper(MappingConfig(), {"zip": "address.zip"})
    mapped = map_json({"phone": "'+14155550100", "address": {"zip": "'02134"}, "num_items": 3}, mapper)
    assert mapped == {"phone": "+14155550100", "zip": "02134", "num_items": 3}


def test_a_guarded_zip_and_phone_are_hashed_as_the_plain_values() -> None:
    """The zip is no longer dropped as "not a postal code"; the hashes are those of 02134 and 14155550100."""
    mapper = Mapper(MappingConfig())
    event = event_of(map_csv(mapper, {**GUARDED, "page_url": URL}))
    assert event.warnings == ()
    assert event.payload["user_data"]["zp"] == sha256_hex("02134")
    assert event.payload["user_data"]["ph"] == [sha256_hex("14155550100")]
    assert event.payload["custom_data"]["value"] == 12.5


# --- Segment calls that are not events -------------------------------------------------------------------

IDENTIFY = {"type": "identify", "userId": "user-1", "messageId": "m-1", "traits": {"email": EMAIL}}


@pytest.mark.parametrize(
    "call",
    [
        IDENTIFY,
        {"type": "Group", "groupId": "g-1", "userId": "user-1", "traits": {"name": "Acme"}},
        {"type": "alias", "previousId": "anon-1", "userId": "user-1", "messageId": "m-3"},
    ],
    ids=["identify", "group", "alias"],
)
def test_segment_identify_group_and_alias_calls_map_to_a_skip(call: dict[str, Any]) -> None:
    """identify, group and alias calls say who someone is, not what they did: no fields, a reason."""
    kind = str(call["type"]).lower()
    assert map_json(call) == {
        NOT_AN_EVENT: f"a Segment {kind} call, not an event: Snap takes events (Segment's track, page and"
        " screen calls)"
    }


def test_a_row_of_type_identify_without_segments_keys_is_an_ordinary_row() -> None:
    """A flat row that happens to have a `type` column of "alias" is read as usual."""
    assert map_json({"type": "alias", "email": EMAIL}) == {"email": EMAIL}
