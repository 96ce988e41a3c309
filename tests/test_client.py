"""The HTTP client: URL and body shape, answers, retries and backoff, auth, and redaction of secrets."""

from __future__ import annotations

import email.utils
import json
import threading
from collections.abc import Callable
from urllib.parse import parse_qs

import httpx
import pytest

from snapcapi import __version__
from snapcapi.errors import AuthError, DeliveryError, EndpointError
from snapcapi.send.client import (
    Answer,
    AttemptLog,
    EventLog,
    OAuthToken,
    RetryWait,
    SnapClient,
    StaticToken,
    TokenSource,
    make_http_client,
    redact,
)

API_URL = "https://tr.example.test"
OAUTH_URL = "https://accounts.example.test/login/oauth2/access_token"
ASSET = "pixel-1"
# Characters that URL encoding changes, so that redaction of the encoded form is exercised too.
TOKEN = "tok-SECRET/123+abc=="
CLIENT_SECRET = "client-SECRET-456"
REFRESH = "refresh-SECRET-789"
EVENTS = [{"event_name": "PURCHASE", "event_id": "e1"}]

Reply = Callable[[httpx.Request], httpx.Response]


def reply(
    status: int = 200,
    body: object = None,
    *,
    headers: dict[str, str] | None = None,
    text: str | None = None,
) -> Reply:
    """A reply made fresh for each request (a response's body can be read only once)."""

    def make(request: httpx.Request) -> httpx.Response:
        if text is not None:
            return httpx.Response(status, text=text, headers=headers)
        content = {"status": "VALID", "reason": "ok"} if body is None else body
        return httpx.Response(status, json=content, headers=headers)

    return make


def raise_(error: type[httpx.TransportError], message: str = "boom") -> Reply:
    """A reply that raises `error` as the transport would."""

    def make(request: httpx.Request) -> httpx.Response:
        raise error(message.replace("{url}", str(request.url)), request=request)

    return make


class Script:
    """Answers requests in order with the given replies, the last one repeating; records every request."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies) or [reply()]
        self.requests: list[httpx.Request] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
            index = min(len(self.requests), len(self.replies)) - 1
        return self.replies[index](request)


class Fake:
    """Snap's API and its OAuth server behind one MockTransport, each answering from its own script."""

    def __init__(self, api: Script, oauth: Script | None = None) -> None:
        self.api = api
        self.oauth = oauth or Script(reply(200, {"access_token": "acc-1", "expires_in": 3600}))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == httpx.URL(OAUTH_URL).host:
            return self.oauth(request)
        return self.api(request)


def http_for(fake: Fake) -> httpx.Client:
    return make_http_client(transport=httpx.MockTransport(fake))


def make_client(
    api: Script,
    *,
    tokens: TokenSource | None = None,
    sleeps: list[float] | None = None,
    logs: list[AttemptLog] | None = None,
    max_retries: int = 8,
    backoff_base: float = 0.5,
    backoff_cap: float = 30.0,
    wall_clock: Callable[[], float] = lambda: 0.0,
) -> SnapClient:
    """A SnapClient over `api` that records its sleeps instead of sleeping; jitter draws 1.0."""
    return SnapClient(
        http_for(Fake(api)),
        API_URL,
        tokens or StaticToken(TOKEN),
        max_retries=max_retries,
        backoff_base=backoff_base,
        backoff_cap=backoff_cap,
        sleep=(sleeps if sleeps is not None else []).append,
        random=lambda: 1.0,
        on_attempt=logs.append if logs is not None else None,
        wall_clock=wall_clock,
    )


def oauth_client(api: Script, oauth: Script, clock: Callable[[], float] = lambda: 0.0) -> SnapClient:
    http = http_for(Fake(api, oauth))
    tokens = OAuthToken(http, OAUTH_URL, "client-1", CLIENT_SECRET, REFRESH, clock=clock)
    return SnapClient(http, API_URL, tokens, sleep=lambda _: None)


def access_tokens(script: Script) -> list[str | None]:
    return [request.url.params.get("access_token") for request in script.requests]


def form(request: httpx.Request) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(request.content.decode()).items()}


# --- shape of the request ---------------------------------------------------------------------------------


def test_make_http_client_sets_explicit_timeout_and_user_agent() -> None:
    """The run's client has the given timeout for every phase and names snapcapi and its version."""
    http = make_http_client(timeout=5.0)
    assert http.timeout == httpx.Timeout(5.0)
    assert http.headers["User-Agent"] == f"snapcapi/{__version__}"


def test_request_carries_user_agent() -> None:
    """Requests to Snap say who sends them."""
    api = Script()
    make_client(api).post_events(ASSET, EVENTS)
    assert api.requests[0].headers["User-Agent"] == f"snapcapi/{__version__}"


def test_url_is_v3_asset_events_with_access_token_query() -> None:
    """Events go to POST {api_url}/v3/{asset_id}/events?access_token=..."""
    api = Script()
    make_client(api).post_events(ASSET, EVENTS)
    request = api.requests[0]
    assert request.method == "POST"
    assert (request.url.scheme, request.url.host, request.url.path) == (
        "https",
        "tr.example.test",
        "/v3/pixel-1/events",
    )
    assert request.url.params["access_token"] == TOKEN
    assert request.headers["Content-Type"] == "application/json"


def test_validate_goes_to_the_validate_path() -> None:
    """validate=True posts to /v3/{asset_id}/events/validate."""
    api = Script()
    make_client(api).post_events(ASSET, EVENTS, validate=True)
    assert api.requests[0].url.path == "/v3/pixel-1/events/validate"


def test_test_event_code_is_in_the_body() -> None:
    """A test event code travels at the body's top level, next to data."""
    api = Script()
    make_client(api).post_events(ASSET, EVENTS, test_event_code="TEST123")
    assert json.loads(api.requests[0].content) == {"data": EVENTS, "test_event_code": "TEST123"}


def test_body_is_compact_utf8_json() -> None:
    """The body is compact JSON with non-ASCII text as UTF-8, not \\u escapes."""
    api = Script()
    make_client(api).post_events(ASSET, [{"event_id": "é"}])
    assert api.requests[0].content == '{"data":[{"event_id":"é"}]}'.encode()


def test_retries_send_the_same_bytes() -> None:
    """A retried request sends exactly the body of the first attempt."""
    api = Script(reply(503), reply())
    make_client(api).post_events(ASSET, EVENTS)
    assert len(api.requests) == 2
    assert api.requests[0].content == api.requests[1].content


# --- answers ----------------------------------------------------------------------------------------------


def test_200_returns_an_ok_answer() -> None:
    """HTTP 200 gives Snap's status and reason."""
    answer = make_client(Script(reply(200, {"status": "VALID", "reason": "fine"}))).post_events(ASSET, EVENTS)
    assert answer == Answer(200, "VALID", "fine", None, ())
    assert answer.ok


def test_400_with_event_index_is_parsed() -> None:
    """A refusal names the 0-based index of the failing event and Snap's messages."""
    body = {
        "status": "INVALID",
        "reason": "Invalid event",
        "event": 3,
        "errors": {"codes": ["E1"], "error_msgs": ["event_name is not recognized"]},
    }
    answer = make_client(Script(reply(400, body))).post_events(ASSET, EVENTS)
    assert answer == Answer(400, "INVALID", "Invalid event", 3, ("event_name is not recognized",))
    assert not answer.ok


def test_400_without_event_index_has_none() -> None:
    """A refusal that names no event gives event_index None."""
    answer = make_client(Script(reply(400, {"status": "INVALID", "reason": "bad"}))).post_events(
        ASSET, EVENTS
    )
    assert answer.event_index is None
    assert answer.reason == "bad"


def test_400_is_not_retried() -> None:
    """Other 4xx answers are Snap's verdict: returned at once, never retried."""
    api = Script(reply(400, {"status": "INVALID", "reason": "bad"}))
    sleeps: list[float] = []
    make_client(api, sleeps=sleeps).post_events(ASSET, EVENTS)
    assert len(api.requests) == 1
    assert sleeps == []


def test_html_refusal_is_not_snaps_and_names_the_url_in_short() -> None:
    """An HTML error page is not Snap's refusal: one EndpointError naming the URL and the start of the page,
    never a crash, never a retry."""
    api = Script(reply(400, text="<html>" + "x" * 500))
    with pytest.raises(EndpointError) as caught:
        make_client(api).post_events(ASSET, EVENTS)
    message = str(caught.value)
    assert f"{API_URL}/v3/{ASSET}/events " in message
    assert "HTTP 400" in message
    assert "'<html>xxx" in message
    assert "x" * 100 not in message  # the start of the page, not all of it
    assert len(api.requests) == 1


def test_echoed_token_in_answer_is_redacted() -> None:
    """An answer that quotes the URL back does not carry the token into the reason, nor into the error
    about an answer that is not Snap's."""
    text = f"bad request for /v3/pixel-1/events?access_token={TOKEN}"
    answer = make_client(Script(reply(400, {"status": "INVALID", "reason": text}))).post_events(ASSET, EVENTS)
    assert TOKEN not in answer.reason
    assert "access_token=REDACTED" in answer.reason
    with pytest.raises(EndpointError) as caught:
        make_client(Script(reply(400, text=text))).post_events(ASSET, EVENTS)
    assert TOKEN not in str(caught.value)
    assert "access_token=REDACTED" in str(caught.value)


def test_validate_answer_parses_event_logs() -> None:
    """/events/validate answers with one log per event: index, status, messages and warnings."""
    body = {
        "status": "VALID",
        "test_event": True,
        "reason": "ok",
        "event_logs": [
            {"event": 0, "status": "VALID", "errors": {}, "warnings": ["event is old"]},
            {"event": 1, "status": "INVALID", "errors": {"codes": [1], "error_msgs": ["no identifiers"]}},
        ],
    }
    answer = make_client(Script(reply(200, body))).post_events(ASSET, EVENTS * 2, validate=True)
    assert answer.event_logs == (
        EventLog(0, "VALID", (), ("event is old",)),
        EventLog(1, "INVALID", ("no identifiers",), ()),
    )


def test_unexpected_redirect_is_not_snaps_api_and_says_where_it_points() -> None:
    """A 3xx is not Snap's API answering: stop with the place it redirects to, instead of retrying."""
    api = Script(reply(302, text="", headers={"Location": "https://portal.example.test/login?x=1"}))
    with pytest.raises(EndpointError, match=r"HTTP 302, redirects to https://portal.example.test/login\)"):
        make_client(api).post_events(ASSET, EVENTS)
    assert len(api.requests) == 1


# --- retries ----------------------------------------------------------------------------------------------


def test_429_is_retried_and_the_sleep_equals_retry_after() -> None:
    """429 with Retry-After: 2 waits exactly 2 seconds, then succeeds."""
    sleeps: list[float] = []
    api = Script(reply(429, headers={"Retry-After": "2"}), reply())
    answer = make_client(api, sleeps=sleeps).post_events(ASSET, EVENTS)
    assert answer.status_code == 200
    assert sleeps == [2.0]


def test_a_stopping_run_does_not_retry() -> None:
    """Once the run is stopping (SIGTERM), a failed attempt raises at once instead of backing off and
    trying again, so a graceful stop does not wait out a storm of 429s."""
    halt = threading.Event()
    sleeps: list[float] = []
    api = Script(reply(429), reply())

    def pause(seconds: float) -> None:
        sleeps.append(seconds)
        halt.set()  # the signal arrives during the backoff

    client = SnapClient(
        http_for(Fake(api)), API_URL, StaticToken(TOKEN), sleep=pause, halted=halt.is_set, random=lambda: 1.0
    )
    with pytest.raises(DeliveryError, match=r"^HTTP 429; not retried: the run is stopping$"):
        client.post_events(ASSET, EVENTS)
    assert len(api.requests) == 1
    assert len(sleeps) == 1


def test_retry_after_as_http_date_is_honoured() -> None:
    """Retry-After given as an HTTP date waits until then."""
    now = 1_700_000_000.0
    sleeps: list[float] = []
    date = email.utils.formatdate(now + 7, usegmt=True)
    api = Script(reply(429, headers={"Retry-After": date}), reply())
    make_client(api, sleeps=sleeps, wall_clock=lambda: now).post_events(ASSET, EVENTS)
    assert sleeps == [7.0]


def test_retry_after_is_capped() -> None:
    """An hour's Retry-After waits only the backoff cap."""
    sleeps: list[float] = []
    api = Script(reply(503, headers={"Retry-After": "3600"}), reply())
    make_client(api, sleeps=sleeps, backoff_cap=30.0).post_events(ASSET, EVENTS)
    assert sleeps == [30.0]


def test_backoff_delays_grow_and_are_capped() -> None:
    """Without Retry-After, the ceiling doubles from the base up to the cap."""
    sleeps: list[float] = []
    client = make_client(Script(reply(503)), sleeps=sleeps, max_retries=6, backoff_base=0.5, backoff_cap=3.0)
    with pytest.raises(DeliveryError):
        client.post_events(ASSET, EVENTS)
    assert sleeps == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]


@pytest.mark.parametrize("draw", [0.0, 0.3, 0.999])
def test_backoff_jitter_is_a_share_of_the_ceiling(draw: float) -> None:
    """Full jitter: each delay is the random draw times that retry's ceiling, so between 0 and it."""
    sleeps: list[float] = []
    client = SnapClient(
        http_for(Fake(Script(reply(503)))),
        API_URL,
        StaticToken(TOKEN),
        max_retries=4,
        backoff_base=1.0,
        backoff_cap=4.0,
        sleep=sleeps.append,
        random=lambda: draw,
    )
    with pytest.raises(DeliveryError):
        client.post_events(ASSET, EVENTS)
    assert sleeps == pytest.approx([draw * ceiling for ceiling in (1.0, 2.0, 4.0, 4.0)])


def test_5xx_forever_raises_delivery_error_after_max_retries() -> None:
    """max_retries=3 makes 4 attempts, then says what happened last and how often."""
    api = Script(reply(503))
    with pytest.raises(DeliveryError, match=r"^HTTP 503 after 4 attempts over 3\.[5-9] s$"):
        make_client(api, max_retries=3).post_events(ASSET, EVENTS)  # waits of 0.5, 1 and 2 s
    assert len(api.requests) == 4


def test_timeout_is_retried() -> None:
    """A read timeout is retried and the next attempt's answer returned."""
    api = Script(raise_(httpx.ReadTimeout), reply())
    assert make_client(api).post_events(ASSET, EVENTS).status_code == 200
    assert len(api.requests) == 2


def test_connect_error_is_retried() -> None:
    """A connection error is retried and the next attempt's answer returned."""
    api = Script(raise_(httpx.ConnectError), reply())
    assert make_client(api).post_events(ASSET, EVENTS).status_code == 200
    assert len(api.requests) == 2


def test_connection_refused_forever_names_the_host() -> None:
    """The final error says what happened, to which host, after how many attempts."""
    api = Script(raise_(httpx.ConnectError, "[Errno 111] Connection refused"))
    expected = r"^connection refused by tr.example.test after 3 attempts over 1\.[5-9] s$"
    with pytest.raises(DeliveryError, match=expected):
        make_client(api, max_retries=2).post_events(ASSET, EVENTS)  # waits of 0.5 and 1 s


def test_attempt_log_records_each_attempt() -> None:
    """on_attempt hears of every attempt: its number, status or error, and the number of events."""
    logs: list[AttemptLog] = []
    make_client(Script(raise_(httpx.ReadTimeout), reply(503), reply()), logs=logs).post_events(ASSET, EVENTS)
    assert [(log.attempt, log.status_code, log.error, log.events) for log in logs] == [
        (1, None, "timed out talking to tr.example.test", 1),
        (2, 503, None, 1),
        (3, 200, None, 1),
    ]


# --- auth -------------------------------------------------------------------------------------------------


def test_401_with_oauth_refreshes_and_succeeds() -> None:
    """A 401 gets a fresh OAuth token and one more try with it."""
    api = Script(reply(401, {"status": "INVALID", "reason": "expired"}), reply())
    oauth = Script(
        reply(200, {"access_token": "acc-1", "expires_in": 3600}),
        reply(200, {"access_token": "acc-2", "expires_in": 3600}),
    )
    assert oauth_client(api, oauth).post_events(ASSET, EVENTS).status_code == 200
    assert access_tokens(api) == ["acc-1", "acc-2"]


def test_401_after_refresh_raises_auth_error() -> None:
    """A second 401 in a row, after a refresh, stops with AuthError."""
    api = Script(reply(401, {"status": "INVALID", "reason": "expired"}))
    with pytest.raises(AuthError, match="even after a token refresh") as caught:
        oauth_client(api, Script(reply(200, {"access_token": "acc", "expires_in": 3600}))).post_events(
            ASSET, EVENTS
        )
    assert caught.value.status_code == 401
    assert len(api.requests) == 2


def test_401_with_static_token_raises_without_retry() -> None:
    """A long-lived token cannot be refreshed: one request, no sleep, AuthError."""
    api = Script(reply(401, {"status": "INVALID", "reason": "bad token"}))
    sleeps: list[float] = []
    with pytest.raises(AuthError, match="bad token"):
        make_client(api, sleeps=sleeps).post_events(ASSET, EVENTS)
    assert len(api.requests) == 1
    assert sleeps == []


def test_403_raises_auth_error() -> None:
    """403 (token not allowed for this asset) stops with AuthError naming the asset."""
    api = Script(reply(403, {"status": "INVALID", "reason": "forbidden"}))
    with pytest.raises(AuthError, match="pixel-1") as caught:
        make_client(api).post_events(ASSET, EVENTS)
    assert caught.value.status_code == 403
    assert len(api.requests) == 1


def test_oauth_grant_posts_the_refresh_token_form() -> None:
    """The grant is a form POST with grant_type, refresh token, client id and secret."""
    oauth = Script(reply(200, {"access_token": "acc-1", "expires_in": 3600}))
    oauth_client(Script(), oauth).post_events(ASSET, EVENTS)
    assert form(oauth.requests[0]) == {
        "grant_type": "refresh_token",
        "refresh_token": REFRESH,
        "client_id": "client-1",
        "client_secret": CLIENT_SECRET,
    }


def test_oauth_token_is_reused_until_shortly_before_expiry() -> None:
    """The access token is kept while valid and renewed 60 seconds ahead of its expiry."""
    now = [0.0]
    oauth = Script(
        reply(200, {"access_token": "acc-1", "expires_in": 3600}),
        reply(200, {"access_token": "acc-2", "expires_in": 3600}),
    )
    tokens = OAuthToken(
        http_for(Fake(Script(), oauth)), OAUTH_URL, "c", CLIENT_SECRET, REFRESH, clock=lambda: now[0]
    )
    first = tokens.token()
    now[0] = 3539.0
    still = tokens.token()
    now[0] = 3541.0
    assert (first, still, tokens.token()) == ("acc-1", "acc-1", "acc-2")
    assert len(oauth.requests) == 2


def test_oauth_takes_a_rotated_refresh_token() -> None:
    """A grant that returns a new refresh token makes the next grant use it."""
    oauth = Script(
        reply(200, {"access_token": "acc-1", "expires_in": 3600, "refresh_token": "refresh-NEW"}),
        reply(200, {"access_token": "acc-2", "expires_in": 3600}),
    )
    tokens = OAuthToken(http_for(Fake(Script(), oauth)), OAUTH_URL, "c", CLIENT_SECRET, REFRESH)
    tokens.token()
    tokens.refresh()
    assert [form(request)["refresh_token"] for request in oauth.requests] == [REFRESH, "refresh-NEW"]
    assert "refresh-NEW" in tokens.secrets()


def test_oauth_refused_grant_raises_auth_error_without_secrets() -> None:
    """A refused grant says so with the server's error code, and never with the secrets."""
    body = {
        "error": "invalid_grant",
        "error_description": f"refresh_token={REFRESH} client_secret {CLIENT_SECRET}",
    }
    tokens = OAuthToken(
        http_for(Fake(Script(), Script(reply(400, body)))), OAUTH_URL, "c", CLIENT_SECRET, REFRESH
    )
    with pytest.raises(AuthError, match="invalid_grant") as caught:
        tokens.token()
    assert REFRESH not in str(caught.value)
    assert CLIENT_SECRET not in str(caught.value)


def test_oauth_server_unreachable_is_retried_by_the_client() -> None:
    """A grant that cannot reach the OAuth server is a transient failure: the request is tried again."""
    oauth = Script(raise_(httpx.ConnectError), reply(200, {"access_token": "acc-1", "expires_in": 3600}))
    api = Script()
    assert oauth_client(api, oauth).post_events(ASSET, EVENTS).status_code == 200
    assert access_tokens(api) == ["acc-1"]


def test_oauth_grants_once_for_concurrent_callers() -> None:
    """Several threads asking for a token at once share one grant."""
    oauth = Script(reply(200, {"access_token": "acc-1", "expires_in": 3600}))
    tokens = OAuthToken(http_for(Fake(Script(), oauth)), OAUTH_URL, "c", CLIENT_SECRET, REFRESH)
    start = threading.Barrier(8)
    seen: list[str] = []

    def ask() -> None:
        start.wait(timeout=5)
        seen.append(tokens.token())

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert seen == ["acc-1"] * 8
    assert len(oauth.requests) == 1


# --- secrets ----------------------------------------------------------------------------------------------


def test_token_never_appears_in_errors_or_attempt_logs() -> None:
    """A connection error whose text holds the full URL leaves no trace of the token anywhere."""
    logs: list[AttemptLog] = []
    api = Script(raise_(httpx.ConnectError, "cannot reach {url}"))
    with pytest.raises(DeliveryError) as caught:
        make_client(api, logs=logs, max_retries=2).post_events(ASSET, EVENTS)
    assert "access_token=" in str(api.requests[0].url)  # the fake did put the URL in the message
    error = caught.value
    texts = [str(error), repr(error), repr(error.args), repr(error.__cause__), repr(error.__context__)]
    texts += [repr(log) for log in logs]
    encoded = str(httpx.URL(API_URL, params={"access_token": TOKEN})).split("=", 1)[1]
    for text in texts:
        assert TOKEN not in text
        assert encoded not in text
    assert "REDACTED" in str(logs[0].error)


def test_oauth_secrets_never_appear_in_auth_errors() -> None:
    """A 401 answer that echoes the URL and every secret leaves none of them in the AuthError."""
    oauth = Script(
        reply(200, {"access_token": "acc-SECRET-1", "expires_in": 3600, "refresh_token": "r-NEW-1"})
    )

    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, text=f"unauthorized: {request.url} r-NEW-1 {REFRESH} {CLIENT_SECRET}")

    with pytest.raises(AuthError) as caught:
        oauth_client(Script(echo), oauth).post_events(ASSET, EVENTS)
    for secret in ("acc-SECRET-1", "r-NEW-1", CLIENT_SECRET, REFRESH):
        assert secret not in str(caught.value)
        assert secret not in repr(caught.value)


def test_token_sources_hide_secrets_in_repr() -> None:
    """repr of a token source shows no secret."""
    oauth = OAuthToken(make_http_client(), OAUTH_URL, "client-1", CLIENT_SECRET, REFRESH)
    assert TOKEN not in repr(StaticToken(TOKEN))
    assert CLIENT_SECRET not in repr(oauth)
    assert REFRESH not in repr(oauth)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://h/v3/p/events?access_token=abc.def-1", "https://h/v3/p/events?access_token=REDACTED"),
        ("GET /x?a=1&access_token=abc&b=2 failed", "GET /x?a=1&access_token=REDACTED&b=2 failed"),
        ("ACCESS_TOKEN=abc", "ACCESS_TOKEN=REDACTED"),
        ('{"access_token": "abc", "n": 1}', '{"access_token": "REDACTED", "n": 1}'),
        ("refresh_token=r1&client_secret=s1", "refresh_token=REDACTED&client_secret=REDACTED"),
        ("nothing to hide", "nothing to hide"),
    ],
)
def test_redact_replaces_token_parameters(text: str, expected: str) -> None:
    """Token-like query parameters and JSON fields lose their values."""
    assert redact(text) == expected


def test_redact_replaces_given_secrets_raw_and_url_encoded() -> None:
    """A secret is replaced wherever it appears, as is and URL-encoded."""
    text = f"said {TOKEN} and {httpx.URL('/', params={'t': TOKEN}).query.decode()}"
    assert redact(text, [TOKEN, ""]) == "said REDACTED and t=REDACTED"


def test_each_wait_before_a_retry_is_told_to_on_retry() -> None:
    """on_retry hears of every wait before a retry (the progress line and --verbose show them): which
    attempt failed, of how many, why, how long the wait is, and how long the request has been tried."""
    api = Script(raise_(httpx.ConnectError, "[Errno 111] Connection refused"))
    sleeps: list[float] = []
    waits: list[RetryWait] = []
    client = SnapClient(
        http_for(Fake(api)),
        API_URL,
        StaticToken(TOKEN),
        max_retries=2,
        sleep=sleeps.append,
        random=lambda: 1.0,
        on_retry=waits.append,
    )
    with pytest.raises(DeliveryError):
        client.post_events(ASSET, EVENTS)
    error = "connection refused by tr.example.test"
    assert [(w.asset_id, w.events, w.attempt, w.attempts, w.error, w.wait) for w in waits] == [
        (ASSET, 1, 1, 3, error, 0.5),
        (ASSET, 1, 2, 3, error, 1.0),
    ]
    assert sleeps == [0.5, 1.0]
    assert 1.5 <= waits[1].spent < waits[0].spent + 1.5  # the waits, and the attempts' own time


def test_a_single_attempt_says_no_duration() -> None:
    """Without retries there was no wait: the message says one attempt, not how long."""
    api = Script(reply(503))
    with pytest.raises(DeliveryError, match=r"^HTTP 503 after 1 attempt$"):
        make_client(api, max_retries=0).post_events(ASSET, EVENTS)
