"""The emulator's settings, and the command-line options that fill them, named in one place.

`OPTIONS` lists every option of `python -m snapcapi.emulator` besides `--host` and `--port`; the Typer
command `snapcapi mock-server` mirrors the same flags and hands their values to `config_from_options`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    """How the emulator checks credentials and which faults it injects.

    `access_tokens` None accepts any non-empty token; a set accepts those and the tokens the OAuth endpoint
    issued (so `frozenset()` accepts only issued tokens). The OAuth values, when None, accept any non-empty
    value. `rate_429`, `rate_5xx` and `rate_drop` are shares of the requests to the two POST events
    endpoints (one draw decides among them, so they add up to at most 1); `latency` and `latency_jitter`
    (a uniform extra of up to that many seconds) delay those same requests. `clock` gives "now" for the
    event-time window and token expiry. Raises ValueError when a rate or duration is out of range.
    """

    access_tokens: frozenset[str] | None = None
    allowed_assets: frozenset[str] | None = None
    oauth_client_id: str | None = None
    oauth_client_secret: str | None = None
    oauth_refresh_token: str | None = None
    token_expires_in: int = 3600
    latency: float = 0.0
    latency_jitter: float = 0.0
    rate_429: float = 0.0
    retry_after: float | None = None
    rate_5xx: float = 0.0
    rate_drop: float = 0.0
    refuse_without_index: bool = False
    reject_event_ids: frozenset[str] = frozenset()  # events refused whatever they hold, to test refusals
    discard_events: bool = False  # check and count events, but keep none (long runs, benchmarks)
    seed: int | None = None
    verbose: bool = False
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        for name in ("rate_429", "rate_5xx", "rate_drop"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.rate_429 + self.rate_5xx + self.rate_drop > 1.0:
            raise ValueError("rate_429 + rate_5xx + rate_drop must be at most 1")
        for name in ("latency", "latency_jitter", "token_expires_in"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError("retry_after must not be negative")


DEFAULT_CONFIG: Final = EmulatorConfig()


@dataclass(frozen=True, slots=True)
class EmulatorOption:
    """One command-line option: its flag, the `config_from_options` parameter it fills, and its help.

    `kind` is "texts" for a repeatable text option and "switch" for a flag that takes no value; `metavar`
    names the value in help ("" for a switch).
    """

    flag: str
    dest: str
    kind: Literal["text", "texts", "int", "float", "switch"]
    metavar: str
    help: str


_SHARE: Final = "a share of the requests to the POST events endpoints, 0 to 1"

OPTIONS: Final = (
    EmulatorOption("--access-token", "access_token", "texts", "TOKEN", "accept only this token (repeatable)"),
    EmulatorOption(
        "--allowed-asset", "allowed_asset", "texts", "ID", "accept only this asset id (repeatable)"
    ),
    EmulatorOption("--client-id", "client_id", "text", "ID", "OAuth client id to accept (default any)"),
    EmulatorOption("--client-secret", "client_secret", "text", "SECRET", "OAuth client secret (default any)"),
    EmulatorOption("--refresh-token", "refresh_token", "text", "TOKEN", "OAuth refresh token (default any)"),
    EmulatorOption(
        "--token-expires-in",
        "token_expires_in",
        "int",
        "SECONDS",
        f"lifetime of the tokens the OAuth endpoint issues (default {DEFAULT_CONFIG.token_expires_in})",
    ),
    EmulatorOption("--latency", "latency", "float", "SECONDS", "delay added to each events request"),
    EmulatorOption(
        "--latency-jitter", "latency_jitter", "float", "SECONDS", "random extra delay, up to this"
    ),
    EmulatorOption("--rate-429", "rate_429", "float", "SHARE", f"answer 429 to {_SHARE}"),
    EmulatorOption(
        "--retry-after", "retry_after", "float", "SECONDS", "Retry-After sent with 429 (default none)"
    ),
    EmulatorOption("--rate-5xx", "rate_5xx", "float", "SHARE", f"answer 500, 502 or 503 to {_SHARE}"),
    EmulatorOption(
        "--rate-drop", "rate_drop", "float", "SHARE", f"close the connection unanswered for {_SHARE}"
    ),
    EmulatorOption(
        "--refuse-without-index",
        "refuse_without_index",
        "switch",
        "",
        "leave the event index out of refusals",
    ),
    EmulatorOption(
        "--reject-event-id",
        "reject_event_id",
        "texts",
        "ID",
        "refuse the event with this event_id as Snap refuses a bad event (repeatable)",
    ),
    EmulatorOption(
        "--discard-events",
        "discard_events",
        "switch",
        "",
        "check and count the events taken, but keep none (memory stays flat on long runs)",
    ),
    EmulatorOption("--seed", "seed", "int", "N", "random seed, for reproducible faults"),
    EmulatorOption("--verbose", "verbose", "switch", "", "log each request to stderr (tokens redacted)"),
)


def config_from_options(
    *,
    access_token: Sequence[str] | None = None,
    allowed_asset: Sequence[str] | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    refresh_token: str | None = None,
    token_expires_in: int | None = None,
    latency: float | None = None,
    latency_jitter: float | None = None,
    rate_429: float | None = None,
    retry_after: float | None = None,
    rate_5xx: float | None = None,
    rate_drop: float | None = None,
    refuse_without_index: bool = False,
    reject_event_id: Sequence[str] | None = None,
    discard_events: bool = False,
    seed: int | None = None,
    verbose: bool = False,
) -> EmulatorConfig:
    """Return the configuration the options of `OPTIONS` describe; None (or empty) means the default.

    Raises ValueError when a rate or duration is out of range.
    """
    changes: dict[str, Any] = {
        "access_tokens": frozenset(access_token) if access_token else None,
        "allowed_assets": frozenset(allowed_asset) if allowed_asset else None,
        "oauth_client_id": client_id,
        "oauth_client_secret": client_secret,
        "oauth_refresh_token": refresh_token,
        "retry_after": retry_after,
        "seed": seed,
        "refuse_without_index": refuse_without_index,
        "reject_event_ids": frozenset(reject_event_id or ()),
        "discard_events": discard_events,
        "verbose": verbose,
    }
    unless_none = {
        "token_expires_in": token_expires_in,
        "latency": latency,
        "latency_jitter": latency_jitter,
        "rate_429": rate_429,
        "rate_5xx": rate_5xx,
        "rate_drop": rate_drop,
    }
    changes.update({name: value for name, value in unless_none.items() if value is not None})
    return dataclasses.replace(DEFAULT_CONFIG, **changes)
