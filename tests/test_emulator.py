"""The local emulator of Snap's v3 endpoints: checks, answers, faults, OAuth, inspection, command line."""

from __future__ import annotations

import hashlib
import http.client
import inspect
import json
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snapcapi.emulator import (
    OPTIONS,
    Emulator,
    EmulatorConfig,
    build_parser,
    config_from_options,
    main,
    redact,
)
from snapcapi.emulator.core import EmulatorCore
from snapcapi.spec import (
    EXTINFO_LENGTH,
    MAX_BODY_BYTES,
    MAX_CLOCK_SKEW,
    MAX_EVENT_AGE,
    MAX_EVENTS_PER_REQUEST,
)

NOW = 1_800_000_000.0  # the emulator's pinned "now": events stamped with it never go stale
TOKEN = "test-token"
PIXEL = "pixel-1"
REPO = Path(__file__).resolve().parent.parent

Event = dict[str, Any]
Start = Callable[..., Emulator]


def sha(value: str) -> str:
    """The SHA-256 hex of `value`, as a client sends hashed identifiers."""
    return hashlib.sha256(value.encode()).hexdigest()


def web_event(event_id: str = "e-1", **changes: Any) -> Event:
    """A valid WEB event as sent on the wire, stamped at NOW, with `changes` applied to its top level."""
    event: Event = {
        "event_name": "PAGE_VIEW",
        "event_time": int(NOW),
        "action_source": "WEB",
        "event_source_url": "https://shop.example/checkout",
        "event_id": event_id,
        "user_data": {"em": [sha("person@example.com")], "client_user_agent": "Mozilla/5.0"},
    }
    event.update(changes)
    return event


def app_event(**app_data: Any) -> Event:
    """A valid MOBILE_APP event, with `app_data` entries replaced by `app_data`."""
    extinfo = ["i2", "com.example.app", "1.0", "1.0.0", "17.0", "iPhone15,2", "en_US", "PST"]
    extinfo += [""] * (EXTINFO_LENGTH - len(extinfo))
    data = {"app_id": "123456789", "advertiser_tracking_enabled": 1, "extinfo": extinfo} | app_data
    return web_event(action_source="MOBILE_APP", event_source_url=None, app_data=data)


def purchase(**custom_data: Any) -> Event:
    """A valid PURCHASE, with `custom_data` entries replaced by `custom_data`."""
    return web_event(event_name="PURCHASE", custom_data={"value": 12.5, "currency": "USD"} | custom_data)


def without(event: Event, key: str) -> Event:
    """`event` without `key`."""
    return {name: value for name, value in event.items() if name != key}


@pytest.fixture
def start() -> Iterator[Start]:
    """Start emulators whose clock is pinned at NOW; stop them all after the test."""
    started: list[Emulator] = []

    def _start(**config: Any) -> Emulator:
        emulator = Emulator(EmulatorConfig(**{"clock": lambda: NOW} | config)).start()
        started.append(emulator)
        return emulator

    yield _start
    for emulator in started:
        emulator.stop()


@pytest.fixture
def emulator(start: Start) -> Emulator:
    """An emulator with the default configuration and a pinned clock."""
    return start()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """A keep-alive HTTP client."""
    with httpx.Client(timeout=5) as http:
        yield http


def post(
    http: httpx.Client,
    emulator: Emulator,
    events: list[Any],
    *,
    asset: str = PIXEL,
    token: str | None = TOKEN,
    endpoint: str = "events",
) -> httpx.Response:
    """POST `events` to an events endpoint of `emulator`."""
    params = {} if token is None else {"access_token": token}
    return http.post(f"{emulator.url}/v3/{asset}/{endpoint}", params=params, json={"data": events})


# -- accepted requests -------------------------------------------------------------------------------------


def test_valid_batch_is_answered_valid_and_kept(emulator: Emulator, client: httpx.Client) -> None:
    """A request of valid events answers 200 VALID, and every event is kept with its asset and place."""
    events = [web_event("a"), purchase(event_id="b"), app_event()]
    response = post(client, emulator, events)
    assert response.status_code == 200
    assert response.json()["status"] == "VALID"
    kept = emulator.events()
    assert [item["event"] for item in kept] == events
    assert {(item["asset_id"], item["request"]) for item in kept} == {(PIXEL, 1)}
    assert [item["index"] for item in kept] == [0, 1, 2]


def test_event_name_matches_in_any_case(emulator: Emulator, client: httpx.Client) -> None:
    """Snap matches event names case-insensitively."""
    assert post(client, emulator, [web_event(event_name="page_view")]).status_code == 200


@pytest.mark.parametrize(
    "event_time",
    [int(NOW) - MAX_EVENT_AGE, int(NOW) + MAX_CLOCK_SKEW],
    ids=["oldest-allowed", "latest-allowed"],
)
def test_event_time_at_the_window_edges_is_accepted(
    emulator: Emulator, client: httpx.Client, event_time: int
) -> None:
    """Events exactly 37 days old, or exactly the allowed skew ahead, are taken."""
    assert post(client, emulator, [web_event(event_time=event_time)]).status_code == 200


@pytest.mark.parametrize(
    "user_data",
    [
        {"ph": [sha("14155550123")]},
        {"madid": "6d92078a-8246-4ba4-ae5b-76104861e7dc"},
        {"client_ip_address": "203.0.113.7", "client_user_agent": "Mozilla/5.0"},
    ],
    ids=["phone", "madid", "ip-and-user-agent"],
)
def test_each_identifier_alone_is_enough(emulator: Emulator, client: httpx.Client, user_data: Event) -> None:
    """A phone, a mobile ad id, or an IP address with a user agent each make an event matchable."""
    assert post(client, emulator, [web_event(user_data=user_data)]).status_code == 200


def test_chunked_body_is_read(emulator: Emulator, client: httpx.Client) -> None:
    """A body sent with chunked transfer encoding is read like one with a Content-Length."""
    body = httpx.Request("POST", "/", json={"data": [web_event()]}).content
    response = client.post(
        f"{emulator.url}/v3/{PIXEL}/events",
        params={"access_token": TOKEN},
        content=iter([body[:10], body[10:]]),
    )
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 200


def test_test_event_code_is_kept_with_the_events(emulator: Emulator, client: httpx.Client) -> None:
    """A body-level test_event_code is recorded with each event it marks."""
    body = {"data": [web_event()], "test_event_code": "TEST123"}
    client.post(f"{emulator.url}/v3/{PIXEL}/events", params={"access_token": TOKEN}, json=body)
    assert emulator.events()[0]["test_event_code"] == "TEST123"


# -- refused events ----------------------------------------------------------------------------------------

REFUSALS: list[tuple[str, Any, str, str]] = [
    ("no-event-name", without(web_event(), "event_name"), "MISSING_REQUIRED_FIELD", "event_name"),
    ("no-event-time", without(web_event(), "event_time"), "MISSING_REQUIRED_FIELD", "event_time"),
    ("no-action-source", without(web_event(), "action_source"), "MISSING_REQUIRED_FIELD", "action_source"),
    ("no-user-data", without(web_event(), "user_data"), "MISSING_REQUIRED_FIELD", "user_data"),
    (
        "unknown-name",
        web_event(event_name="ORDER_DONE"),
        "UNRECOGNIZED_EVENT_TYPE",
        "Unrecognized event type",
    ),
    ("alias-name", web_event(event_name="Order Completed"), "UNRECOGNIZED_EVENT_TYPE", "Unrecognized"),
    ("milliseconds", web_event(event_time=int(NOW * 1000)), "INVALID_EVENT_TIME", "milliseconds"),
    ("time-as-text", web_event(event_time=str(int(NOW))), "INVALID_EVENT_TIME", "integer"),
    ("time-as-float", web_event(event_time=NOW + 0.5), "INVALID_EVENT_TIME", "integer"),
    ("too-old", web_event(event_time=int(NOW) - MAX_EVENT_AGE - 1), "EVENT_TIME_OUT_OF_RANGE", "older"),
    ("future", web_event(event_time=int(NOW) + MAX_CLOCK_SKEW + 1), "EVENT_TIME_OUT_OF_RANGE", "future"),
    ("lower-case-source", web_event(action_source="web"), "INVALID_ACTION_SOURCE", "action_source"),
    (
        "web-without-url",
        without(web_event(), "event_source_url"),
        "MISSING_REQUIRED_FIELD",
        "event_source_url",
    ),
    ("app-without-app-data", without(app_event(), "app_data"), "MISSING_REQUIRED_FIELD", "app_data"),
    ("short-extinfo", app_event(extinfo=["a2"] * (EXTINFO_LENGTH - 1)), "INVALID_APP_DATA", "extinfo"),
    ("bad-platform", app_event(extinfo=["x2"] * EXTINFO_LENGTH), "INVALID_APP_DATA", "extinfo"),
    ("purchase-no-value", purchase(value=None), "INVALID_PURCHASE", "value"),
    ("purchase-negative", purchase(value=-1), "INVALID_PURCHASE", "value"),
    ("purchase-value-text", purchase(value="12.50"), "INVALID_PURCHASE", "value"),
    ("purchase-no-currency", purchase(currency=None), "INVALID_PURCHASE", "currency"),
    ("purchase-lower-currency", purchase(currency="usd"), "INVALID_PURCHASE", "currency"),
    ("purchase-not-iso", purchase(currency="XYZ"), "INVALID_PURCHASE", "currency"),
    ("plain-email", web_event(user_data={"em": ["person@example.com"]}), "UNHASHED_PERSONAL_DATA", "em"),
    ("upper-hex", web_event(user_data={"em": [sha("a@b.co").upper()]}), "UNHASHED_PERSONAL_DATA", "em"),
    ("email-not-list", web_event(user_data={"em": sha("a@b.co")}), "INVALID_FIELD_FORMAT", "em"),
    (
        "plain-name",
        web_event(user_data={"em": [sha("a@b.co")], "fn": "john"}),
        "UNHASHED_PERSONAL_DATA",
        "fn",
    ),
    (
        "hashed-ip",
        web_event(user_data={"em": [sha("a@b.co")], "client_ip_address": sha("203.0.113.7")}),
        "HASHED_IP_ADDRESS",
        "IP address",
    ),
    ("no-identifier", web_event(user_data={"fn": sha("john")}), "INSUFFICIENT_IDENTIFIERS", "identifiers"),
    (
        "ip-without-agent",
        web_event(user_data={"client_ip_address": "203.0.113.7"}),
        "INSUFFICIENT_IDENTIFIERS",
        "identifiers",
    ),
    ("not-an-object", "PAGE_VIEW", "INVALID_EVENT", "object"),
]


@pytest.mark.parametrize(
    ("bad", "code", "phrase"), [case[1:] for case in REFUSALS], ids=[case[0] for case in REFUSALS]
)
def test_bad_event_refuses_the_request_at_its_index(
    emulator: Emulator, client: httpx.Client, bad: Any, code: str, phrase: str
) -> None:
    """An event breaking a rule gets a 400 naming its index, its reason and code; nothing is kept."""
    response = post(client, emulator, [web_event("a"), bad, web_event("c")])
    assert response.status_code == 400
    answer = response.json()
    assert answer["status"] == "INVALID"
    assert answer["event"] == 1
    assert phrase in answer["reason"]
    assert answer["errors"]["codes"][0] == code
    assert answer["errors"]["error_msgs"][0] == answer["reason"]
    assert emulator.events() == []


def test_first_bad_event_is_the_one_named(emulator: Emulator, client: httpx.Client) -> None:
    """When several events are bad, the refusal names the first of them."""
    bad = web_event(event_name="NOPE")
    response = post(client, emulator, [web_event(), web_event(), bad, bad])
    assert response.json()["event"] == 2


def test_refuse_without_index_leaves_the_event_key_out(start: Start, client: httpx.Client) -> None:
    """In refuse_without_index mode a refusal carries no `event`, so a client must split to find it."""
    emulator = start(refuse_without_index=True)
    response = post(client, emulator, [web_event(), web_event(event_name="NOPE")])
    assert response.status_code == 400
    assert "event" not in response.json()
    assert response.json()["reason"] == "Unrecognized event type"


WIRE_KEYS = [
    "event_name", "event_time", "action_source", "event_source_url", "event_id", "user_data", "custom_data",
    "app_data", "extinfo", "em", "ph", "fn", "madid", "client_ip_address", "client_user_agent", "value",
    "currency",
]  # fmt: skip
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(WIRE_KEYS) | st.text(max_size=4), children, max_size=6)
    ),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None)
@given(event=st.dictionaries(st.sampled_from(WIRE_KEYS), JSON_VALUES, max_size=8) | JSON_VALUES)
def test_any_json_event_gets_an_answer_never_a_crash(event: Any) -> None:
    """Whatever JSON an event holds, the events endpoint answers 200 or 400 and validate answers 200."""
    core = EmulatorCore(EmulatorConfig(clock=lambda: NOW))
    body = json.dumps({"data": [event]}).encode()
    assert core.handle("POST", f"/v3/{PIXEL}/events?access_token={TOKEN}", body).status in (200, 400)
    assert core.handle("POST", f"/v3/{PIXEL}/events/validate?access_token={TOKEN}", body).status == 200


# -- refused requests --------------------------------------------------------------------------------------


def test_more_events_than_allowed_is_refused_without_index(emulator: Emulator, client: httpx.Client) -> None:
    """A request over the per-request event limit answers 400 with no event index."""
    response = post(client, emulator, [web_event(str(i)) for i in range(MAX_EVENTS_PER_REQUEST + 1)])
    assert response.status_code == 400
    assert "event" not in response.json()
    assert "Too many events" in response.json()["reason"]


def test_a_full_batch_is_accepted(emulator: Emulator, client: httpx.Client) -> None:
    """A request of exactly the per-request limit is taken whole."""
    response = post(client, emulator, [web_event(str(i)) for i in range(MAX_EVENTS_PER_REQUEST)])
    assert response.status_code == 200
    assert emulator.stats()["largest_batch"] == MAX_EVENTS_PER_REQUEST


def test_oversize_body_is_refused_with_413_and_the_connection_stays_usable(
    emulator: Emulator, client: httpx.Client
) -> None:
    """A body over the byte limit answers 413, keeps nothing, and the next request on the connection works."""
    padding = "x" * (MAX_BODY_BYTES + 1)
    response = post(client, emulator, [web_event(event_source_url=padding)])
    assert response.status_code == 413
    assert post(client, emulator, [web_event()]).status_code == 200
    assert len(emulator.events()) == 1


@pytest.mark.parametrize("body", [b"not json", b'{"events": []}', b'{"data": {}}', b'{"data": []}'], ids=str)
def test_malformed_body_is_refused_without_index(
    emulator: Emulator, client: httpx.Client, body: bytes
) -> None:
    """A body that is not JSON, or has no non-empty `data` list, answers 400 with no event index."""
    response = client.post(f"{emulator.url}/v3/{PIXEL}/events", params={"access_token": TOKEN}, content=body)
    assert response.status_code == 400
    assert response.json()["status"] == "INVALID"
    assert "event" not in response.json()


def test_missing_token_is_refused_with_401(emulator: Emulator, client: httpx.Client) -> None:
    """A request without access_token answers 401 INVALID."""
    response = post(client, emulator, [web_event()], token=None)
    assert response.status_code == 401
    assert response.json()["status"] == "INVALID"


def test_unknown_token_is_refused_with_401(start: Start, client: httpx.Client) -> None:
    """With configured tokens, another token answers 401 and a configured one is accepted."""
    emulator = start(access_tokens=frozenset({TOKEN}))
    assert post(client, emulator, [web_event()], token="other").status_code == 401
    assert post(client, emulator, [web_event()]).status_code == 200


def test_asset_not_allowed_is_refused_with_403(start: Start, client: httpx.Client) -> None:
    """With allowed assets configured, another asset answers 403 and nothing is kept."""
    emulator = start(allowed_assets=frozenset({PIXEL}))
    assert post(client, emulator, [web_event()], asset="other-pixel").status_code == 403
    assert emulator.events() == []


def test_unknown_path_answers_404(emulator: Emulator, client: httpx.Client) -> None:
    """A path that is no endpoint answers 404."""
    assert client.post(f"{emulator.url}/v2/conversion", json={}).status_code == 404


def test_wrong_method_answers_405(emulator: Emulator, client: httpx.Client) -> None:
    """GET on the events endpoint answers 405 naming the allowed method."""
    response = client.get(f"{emulator.url}/v3/{PIXEL}/events", params={"access_token": TOKEN})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


# -- faults ------------------------------------------------------------------------------------------------


def test_rate_429_answers_429_with_retry_after(start: Start, client: httpx.Client) -> None:
    """rate_429 1.0 answers every events request 429, with the configured Retry-After."""
    emulator = start(rate_429=1.0, retry_after=2, seed=1)
    response = post(client, emulator, [web_event()])
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert emulator.events() == []


def test_rate_429_without_retry_after_sends_no_header(start: Start, client: httpx.Client) -> None:
    """Without retry_after, a 429 carries no Retry-After header, as Snap often does."""
    emulator = start(rate_429=1.0, seed=1)
    response = post(client, emulator, [web_event()])
    assert response.status_code == 429
    assert "retry-after" not in response.headers


def test_rate_5xx_answers_server_errors(start: Start, client: httpx.Client) -> None:
    """rate_5xx 1.0 answers every events request with 500, 502 or 503."""
    emulator = start(rate_5xx=1.0, seed=1)
    statuses = {post(client, emulator, [web_event()]).status_code for _ in range(20)}
    assert statuses <= {500, 502, 503}
    assert len(statuses) > 1


def test_rate_drop_closes_the_connection_without_an_answer(start: Start, client: httpx.Client) -> None:
    """rate_drop 1.0 closes the connection after reading the request, and keeps nothing."""
    emulator = start(rate_drop=1.0, seed=1)
    with pytest.raises(httpx.RemoteProtocolError):
        post(client, emulator, [web_event()])
    assert emulator.stats()["dropped"] == 1
    assert emulator.events() == []


def test_faults_come_before_the_token_check(start: Start, client: httpx.Client) -> None:
    """A fault is decided before any check: a request with a bad token still gets the injected 429."""
    emulator = start(rate_429=1.0, access_tokens=frozenset({TOKEN}))
    assert post(client, emulator, [web_event()], token="wrong").status_code == 429


def test_faults_spare_inspection_and_oauth(start: Start, client: httpx.Client) -> None:
    """Inspection endpoints and the OAuth endpoint are never faulted."""
    emulator = start(rate_drop=1.0)
    assert client.get(f"{emulator.url}/_emulator/stats").status_code == 200
    form = {"grant_type": "refresh_token", "refresh_token": "r", "client_id": "c", "client_secret": "s"}
    assert client.post(f"{emulator.url}/login/oauth2/access_token", data=form).status_code == 200


def test_seeded_faults_repeat_and_restart_on_reset(start: Start, client: httpx.Client) -> None:
    """The same seed gives the same sequence of faults, and a reset starts the sequence again."""
    first, second = start(rate_429=0.5, seed=7), start(rate_429=0.5, seed=7)

    def statuses(emulator: Emulator) -> list[int]:
        return [post(client, emulator, [web_event()]).status_code for _ in range(20)]

    sequence = statuses(first)
    assert set(sequence) == {200, 429}
    assert statuses(second) == sequence
    first.reset()
    assert statuses(first) == sequence


def test_latency_delays_each_answer(start: Start, client: httpx.Client) -> None:
    """latency holds each events answer for that many seconds."""
    emulator = start(latency=0.2)
    began = time.perf_counter()
    assert post(client, emulator, [web_event()]).status_code == 200
    assert time.perf_counter() - began >= 0.2


@pytest.mark.parametrize(
    "changes",
    [{"rate_429": 1.5}, {"rate_5xx": -0.1}, {"rate_429": 0.6, "rate_drop": 0.6}, {"latency": -1.0}],
    ids=["over-one", "negative", "sum-over-one", "negative-latency"],
)
def test_config_refuses_out_of_range_values(changes: dict[str, Any]) -> None:
    """A share outside [0, 1], shares adding past 1, or a negative duration raise ValueError."""
    with pytest.raises(ValueError, match="must"):
        EmulatorConfig(**changes)


# -- validate ----------------------------------------------------------------------------------------------


def test_validate_answers_per_event_and_keeps_nothing(emulator: Emulator, client: httpx.Client) -> None:
    """The validate endpoint answers 200 with one log per event, VALID or INVALID, and keeps nothing."""
    old = web_event("old", event_time=int(NOW) - MAX_EVENT_AGE + 60)
    events = [web_event(), web_event(event_name="NOPE"), old]
    response = post(client, emulator, events, endpoint="events/validate")
    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "INVALID"
    assert answer["test_event"] is True
    assert [log["status"] for log in answer["event_logs"]] == ["VALID", "INVALID", "VALID"]
    assert answer["event_logs"][1]["errors"]["codes"] == ["UNRECOGNIZED_EVENT_TYPE"]
    assert answer["event_logs"][2]["warnings"]
    assert emulator.events() == []


def test_validate_logs_and_stats_list_recent_calls(emulator: Emulator, client: httpx.Client) -> None:
    """/validate/logs lists the validate calls of an asset and /validate/stats counts their events."""
    post(client, emulator, [web_event(), web_event(event_name="NOPE")], endpoint="events/validate")
    base = f"{emulator.url}/v3/{PIXEL}/events/validate"
    logs = client.get(f"{base}/logs", params={"access_token": TOKEN}).json()["logs"]
    stats = client.get(f"{base}/stats", params={"access_token": TOKEN}).json()["stats"]
    assert [len(log["event_logs"]) for log in logs] == [2]
    assert stats == {"requests": 1, "events": 2, "valid": 1, "invalid": 1}


# -- OAuth -------------------------------------------------------------------------------------------------

OAUTH = {"oauth_client_id": "cid", "oauth_client_secret": "secret", "oauth_refresh_token": "refresh"}
GRANT = {
    "grant_type": "refresh_token",
    "client_id": "cid",
    "client_secret": "secret",
    "refresh_token": "refresh",
}


def grant(http: httpx.Client, emulator: Emulator, **changes: str) -> httpx.Response:
    """Ask the emulator's OAuth endpoint for an access token."""
    return http.post(f"{emulator.url}/login/oauth2/access_token", data=GRANT | changes)


def test_oauth_grant_gives_a_token_the_events_endpoint_accepts(start: Start, client: httpx.Client) -> None:
    """A refresh-token grant answers a Bearer token, which the events endpoint then accepts."""
    emulator = start(access_tokens=frozenset(), **OAUTH)
    response = grant(client, emulator)
    assert response.status_code == 200
    answer = response.json()
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == 3600
    assert answer["refresh_token"] == "refresh"
    assert post(client, emulator, [web_event()], token=answer["access_token"]).status_code == 200


def test_oauth_wrong_secret_is_refused_with_401(start: Start, client: httpx.Client) -> None:
    """A wrong client secret answers 401 invalid_client."""
    emulator = start(**OAUTH)
    response = grant(client, emulator, client_secret="guess")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_oauth_wrong_refresh_token_is_refused_with_400(start: Start, client: httpx.Client) -> None:
    """A wrong refresh token answers 400 invalid_grant."""
    emulator = start(**OAUTH)
    response = grant(client, emulator, refresh_token="stale")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_oauth_other_grant_type_is_refused(start: Start, client: httpx.Client) -> None:
    """Only the refresh_token grant is served."""
    emulator = start(**OAUTH)
    response = grant(client, emulator, grant_type="client_credentials")
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_expired_oauth_token_is_refused_with_401(start: Start, client: httpx.Client) -> None:
    """An issued token works until `token_expires_in` seconds of the emulator's clock pass, then gives 401."""
    now = [NOW]
    emulator = start(clock=lambda: now[0], token_expires_in=60, **OAUTH)
    assert emulator.oauth_url == f"{emulator.url}/login/oauth2/access_token"
    token = client.post(emulator.oauth_url, data=GRANT).json()["access_token"]
    assert post(client, emulator, [web_event()], token=token).status_code == 200
    now[0] += 60
    response = post(client, emulator, [web_event(event_time=int(now[0]))], token=token)
    assert response.status_code == 401
    assert "Expired" in response.json()["reason"]


# -- inspection --------------------------------------------------------------------------------------------


def test_events_can_be_filtered_by_asset(emulator: Emulator, client: httpx.Client) -> None:
    """events(asset_id) and /_emulator/events?asset_id= list only that asset's events."""
    post(client, emulator, [web_event("a")], asset="pixel-a")
    post(client, emulator, [web_event("b")], asset="pixel-b")
    assert [item["event"]["event_id"] for item in emulator.events("pixel-b")] == ["b"]
    answer = client.get(f"{emulator.url}/_emulator/events", params={"asset_id": "pixel-a"}).json()
    assert answer["count"] == 1
    assert answer["events"][0]["asset_id"] == "pixel-a"


def test_duplicates_are_kept_and_counted_once_as_distinct(emulator: Emulator, client: httpx.Client) -> None:
    """Every arrival is kept; distinct_events counts each (asset, event_id) once, as Snap deduplicates."""
    post(client, emulator, [web_event("same"), web_event("other")])
    post(client, emulator, [web_event("same")])
    post(client, emulator, [web_event("same")], asset="pixel-2")
    stats = emulator.stats()
    assert stats["events_kept"] == 4
    assert stats["distinct_events"] == 3


def test_stats_count_requests_answers_and_assets(emulator: Emulator, client: httpx.Client) -> None:
    """stats() counts requests, answers by status, requests by asset and the largest batch."""
    post(client, emulator, [web_event("a"), web_event("b")])
    post(client, emulator, [web_event(event_name="NOPE")], asset="pixel-2")
    assert client.get(f"{emulator.url}/_emulator/stats").json() == emulator.stats()
    stats = emulator.stats()
    assert stats["requests"] == 2
    assert stats["by_status"] == {"200": 1, "400": 1}
    assert stats["requests_by_asset"] == {PIXEL: 1, "pixel-2": 1}
    assert stats["largest_batch"] == 2


def test_reset_forgets_events_and_counts(emulator: Emulator, client: httpx.Client) -> None:
    """POST /_emulator/reset (like reset()) empties the store and the counts."""
    post(client, emulator, [web_event()])
    assert client.post(f"{emulator.url}/_emulator/reset").status_code == 200
    assert emulator.events() == []
    assert emulator.stats()["requests"] == 0


def test_events_returns_copies(emulator: Emulator, client: httpx.Client) -> None:
    """Changing what events() returned does not change what the emulator kept."""
    post(client, emulator, [web_event()])
    emulator.events()[0]["event"]["event_name"] = "CHANGED"
    assert emulator.events()[0]["event"]["event_name"] == "PAGE_VIEW"


# -- server ------------------------------------------------------------------------------------------------


def test_one_connection_carries_many_requests(emulator: Emulator) -> None:
    """Answers carry Content-Length over HTTP/1.1, so one connection serves request after request."""
    host, port = emulator.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        for _ in range(3):
            connection.request("GET", "/_emulator/stats")
            response = connection.getresponse()
            response.read()
            assert response.status == 200
            assert response.version == 11
            assert not response.will_close
    finally:
        connection.close()


def test_stop_ends_idle_keep_alive_connections_promptly(start: Start, client: httpx.Client) -> None:
    """stop() returns quickly even while a client holds an idle keep-alive connection open."""
    emulator = start()
    post(client, emulator, [web_event()])
    began = time.perf_counter()
    emulator.stop()
    assert time.perf_counter() - began < 1.0


def test_serve_forever_returns_when_stopped_from_another_thread() -> None:
    """serve_forever() blocks while serving and returns once stop() is called elsewhere."""
    emulator = Emulator(EmulatorConfig())
    server = threading.Thread(target=emulator.serve_forever)
    server.start()
    httpx.get(f"{emulator.url}/_emulator/stats", timeout=5).raise_for_status()
    emulator.stop()
    server.join(timeout=2)
    assert not server.is_alive()


def test_an_emulator_starts_once(emulator: Emulator) -> None:
    """Starting a started (or stopped) emulator raises RuntimeError."""
    with pytest.raises(RuntimeError, match="already started"):
        emulator.start()


def test_quiet_by_default(
    emulator: Emulator, client: httpx.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without verbose, serving requests writes nothing to stderr."""
    post(client, emulator, [web_event()])
    assert capsys.readouterr().err == ""


def test_verbose_log_redacts_the_token(
    start: Start, client: httpx.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    """In verbose mode each request is logged to stderr, never with its access token."""
    emulator = start(verbose=True)
    post(client, emulator, [web_event()], token="s3cr3t-token")
    logged = capsys.readouterr().err
    assert f"/v3/{PIXEL}/events?access_token=***" in logged
    assert "s3cr3t-token" not in logged


def test_redact_hides_every_access_token() -> None:
    """redact() replaces each access_token value and leaves the rest of the text alone."""
    text = "POST /v3/p/events?access_token=abc&x=1 then ?access_token=def"
    assert redact(text) == "POST /v3/p/events?access_token=***&x=1 then ?access_token=***"


# -- command line ------------------------------------------------------------------------------------------


def test_every_option_fills_a_config_from_options_parameter() -> None:
    """The option table, the argparse parser and config_from_options name the same settings."""
    parameters = set(inspect.signature(config_from_options).parameters)
    assert {option.dest for option in OPTIONS} == parameters
    help_text = build_parser().format_help()
    assert all(option.flag in help_text for option in OPTIONS)


def test_options_become_the_config() -> None:
    """Command-line values are carried into EmulatorConfig; options not given keep the defaults."""
    args = build_parser().parse_args(
        ["--access-token", "a", "--access-token", "b", "--rate-429", "0.25", "--refuse-without-index"]
    )
    config = config_from_options(**{option.dest: getattr(args, option.dest) for option in OPTIONS})
    assert config.access_tokens == frozenset({"a", "b"})
    assert config.rate_429 == 0.25
    assert config.refuse_without_index is True
    assert config.latency == EmulatorConfig().latency
    assert config.allowed_assets is None


def test_main_refuses_an_out_of_range_rate_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """A rate over 1 is a usage error: exit 2 and a message naming the option."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--rate-5xx", "2"])
    assert exit_info.value.code == 2
    assert "rate_5xx" in capsys.readouterr().err


def test_main_returns_2_when_the_port_is_taken(
    emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """A port already in use ends main() with exit code 2 and a message, not a traceback."""
    port = emulator.url.rsplit(":", 1)[1]
    assert main(["--port", port]) == 2
    assert "cannot listen" in capsys.readouterr().err


def read_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The first line `process` writes to stdout, waiting at most `timeout` seconds."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise TimeoutError("the emulator printed nothing")
    return process.stdout.readline()


@pytest.mark.e2e
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_module_serves_then_exits_0_on_a_signal(stop_signal: signal.Signals) -> None:
    """`python -m snapcapi.emulator --port 0` prints its URL first, takes events, and exits 0 on a signal."""
    process = subprocess.Popen(
        [sys.executable, "-m", "snapcapi.emulator", "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = read_line(process, timeout=10)
        assert line.startswith("snapcapi mock-server listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1].strip()
        event = web_event(event_time=int(time.time()))
        response = httpx.post(
            f"{url}/v3/{PIXEL}/events", params={"access_token": TOKEN}, json={"data": [event]}
        )
        assert response.status_code == 200
        assert httpx.get(f"{url}/_emulator/stats").json()["events_kept"] == 1
        process.send_signal(stop_signal)
        assert process.wait(timeout=5) == 0
        assert process.stderr is not None
        assert process.stderr.read() == ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
