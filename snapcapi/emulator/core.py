"""What the emulator answers, without any socket: routing, faults, credentials and Snap's checks.

`EmulatorCore.handle(method, target, body)` takes one HTTP request and returns an `Answer`. The HTTP server
in `server` is a thin adapter over it; an in-process caller (a test transport, `--sandbox`) can
call it directly. What it remembers lives in its `EmulatorStore`; one core serves many threads.

Order of decisions for the events endpoints: latency, then faults (drop, 429, 5xx), then token (401), asset
(403), body size (413), body shape (400), event count (400), then the events themselves (400 naming the
first bad one, or 200 and every event kept).
"""

from __future__ import annotations

import json
import random
import re
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qs, unquote, urlsplit

import orjson

from snapcapi.emulator.config import EmulatorConfig
from snapcapi.emulator.quick import plainly_valid_prefix
from snapcapi.emulator.rules import VALID, Code, EventCheck, EventError, check_event
from snapcapi.emulator.store import EmulatorStore
from snapcapi.spec import API_VERSION, MAX_BODY_BYTES, MAX_EVENTS_PER_REQUEST

SERVER_ERRORS: Final = (500, 502, 503)
OAUTH_PATH: Final = "/login/oauth2/access_token"

_EVENTS_PATH = re.compile(
    rf"/{API_VERSION}/(?P<asset>[^/]+)/events(?P<rest>(?:/validate(?:/logs|/stats)?)?)/?"
)


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer: HTTP status, JSON body and extra headers; `drop` means close without answering."""

    status: int
    body: dict[str, Any]
    headers: tuple[tuple[str, str], ...] = ()
    drop: bool = False

    def encode(self) -> bytes:
        """Return the body as compact UTF-8 JSON."""
        return json.dumps(self.body, separators=(",", ":")).encode()


DROPPED: Final = Answer(0, {}, drop=True)


def _invalid(status: int, reason: str, **extra: Any) -> Answer:
    return Answer(status, {"status": "INVALID", "reason": reason, **extra})


def _request_error(reason: str) -> Answer:
    return _invalid(400, reason, errors={"codes": ["INVALID_REQUEST"], "error_msgs": [reason]})


class EmulatorCore:
    """The emulator's answers, over its store; thread-safe."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.store = EmulatorStore()
        self._lock = threading.Lock()  # guards the random generator and the issued tokens
        self._rng = random.Random(config.seed)
        self._issued: dict[str, float] = {}  # OAuth access token -> expiry, in config.clock time

    def reset(self) -> None:
        """Forget kept events, counts and validate logs, and restart the fault sequence from the seed.

        Issued OAuth tokens stay valid: a client holding one should not see a reset as a credential error.
        """
        with self._lock:
            self._rng = random.Random(self.config.seed)
        self.store.reset()

    def handle(self, method: str, target: str, body: bytes, body_size: int | None = None) -> Answer:
        """Answer one request. Never raises.

        `target` is the path with its query; `body_size` is the declared size when the body was not kept
        because it is over the limit (otherwise `len(body)` is used).
        """
        url = urlsplit(target)
        path, query = url.path, parse_qs(url.query)
        if path.startswith("/_emulator/"):
            return self._inspect(method, path, query)
        number = self.store.begin_request()
        size = len(body) if body_size is None else body_size
        answer = self._route(method, path, query, body, size, number)
        self.store.end_request(None if answer.drop else answer.status)
        return answer

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes, size: int, number: int
    ) -> Answer:
        if path == OAUTH_PATH:
            return self._oauth(body) if method == "POST" else _not_allowed("POST")
        match = _EVENTS_PATH.fullmatch(path)
        if match is None:
            return _invalid(404, "Not found")
        asset, rest = unquote(match["asset"]), match["rest"]
        self.store.count_asset(asset)
        wanted = "GET" if rest.endswith(("/logs", "/stats")) else "POST"
        if method != wanted:
            return _not_allowed(wanted)
        if wanted == "POST":
            fault = self._fault()
            if fault is not None:
                return fault
        refused = self._authorize(query.get("access_token", [""])[0], asset)
        if refused is not None:
            return refused
        if rest == "/validate/logs":
            logs = self.store.validate_logs(asset)
            return Answer(
                200, {"status": "VALID", "reason": f"{len(logs)} recent validate calls", "logs": logs}
            )
        if rest == "/validate/stats":
            counts = self.store.validate_counts(asset)
            return Answer(200, {"status": "VALID", "reason": "counts of validate calls", "stats": counts})
        if size > MAX_BODY_BYTES:
            return _invalid(413, f"Request body too large: {size} bytes, at most {MAX_BODY_BYTES}")
        parsed = _parse_batch(body)
        if isinstance(parsed, Answer):
            return parsed
        data, test_event_code = parsed
        if rest == "/validate":
            return self._validate(asset, data, test_event_code, number)
        return self._take(asset, data, test_event_code, number)

    def _fault(self) -> Answer | None:
        config = self.config
        with self._lock:
            delay = config.latency + (
                self._rng.uniform(0.0, config.latency_jitter) if config.latency_jitter else 0.0
            )
            draw = self._rng.random()
            server_error = self._rng.choice(SERVER_ERRORS)
        if delay:
            time.sleep(delay)
        if draw < config.rate_drop:
            return DROPPED
        if draw < config.rate_drop + config.rate_429:
            headers = () if config.retry_after is None else (("Retry-After", _seconds(config.retry_after)),)
            return Answer(429, {"status": "INVALID", "reason": "Too many requests"}, headers)
        if draw < config.rate_drop + config.rate_429 + config.rate_5xx:
            return _invalid(server_error, "Internal error (injected)")
        return None

    def _authorize(self, token: str, asset: str) -> Answer | None:
        config = self.config
        if not token:
            return _invalid(401, "Missing access_token")
        with self._lock:
            expires = self._issued.get(token)
        if expires is not None:
            if config.clock() >= expires:
                return _invalid(401, "Expired access token")
        elif config.access_tokens is not None and token not in config.access_tokens:
            return _invalid(401, "Invalid access token")
        if config.allowed_assets is not None and asset not in config.allowed_assets:
            return _invalid(403, f"Access token not allowed for asset {asset}")
        return None

    def _plain_prefix(self, data: list[Any], now: float) -> int:
        """How many leading events are certainly valid without a word (`--reject-event-id` aside)."""
        return 0 if self.config.reject_event_ids else plainly_valid_prefix(data, now)

    def _check(self, event: object, now: float) -> EventCheck:
        event_id = event.get("event_id") if isinstance(event, dict) else None
        if isinstance(event_id, str) and event_id in self.config.reject_event_ids:
            return EventCheck(
                (EventError(Code.INVALID_EVENT, "Event refused by the emulator (--reject-event-id)"),), ()
            )
        return check_event(event, now)

    def _take(self, asset: str, data: list[Any], test_event_code: str | None, number: int) -> Answer:
        self.store.note_batch(len(data))
        now = self.config.clock()
        for index in range(self._plain_prefix(data, now), len(data)):
            check = self._check(data[index], now)
            if not check.valid:
                located = {} if self.config.refuse_without_index else {"event": index}
                return _invalid(400, check.errors[0].message, **located, errors=check.errors_json())
        if self.config.discard_events:
            self.store.discard(len(data))
        else:
            self.store.keep(asset, data, test_event_code, number)
        return Answer(200, {"status": "VALID", "reason": f"All {len(data)} events accepted"})

    def _validate(self, asset: str, data: list[Any], test_event_code: str | None, number: int) -> Answer:
        now = self.config.clock()
        logs = []
        plain = self._plain_prefix(data, now)
        for index, event in enumerate(data):
            check = VALID if index < plain else self._check(event, now)
            logs.append(
                {
                    "event": index,
                    "status": "VALID" if check.valid else "INVALID",
                    "errors": check.errors_json(),
                    "warnings": list(check.warnings),
                }
            )
        invalid = sum(1 for log in logs if log["status"] == "INVALID")
        entry = {"request": number, "test_event_code": test_event_code, "event_logs": logs}
        self.store.log_validate(asset, entry, len(data), invalid)
        return Answer(
            200,
            {
                "status": "INVALID" if invalid else "VALID",
                "test_event": True,
                "reason": f"{len(data) - invalid} valid, {invalid} invalid",
                "event_logs": logs,
            },
        )

    def _oauth(self, body: bytes) -> Answer:
        config = self.config
        form = {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "refresh_token":
            return _oauth_error(400, "unsupported_grant_type", "grant_type must be refresh_token")
        if not all(form.get(key) for key in ("refresh_token", "client_id", "client_secret")):
            return _oauth_error(
                400, "invalid_request", "refresh_token, client_id and client_secret are required"
            )
        if not _matches(form["client_id"], config.oauth_client_id) or not _matches(
            form["client_secret"], config.oauth_client_secret
        ):
            return _oauth_error(401, "invalid_client", "Unknown client or wrong secret")
        if not _matches(form["refresh_token"], config.oauth_refresh_token):
            return _oauth_error(400, "invalid_grant", "Invalid refresh token")
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._issued[token] = config.clock() + config.token_expires_in
        return Answer(
            200,
            {
                "access_token": token,
                "expires_in": config.token_expires_in,
                "refresh_token": form["refresh_token"],
                "token_type": "Bearer",
            },
        )

    def _inspect(self, method: str, path: str, query: dict[str, list[str]]) -> Answer:
        if path == "/_emulator/events":
            if method != "GET":
                return _not_allowed("GET")
            # Records are never changed once stored, so they are encoded as they are, without a copy.
            events = self.store.kept(query.get("asset_id", [None])[0])
            return Answer(200, {"count": len(events), "events": events})
        if path == "/_emulator/stats":
            return Answer(200, self.store.stats()) if method == "GET" else _not_allowed("GET")
        if path == "/_emulator/reset":
            if method != "POST":
                return _not_allowed("POST")
            self.reset()
            return Answer(200, {"status": "VALID", "reason": "reset"})
        return _invalid(404, "Not found")


def _parse_batch(body: bytes) -> tuple[list[Any], str | None] | Answer:
    try:
        # orjson, about twice as fast, reads what snapcapi sends; what it refuses (NaN, lone surrogates,
        # integers past 64 bits, broken JSON) json reads, or refuses, as it always did.
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: absurdly nested arrays
            return _request_error("Request body is not valid JSON")
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        return _request_error('Request body must be an object with a "data" list')
    data: list[Any] = document["data"]
    test_event_code = document.get("test_event_code")
    if test_event_code is not None and not isinstance(test_event_code, str):
        return _request_error("test_event_code must be a string")
    if not data:
        return _request_error("No events in data")
    if len(data) > MAX_EVENTS_PER_REQUEST:
        return _request_error(f"Too many events: {len(data)}, at most {MAX_EVENTS_PER_REQUEST} per request")
    return data, test_event_code


def _not_allowed(method: str) -> Answer:
    return Answer(405, {"status": "INVALID", "reason": "Method not allowed"}, (("Allow", method),))


def _oauth_error(status: int, error: str, description: str) -> Answer:
    return Answer(status, {"error": error, "error_description": description})


def _matches(given: str, expected: str | None) -> bool:
    return expected is None or secrets.compare_digest(given.encode(), expected.encode())


def _seconds(value: float) -> str:
    # Retry-After is integer seconds in HTTP; keep fractions only when a test asks for them.
    return str(int(value)) if float(value).is_integer() else str(value)
