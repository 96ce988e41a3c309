"""The emulator's checks of one event, as Snap makes them on the wire (SPEC.md sections 3 to 5).

These read the v3 JSON that a client sends, with hashed identifiers, not a user's input row: they are the
far side of `snapcapi`'s own validation, so they are written separately from it on purpose. A check that
agreed with the client because it shared the client's code would prove nothing.

    check_event(event, now) -> EventCheck(errors, warnings)

`errors` are in the order of the rules of SPEC.md section 3; the first one is the reason Snap gives.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, TypeGuard

from snapcapi.spec import (
    EXTINFO_LENGTH,
    MATCHABLE_ALONE,
    MATCHABLE_PAIR,
    MAX_CLOCK_SKEW,
    MAX_EVENT_AGE,
    MILLISECONDS_THRESHOLD,
    STALE_EVENT_AGE,
    ActionSource,
    EventName,
    currency_codes,
)

# Snap quotes this reason verbatim for a name outside the predefined list (Segment's docs repeat it).
UNRECOGNIZED_EVENT_TYPE: Final = "Unrecognized event type"

# The first `extinfo` entry names the platform: `i2` for iOS, `a2` for Android.
EXTINFO_PLATFORMS: Final = frozenset({"i2", "a2"})

# Hashed user_data keys: SHA-256 as lower-case hex. The list-valued ones carry several values.
HASHED_LIST_KEYS: Final = ("em", "ph", "external_id")
HASHED_SCALAR_KEYS: Final = ("fn", "ln", "ge", "db", "ct", "st", "zp", "country")

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_SHA256_HEX_ANY_CASE = re.compile(r"[0-9a-fA-F]{64}")
_EVENT_NAMES: Final = frozenset(name.value for name in EventName)
_ACTION_SOURCES: Final = frozenset(source.value for source in ActionSource)
_DAY: Final = 24 * 3600


class Code(StrEnum):
    """The error codes the emulator puts in `errors.codes`, one per broken rule."""

    INVALID_EVENT = "INVALID_EVENT"
    MISSING_REQUIRED_FIELD = "MISSING_REQUIRED_FIELD"
    UNRECOGNIZED_EVENT_TYPE = "UNRECOGNIZED_EVENT_TYPE"
    INVALID_EVENT_TIME = "INVALID_EVENT_TIME"
    EVENT_TIME_OUT_OF_RANGE = "EVENT_TIME_OUT_OF_RANGE"
    INVALID_ACTION_SOURCE = "INVALID_ACTION_SOURCE"
    INVALID_APP_DATA = "INVALID_APP_DATA"
    INVALID_PURCHASE = "INVALID_PURCHASE"
    INVALID_FIELD_FORMAT = "INVALID_FIELD_FORMAT"
    UNHASHED_PERSONAL_DATA = "UNHASHED_PERSONAL_DATA"
    HASHED_IP_ADDRESS = "HASHED_IP_ADDRESS"
    INSUFFICIENT_IDENTIFIERS = "INSUFFICIENT_IDENTIFIERS"


@dataclass(frozen=True, slots=True)
class EventError:
    """One broken rule: its code and the message Snap would give."""

    code: Code
    message: str


@dataclass(frozen=True, slots=True)
class EventCheck:
    """The verdict on one event: every broken rule (empty when valid) and warnings about accepted data."""

    errors: tuple[EventError, ...]
    warnings: tuple[str, ...]

    @property
    def valid(self) -> bool:
        """True when no rule is broken."""
        return not self.errors

    def errors_json(self) -> dict[str, list[str]]:
        """Return the `errors` object of Snap's answers: `{"codes": [...], "error_msgs": [...]}`."""
        return {
            "codes": [error.code.value for error in self.errors],
            "error_msgs": [error.message for error in self.errors],
        }


def check_event(event: object, now: float) -> EventCheck:
    """Check one event of a request's `data` at time `now` (Unix seconds).

    Returns the verdict; never raises, whatever the JSON holds.
    """
    if not isinstance(event, dict):
        return EventCheck((EventError(Code.INVALID_EVENT, "Event must be a JSON object"),), ())
    errors: list[EventError] = []
    warnings: list[str] = []
    for key in ("event_name", "event_time", "action_source", "user_data"):
        if event.get(key) in (None, ""):
            errors.append(_missing(key))
    _check_event_name(event.get("event_name"), errors)
    _check_event_time(event.get("event_time"), now, errors, warnings)
    _check_action_source(event, errors)
    _check_custom_data(event, errors)
    _check_user_data(event.get("user_data"), errors)
    if not event.get("event_id"):
        warnings.append("No event_id: Snap cannot deduplicate this event")
    return EventCheck(tuple(errors), tuple(warnings))


VALID: Final = EventCheck((), ())


def _missing(key: str, why: str = "") -> EventError:
    return EventError(Code.MISSING_REQUIRED_FIELD, f"Missing required field: {key}{why}")


def _check_event_name(name: Any, errors: list[EventError]) -> None:
    if name in (None, ""):
        return
    if not isinstance(name, str) or name.upper() not in _EVENT_NAMES:
        errors.append(EventError(Code.UNRECOGNIZED_EVENT_TYPE, UNRECOGNIZED_EVENT_TYPE))


def _check_event_time(value: Any, now: float, errors: list[EventError], warnings: list[str]) -> None:
    if value in (None, ""):
        return
    # bool is an int subclass in Python; JSON true is no timestamp.
    if not isinstance(value, int) or isinstance(value, bool):
        errors.append(EventError(Code.INVALID_EVENT_TIME, "Invalid event_time: send integer Unix seconds"))
    elif value >= MILLISECONDS_THRESHOLD:
        errors.append(
            EventError(Code.INVALID_EVENT_TIME, "Invalid event_time: milliseconds given, send seconds")
        )
    elif value < now - MAX_EVENT_AGE:
        errors.append(
            EventError(
                Code.EVENT_TIME_OUT_OF_RANGE,
                f"event_time out of range: older than {MAX_EVENT_AGE // _DAY} days",
            )
        )
    elif value > now + MAX_CLOCK_SKEW:
        errors.append(
            EventError(
                Code.EVENT_TIME_OUT_OF_RANGE,
                f"event_time out of range: more than {MAX_CLOCK_SKEW // 60} minutes in the future",
            )
        )
    elif value < now - STALE_EVENT_AGE:
        warnings.append(f"event_time older than {STALE_EVENT_AGE // _DAY} days: accepted, attributes poorly")


def _check_action_source(event: dict[str, Any], errors: list[EventError]) -> None:
    source = event.get("action_source")
    if source in (None, ""):
        return
    if not isinstance(source, str) or source not in _ACTION_SOURCES:
        allowed = ", ".join(sorted(_ACTION_SOURCES))
        errors.append(EventError(Code.INVALID_ACTION_SOURCE, f"Invalid action_source: use one of {allowed}"))
    elif source == ActionSource.WEB and not is_text(event.get("event_source_url")):
        errors.append(_missing("event_source_url", " (required for WEB)"))
    elif source == ActionSource.MOBILE_APP:
        _check_app_data(event.get("app_data"), errors)


def _check_app_data(app_data: Any, errors: list[EventError]) -> None:
    if not isinstance(app_data, dict):
        errors.append(_missing("app_data", " (required for MOBILE_APP)"))
        return
    extinfo = app_data.get("extinfo")
    if (
        not isinstance(extinfo, list)
        or len(extinfo) != EXTINFO_LENGTH
        or not all(isinstance(entry, str) for entry in extinfo)
        or extinfo[0] not in EXTINFO_PLATFORMS
    ):
        platforms = " or ".join(sorted(EXTINFO_PLATFORMS))
        errors.append(
            EventError(
                Code.INVALID_APP_DATA,
                f"Invalid app_data.extinfo: send {EXTINFO_LENGTH} strings, the first {platforms}",
            )
        )


def _check_custom_data(event: dict[str, Any], errors: list[EventError]) -> None:
    custom = event.get("custom_data")
    if custom is not None and not isinstance(custom, dict):
        errors.append(EventError(Code.INVALID_FIELD_FORMAT, "Invalid custom_data: send a JSON object"))
        return
    name = event.get("event_name")
    if not isinstance(name, str) or name.upper() != EventName.PURCHASE:
        return
    custom = custom or {}
    value = custom.get("value")
    if not is_number(value) or value < 0:
        errors.append(EventError(Code.INVALID_PURCHASE, "PURCHASE requires custom_data.value, a number >= 0"))
    currency = custom.get("currency")
    if not isinstance(currency, str) or currency not in currency_codes():
        errors.append(
            EventError(Code.INVALID_PURCHASE, "PURCHASE requires custom_data.currency, an ISO 4217 code")
        )


def _check_user_data(user_data: Any, errors: list[EventError]) -> None:
    if user_data in (None, ""):
        return
    if not isinstance(user_data, dict):
        errors.append(EventError(Code.INVALID_FIELD_FORMAT, "Invalid user_data: send a JSON object"))
        return
    for key in HASHED_LIST_KEYS:
        value = user_data.get(key)
        if value is None:
            continue
        if not isinstance(value, list):
            errors.append(EventError(Code.INVALID_FIELD_FORMAT, f"Invalid user_data.{key}: send a list"))
        elif not all(_is_sha256(item) for item in value):
            errors.append(_unhashed(key))
    for key in HASHED_SCALAR_KEYS:
        value = user_data.get(key)
        if value is not None and not _is_sha256(value):
            errors.append(_unhashed(key))
    ip = user_data.get("client_ip_address")
    if isinstance(ip, str) and _SHA256_HEX_ANY_CASE.fullmatch(ip.strip()):
        errors.append(
            EventError(
                Code.HASHED_IP_ADDRESS, "Hashed IP address in user_data.client_ip_address: send it unhashed"
            )
        )
    if not _has_identifiers(user_data):
        errors.append(
            EventError(
                Code.INSUFFICIENT_IDENTIFIERS,
                f"Too few identifiers: send one of {', '.join(MATCHABLE_ALONE)}, "
                f"or all of {', '.join(MATCHABLE_PAIR)}",
            )
        )


def _unhashed(key: str) -> EventError:
    return EventError(
        Code.UNHASHED_PERSONAL_DATA,
        f"Unhashed personal data in user_data.{key}: send lower-case hex SHA-256",
    )


def _has_identifiers(user_data: dict[str, Any]) -> bool:
    if any(_present(user_data.get(key)) for key in MATCHABLE_ALONE):
        return True
    return all(_present(user_data.get(key)) for key in MATCHABLE_PAIR)


def _present(value: Any) -> bool:
    return (isinstance(value, list) and bool(value)) or is_text(value)


def _is_sha256(value: Any) -> bool:
    return isinstance(value, str) and _SHA256_HEX.fullmatch(value) is not None


def is_number(value: Any) -> TypeGuard[float]:
    """True for a JSON number (not a boolean) that is finite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def is_text(value: Any) -> bool:
    """True for a string with something besides whitespace."""
    return isinstance(value, str) and bool(value.strip())
