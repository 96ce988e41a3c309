"""HTTP to Snap's Conversions API v3: the one place that knows about `httpx`.

`SnapClient.post_events` sends one request (with its retries) and returns Snap's `Answer`; deciding what an
answer means for each row is `delivery`'s job. Every `httpx` exception is caught here and becomes a
`DeliveryError` or `AuthError` whose message has the token and every other secret redacted.
"""

from __future__ import annotations

import email.utils
import json
import math
import random as _random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Protocol
from urllib.parse import quote, quote_plus

import httpx

from snapcapi import __version__
from snapcapi.errors import AuthError, DeliveryError
from snapcapi.events.wire import build_body, encode_json, join_body
from snapcapi.spec import API_VERSION

__all__ = [  # build_body and encode_json live in `wire`; they are named here too, where callers knew them
    "REDACTED",
    "USER_AGENT",
    "Answer",
    "AttemptLog",
    "EventLog",
    "OAuthToken",
    "SnapClient",
    "StaticToken",
    "TokenSource",
    "build_body",
    "encode_json",
    "make_http_client",
    "redact",
]

USER_AGENT = f"snapcapi/{__version__}"
REDACTED = "REDACTED"
_REASON_CHARS = 200
# Refresh an OAuth token this long before it expires, so that no request leaves with a dying token.
_OAUTH_MARGIN = 60.0
# (decision) Snap's grant answer usually says expires_in ~3600; assume that when it says nothing usable.
_OAUTH_DEFAULT_LIFETIME = 3600.0
_SECRET_PARAM = re.compile(r"((?:access_token|refresh_token|client_secret)=)[^&\s\"'<>#]+", re.IGNORECASE)
_SECRET_JSON = re.compile(r"(\"(?:access_token|refresh_token|client_secret)\"\s*:\s*\")[^\"]*", re.IGNORECASE)


def make_http_client(
    *, timeout: float = 30.0, transport: httpx.BaseTransport | None = None, max_connections: int = 16
) -> httpx.Client:
    """Return the run's one `httpx.Client`: explicit timeouts, snapcapi's User-Agent, pooled connections.

    `transport` is the test seam (`httpx.MockTransport`). The client is safe to share between threads.
    """
    return httpx.Client(
        timeout=httpx.Timeout(timeout),
        transport=transport,
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        headers={"User-Agent": USER_AGENT},
    )


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Return `text` with token-like parameters and every given secret (also URL-encoded) replaced."""
    text = _SECRET_PARAM.sub(rf"\1{REDACTED}", text)
    text = _SECRET_JSON.sub(rf"\1{REDACTED}", text)
    forms = {
        form for secret in secrets if secret for form in (secret, quote(secret, safe=""), quote_plus(secret))
    }
    # Longest first, so that a secret containing another is replaced whole.
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, REDACTED)
    return text


class TokenSource(Protocol):
    """Where the access token comes from: a long-lived token, or an OAuth grant."""

    def token(self) -> str:
        """Return the access token to send now. Raises AuthError or DeliveryError."""
        ...

    def refresh(self) -> bool:
        """After a 401: return True if a fresh token was obtained, False if there is nothing to refresh."""
        ...

    def secrets(self) -> tuple[str, ...]:
        """Return every secret this source holds, for redaction."""
        ...


class StaticToken:
    """A long-lived Conversions API token: nothing to refresh."""

    __slots__ = ("_token",)

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return f"StaticToken({REDACTED})"

    def token(self) -> str:
        """Return the token."""
        return self._token

    def refresh(self) -> bool:
        """Return False: a long-lived token cannot be refreshed."""
        return False

    def secrets(self) -> tuple[str, ...]:
        """Return the token."""
        return (self._token,)


class OAuthToken:
    """Short-lived access tokens from Snap's OAuth refresh-token grant (SPEC section 2). Thread-safe."""

    def __init__(
        self,
        http: httpx.Client,
        oauth_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._url = oauth_url
        self._host = httpx.URL(oauth_url).host or "the OAuth server"
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._clock = clock
        self._access: str | None = None
        self._refresh_at = 0.0
        # Every secret ever held: a replaced one may still sit in a message being built by another thread.
        self._secrets = {client_secret, refresh_token}
        # Several requests are in flight at once; one grant at a time, and everyone waits for it.
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OAuthToken(client_id={self._client_id!r}, oauth_url={self._url!r})"

    def token(self) -> str:
        """Return a valid access token, granting a new one when none is held or it is about to expire.

        Raises AuthError if the OAuth server refuses the grant, DeliveryError if it cannot be reached.
        """
        with self._lock:
            if self._access is None or self._clock() >= self._refresh_at:
                self._grant()
            assert self._access is not None
            return self._access

    def refresh(self) -> bool:
        """Grant a new access token now (Snap said 401) and return True. Raises as `token` does."""
        with self._lock:
            self._grant()
            return True

    def secrets(self) -> tuple[str, ...]:
        """Return the client secret, refresh tokens and access tokens held so far."""
        with self._lock:
            return tuple(self._secrets)

    def _post(self, form: dict[str, str]) -> httpx.Response:
        try:
            return self._http.post(self._url, data=form)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            detail = redact(str(exc) or type(exc).__name__, self._secrets)
        # Raised outside the handler, so that the httpx exception is not even kept as __context__.
        raise DeliveryError(f"could not reach the OAuth server {self._host}: {detail}")

    def _grant(self) -> None:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self._refresh_token,
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }
        response = self._post(form)
        body = _json_object(response)
        if response.status_code == 429 or response.status_code >= 500:
            raise DeliveryError(f"the OAuth server {self._host} answered HTTP {response.status_code}")
        access = body.get("access_token")
        if response.status_code != 200 or not isinstance(access, str) or not access:
            described = " ".join(str(body[key]) for key in ("error", "error_description") if body.get(key))
            detail = redact(described, self._secrets)[:_REASON_CHARS] or "no access token in the answer"
            raise AuthError(
                f"the OAuth server {self._host} refused the refresh token (HTTP {response.status_code}: "
                f"{detail}); check the client id, client secret and refresh token",
                response.status_code,
            )
        self._access = access
        self._secrets.add(access)
        rotated = body.get("refresh_token")
        if isinstance(rotated, str) and rotated:
            self._refresh_token = rotated
            self._secrets.add(rotated)
        lifetime = _number(body.get("expires_in"))
        if lifetime is None or not math.isfinite(lifetime) or lifetime <= 0:
            lifetime = _OAUTH_DEFAULT_LIFETIME
        # A token that lives less than twice the margin is refreshed at half its life instead.
        self._refresh_at = self._clock() + lifetime - min(_OAUTH_MARGIN, lifetime / 2)


@dataclass(frozen=True, slots=True)
class EventLog:
    """One entry of `/events/validate`'s `event_logs`: the verdict on the event at `index` of the request."""

    index: int
    status: str
    errors: tuple[str, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Answer:
    """Snap's answer to one request that reached a verdict (2xx, or a 4xx other than 401/403/429)."""

    status_code: int
    status: str | None
    reason: str
    event_index: int | None
    error_messages: tuple[str, ...]
    event_logs: tuple[EventLog, ...] = ()

    @property
    def ok(self) -> bool:
        """True when Snap took the request (HTTP 2xx)."""
        return 200 <= self.status_code < 300


@dataclass(frozen=True, slots=True)
class AttemptLog:
    """One HTTP attempt, for `--verbose`: never the token, never personal data."""

    asset_id: str
    events: int
    attempt: int
    status_code: int | None
    elapsed: float
    error: str | None


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
    ) -> None:
        """`halted` says the run is stopping (SIGTERM): a failed attempt is then not retried, so that a
        graceful stop does not wait out a storm of 429s; `sleep` should return early then too."""
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

    def post_events(
        self,
        asset_id: str,
        data: Sequence[Mapping[str, Any]],
        *,
        validate: bool = False,
        test_event_code: str | None = None,
    ) -> Answer:
        """Send one request of events for `asset_id` and return Snap's verdict.

        Returns an `Answer` for 2xx and for 4xx refusals other than 401/403/429 (never retried).
        Retries 429, 5xx, timeouts and connection errors up to `max_retries` times with capped exponential
        backoff and full jitter, honouring Retry-After. A 401 refreshes the token once and tries again.

        Raises AuthError on 401 (after a refresh, if the token source can refresh) or 403, and
        DeliveryError when every retry failed or the answer is unusable. Messages are redacted.
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
        while True:
            attempt += 1
            started = time.perf_counter()
            response, error, retryable = self._attempt(url, content)
            status_code = None if response is None else response.status_code
            self._log(
                AttemptLog(asset_id, len(events), attempt, status_code, time.perf_counter() - started, error)
            )
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
                if 200 <= code < 300 or (400 <= code < 500 and code != 429):
                    return self._answer(response)
                if code != 429 and code < 500:  # 1xx, 3xx: nothing a retry would change
                    raise DeliveryError(f"unexpected HTTP {code} from {self._host}")
                error = f"HTTP {code}"
                delay = self._retry_after(response)
            elif not retryable:
                raise DeliveryError(str(error))
            if retries >= self._max_retries:
                plural = "s" if attempt != 1 else ""
                raise DeliveryError(f"{error} after {attempt} attempt{plural}")
            retries += 1
            if not self._halted():
                self._sleep(delay if delay is not None else self._backoff(retries))
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
        body = _json_object(response)
        if not body:
            text = self._redact(response.text.strip())[:_REASON_CHARS]
            return Answer(response.status_code, None, text or f"HTTP {response.status_code}", None, ())
        status = body.get("status")
        reason = self._redact(str(body.get("reason") or "")) or f"HTTP {response.status_code}"
        logs = body.get("event_logs")
        return Answer(
            status_code=response.status_code,
            status=status if isinstance(status, str) else None,
            reason=reason,
            event_index=_index(body.get("event")),
            error_messages=tuple(self._redact(m) for m in _messages(body.get("errors"))),
            event_logs=tuple(self._event_logs(logs)) if isinstance(logs, list) else (),
        )

    def _event_logs(self, logs: list[Any]) -> Iterable[EventLog]:
        for entry in logs:
            index = _index(entry.get("event")) if isinstance(entry, dict) else None
            if index is None:
                continue
            yield EventLog(
                index=index,
                status=str(entry.get("status") or ""),
                errors=tuple(self._redact(m) for m in _messages(entry.get("errors"))),
                warnings=tuple(self._redact(m) for m in _messages(entry.get("warnings"))),
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


def _host(url: str) -> str:
    try:
        return httpx.URL(url).host or url
    except httpx.InvalidURL:
        return url


def _json_object(response: httpx.Response) -> dict[str, Any]:
    """Return the answer's JSON object, or {} when the body is not one."""
    try:
        body = response.json()
    except ValueError:  # JSONDecodeError and undecodable bytes alike
        return {}
    return body if isinstance(body, dict) else {}


def _index(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _messages(value: object) -> Iterable[str]:
    """Messages from Snap's `errors` ({"codes": [...], "error_msgs": [...]}) or a plain list."""
    if isinstance(value, dict):
        value = value.get("error_msgs") or value.get("messages") or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return ()
    return tuple(item if isinstance(item, str) else json.dumps(item, ensure_ascii=False) for item in value)


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
