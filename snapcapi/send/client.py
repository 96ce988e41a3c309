"""HTTP to Snap's Conversions API v3: the one place that knows about `httpx`.

`SnapClient.post_events` sends one request (with its retries) and returns Snap's `Answer`; deciding what an
answer means for each row is `delivery`'s job. Every `httpx` exception is caught here and becomes a
`DeliveryError` or `AuthError` whose message has the token and every other secret redacted.
"""

from __future__ import annotations

import email.utils
import math
import random as _random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any
from urllib.parse import quote

import httpx

from snapcapi import __version__
from snapcapi.errors import AuthError, ConfigError, DeliveryError, EndpointError
from snapcapi.events.wire import build_body, encode_json, join_body
from snapcapi.send.answers import (
    REASON_CHARS,
    Answer,
    EventLog,
    cut_off,
    json_object,
    read_answer,
    snap_status,
    snippet,
)
from snapcapi.send.auth import OAuthToken, StaticToken, TokenSource
from snapcapi.send.deadline import DeadlineTransport
from snapcapi.send.proxies import environment_proxies
from snapcapi.send.redact import REDACTED, redact, redact_url
from snapcapi.spec import API_VERSION

__all__ = [  # named here too, where callers knew them: wire, answers, auth, redact
    "REDACTED",
    "USER_AGENT",
    "Answer",
    "AttemptLog",
    "EventLog",
    "OAuthToken",
    "RetryWait",
    "SnapClient",
    "StaticToken",
    "TokenSource",
    "build_body",
    "encode_json",
    "make_http_client",
    "redact",
]

USER_AGENT = f"snapcapi/{__version__}"


def make_http_client(
    *,
    timeout: float = 30.0,
    transport: httpx.BaseTransport | None = None,
    max_connections: int = 16,
    halted: Callable[[], bool] = lambda: False,
) -> httpx.Client:
    """Return the run's one `httpx.Client`: snapcapi's User-Agent, pooled connections, and `timeout`
    seconds for each request as a whole (connecting, sending, and reading all of the answer), cut short
    a few seconds after `halted()` says the run is stopping (`deadline.DeadlineTransport`), through the
    proxies the environment names (`proxies.environment_proxies`). Raises ConfigError for a proxy URL that
    cannot be used.

    `transport` is the test seam (`httpx.MockTransport`): it replaces all of that but the per-operation
    timeouts. The client is safe to share between threads.
    """
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    mounts: dict[str, httpx.BaseTransport | None] | None = None
    if transport is None:
        transport = DeadlineTransport(timeout, limits=limits, halted=halted)
        # httpx reads the environment's proxies only for a transport of its own: these are read here.
        mounts = {}
        for pattern, proxy in environment_proxies().items():
            mounts[pattern] = None if proxy is None else _proxied(proxy, pattern, timeout, limits, halted)
    return httpx.Client(
        timeout=httpx.Timeout(timeout),
        transport=transport,
        mounts=mounts,
        limits=limits,
        headers={"User-Agent": USER_AGENT},
    )


def _proxied(
    proxy: str, pattern: str, timeout: float, limits: httpx.Limits, halted: Callable[[], bool]
) -> DeadlineTransport:
    """The transport through `proxy`, which the environment names for the URLs `pattern` matches."""
    try:
        return DeadlineTransport(timeout, limits=limits, halted=halted, proxy=proxy)
    except (ImportError, ValueError) as error:  # no socksio for socks5://; httpx.InvalidURL is a ValueError
        raise ConfigError(
            f"the proxy the environment names for {pattern} ({redact_url(proxy)}) cannot be used: {error}"
        ) from None


@dataclass(frozen=True, slots=True)
class AttemptLog:
    """One HTTP attempt, for `--verbose`: never the token, never personal data."""

    asset_id: str
    events: int
    attempt: int
    status_code: int | None
    elapsed: float
    error: str | None


@dataclass(frozen=True, slots=True)
class RetryWait:
    """A failed attempt that will be tried again, for the progress line and `--verbose`."""

    asset_id: str
    events: int
    attempt: int  # the attempt that failed, 1-based
    attempts: int  # the most attempts the request gets (max_retries + 1)
    error: str
    wait: float  # seconds until the next attempt
    spent: float  # seconds spent on the request so far, this wait included


class SnapClient:
    """Sends events to `{api_url}/v3/{asset_id}/events` with auth and bounded retries."""

    def __init__(
        self,
        http: httpx.Client,
        api_url: str,
        tokens: TokenSource,
        *,
        max_retries: int = 8,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        sleep: Callable[[float], object] = time.sleep,
        random: Callable[[], float] = _random.random,
        on_attempt: Callable[[AttemptLog], None] | None = None,
        wall_clock: Callable[[], float] = time.time,
        halted: Callable[[], bool] = lambda: False,
        on_retry: Callable[[RetryWait], None] | None = None,
    ) -> None:
        """`halted` says the run is stopping (SIGTERM): a failed attempt is then not retried, so that a
        graceful stop does not wait out a storm of 429s; `sleep` should return early then too. `on_retry`
        is told of each wait before a retry (from the delivery's threads: it must be thread-safe)."""
        self._http = http
        self._api_url = api_url.rstrip("/")
        self._host = _host(api_url)
        self._tokens = tokens
        self._max_retries = max_retries
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._sleep = sleep
        self._random = random
        # Called from the delivery's worker threads: the callback must be thread-safe.
        self._on_attempt = on_attempt
        self._wall_clock = wall_clock  # only to read a Retry-After given as an HTTP date
        self._halted = halted
        self._on_retry = on_retry

    def post_events(
        self,
        asset_id: str,
        data: Sequence[Mapping[str, Any]],
        *,
        validate: bool = False,
        test_event_code: str | None = None,
    ) -> Answer:
        """Send one request of events for `asset_id` and return Snap's verdict.

        Returns an `Answer` for Snap's success (HTTP 200, `{"status": "VALID"}`) and for its refusals, 4xx
        other than 401/403/429 in Snap's shape (never retried). Retries 429, 5xx, timeouts, connection
        errors and answers cut off part-way up to `max_retries` times with capped exponential backoff and
        full jitter, honouring Retry-After. A 401 refreshes the token once and tries again.

        Raises AuthError on 401 (after a refresh, if the token source can refresh) or 403; EndpointError
        when the answer is not Snap's at all (an HTML page, a redirect, JSON of another shape); and
        DeliveryError when every retry failed or a 2xx in Snap's shape is not its success. Messages are
        redacted.
        """
        return self.post_encoded(
            asset_id,
            [encode_json(event) for event in data],
            validate=validate,
            test_event_code=test_event_code,
        )

    def post_encoded(
        self,
        asset_id: str,
        events: Sequence[bytes],
        *,
        validate: bool = False,
        test_event_code: str | None = None,
    ) -> Answer:
        """`post_events` for events already encoded as JSON (`wire.encode_json`): their bytes are joined
        into the body as they are. Returns and raises as `post_events` does."""
        suffix = "/validate" if validate else ""
        url = f"{self._api_url}/{API_VERSION}/{quote(asset_id, safe='')}/events{suffix}"
        # Encoded once: every retry sends the very same bytes.
        content = join_body(events, test_event_code)
        attempt = retries = 0
        refreshed = False
        spent = 0.0  # the attempts' time and the waits between them: how long the request was tried
        while True:
            attempt += 1
            started = time.perf_counter()
            response, error, retryable = self._attempt(url, content)
            status_code = None if response is None else response.status_code
            elapsed = time.perf_counter() - started
            spent += elapsed
            self._log(AttemptLog(asset_id, len(events), attempt, status_code, elapsed, error))
            delay: float | None = None
            if response is not None:
                code = response.status_code
                if code == 401:
                    if not refreshed and self._tokens.refresh():
                        refreshed = True
                        continue
                    again = " even after a token refresh" if refreshed else ""
                    raise AuthError(f"Snap refused the access token{again} ({self._describe(response)})", 401)
                if code == 403:
                    raise AuthError(
                        f"Snap refused this token for asset {asset_id} ({self._describe(response)})", 403
                    )
                if code < 500 and code != 429:
                    answer = self._verdict(url, response, validate)
                    if answer is not None:
                        return answer
                    error = f"HTTP {code} from {self._host} with an answer cut off part-way"
                else:
                    error = f"HTTP {code}"
                    delay = self._retry_after(response)
            elif not retryable:
                raise DeliveryError(str(error))
            if retries >= self._max_retries:
                tried = f"{attempt} attempts over {_duration(spent)}" if attempt > 1 else "1 attempt"
                raise DeliveryError(f"{error} after {tried}")
            retries += 1
            if not self._halted():
                wait = delay if delay is not None else self._backoff(retries)
                spent += wait
                if self._on_retry is not None:
                    self._on_retry(
                        RetryWait(
                            asset_id, len(events), attempt, self._max_retries + 1, str(error), wait, spent
                        )
                    )
                self._sleep(wait)
            if self._halted():
                raise DeliveryError(f"{error}; not retried: the run is stopping")

    def _attempt(self, url: str, content: bytes) -> tuple[httpx.Response | None, str | None, bool]:
        """Return (response, None, _) or (None, what went wrong, whether it is worth retrying)."""
        try:
            token = self._tokens.token()
        except DeliveryError as exc:  # the OAuth server could not be reached: worth another try
            return None, str(exc), True
        try:
            response = self._http.post(
                url,
                params={"access_token": token},
                content=content,
                headers={"Content-Type": "application/json"},
            )
        except httpx.TimeoutException:
            return None, f"timed out talking to {self._host}", True
        except httpx.UnsupportedProtocol as exc:
            return None, f"cannot send to {self._api_url}: {self._redact(str(exc))}", False
        except httpx.ConnectError as exc:
            text = self._redact(str(exc))
            if "refused" in text.lower():
                return None, f"connection refused by {self._host}", True
            return None, f"could not connect to {self._host} ({text})", True
        except httpx.ProxyError as exc:
            return (
                None,
                f"the proxy did not take the request to {self._host} ({self._redact(str(exc))})",
                True,
            )
        except httpx.TransportError as exc:
            return None, f"{type(exc).__name__} talking to {self._host} ({self._redact(str(exc))})", True
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return None, f"{type(exc).__name__} talking to {self._host} ({self._redact(str(exc))})", False
        # The answer is read already. httpx leaves the response and its stream referring to each other, a
        # cycle that keeps the request, and its body of up to 2 MB, alive until the garbage collector runs;
        # cutting it frees the body now.
        response.stream = httpx.ByteStream(b"")
        return response, None, False

    def _answer(self, response: httpx.Response) -> Answer:
        return read_answer(response, self._redact)

    def _verdict(self, url: str, response: httpx.Response, validate: bool) -> Answer | None:
        """Return Snap's verdict in a 1xx to 4xx answer (not 401/403/429), or None when the answer was cut
        off part-way (worth another try).

        Only HTTP 200 with `{"status": "VALID"}` is a delivery (in validate mode, `"INVALID"` too: the
        per-event verdicts are in `event_logs`); a 4xx is a refusal of events only in Snap's shape,
        `{"status": "INVALID", ...}` (a 413, body too large, in any shape). Raises DeliveryError for any
        other answer in Snap's shape (the events were not taken) and EndpointError for an answer that is
        not Snap's at all: a wrong URL, a portal or a proxy, which says nothing about the events.
        """
        code = response.status_code
        body = json_object(response)
        status = snap_status(body)
        if 200 <= code < 300:
            if code == 200 and (status == "VALID" or (validate and status == "INVALID")):
                return read_answer(response, self._redact, body)
            if status is not None:
                reason = self._redact(str(body.get("reason") or ""))[:REASON_CHARS]
                raise DeliveryError(
                    f"{self._host} answered HTTP {code} with status {status}"
                    + (f" ({reason})" if reason else "")
                    + ", not Snap's success (HTTP 200, VALID): the events were not taken"
                )
        elif status == "INVALID" or code == 413:
            return read_answer(response, self._redact, body)
        if cut_off(response):
            return None
        raise EndpointError(self._not_snap(url, response))

    def _not_snap(self, url: str, response: httpx.Response) -> str:
        code = response.status_code
        what = response.headers.get("Content-Type", "").split(";")[0].strip()
        if 300 <= code < 400 and response.headers.get("Location"):
            said = f"redirects to {redact_url(self._redact(response.headers['Location']))}"
        else:
            text = snippet(response, self._redact)
            said = (f"{what}: " if what else "") + (repr(text) if text else "an empty body")
        return (
            f"the answer from {redact_url(self._redact(url))} is not Snap's Conversions API (HTTP {code}, "
            f"{said}); check --api-url (SNAPCAPI_API_URL): nothing the answer says is about the events"
        )

    def _describe(self, response: httpx.Response) -> str:
        return f"HTTP {response.status_code}: {self._answer(response).reason}"

    def _retry_after(self, response: httpx.Response) -> float | None:
        seconds = _parse_retry_after(response.headers.get("Retry-After"), self._wall_clock())
        return None if seconds is None else min(seconds, self._backoff_cap)

    def _backoff(self, retry: int) -> float:
        # Full jitter: spreads the retries of many workers hit by the same 429 or outage.
        ceiling = min(self._backoff_cap, self._backoff_base * 2.0 ** min(retry - 1, 64))
        return self._random() * ceiling

    def _redact(self, text: str) -> str:
        return redact(text, self._tokens.secrets())

    def _log(self, entry: AttemptLog) -> None:
        if self._on_attempt is not None:
            self._on_attempt(entry)


def _duration(seconds: float) -> str:
    """Return a duration as people say it: `0.4 s`, `65 s`, `12 min 5 s`."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 600:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def _host(url: str) -> str:
    try:
        return httpx.URL(url).host or url
    except httpx.InvalidURL:
        return url


def _parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date), or None if unusable."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - now
    return max(0.0, seconds) if math.isfinite(seconds) else None
