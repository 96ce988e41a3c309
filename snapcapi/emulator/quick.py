"""The emulator's quick test: the events that certainly pass every check of `emulator_rules`, found cheaply.

An emulator under load (a benchmark, a user's pipeline test) checks tens of thousands of events a second,
in a process that shares the CPUs with the client it answers. Most events are plainly fine: this finds
the leading ones of a request that are, with a few tests each and one pass over all their hashed values;
`check_event` decides on the rest. The emulator's verdicts are the same either way (tests/test_fastpaths.py
holds the quick test to `check_event`).
"""

from __future__ import annotations

from typing import Any, Final

from snapcapi.emulator.rules import HASHED_LIST_KEYS, HASHED_SCALAR_KEYS, is_number, is_text
from snapcapi.spec import (
    MAX_CLOCK_SKEW,
    MILLISECONDS_THRESHOLD,
    STALE_EVENT_AGE,
    ActionSource,
    EventName,
    currency_codes,
)

_EVENT_NAMES: Final = frozenset(name.value for name in EventName)
_HEX_DIGITS: Final = b"0123456789abcdef"
_PLAIN_SOURCES: Final = frozenset({ActionSource.WEB.value, ActionSource.OFFLINE.value})
_HASHED_LIST_KEY_SET: Final = frozenset(HASHED_LIST_KEYS)
_HASHED_SCALAR_KEY_SET: Final = frozenset(HASHED_SCALAR_KEYS)


def plainly_valid_prefix(events: list[Any], now: float) -> int:
    """Return how many of the first events break no rule and earn no warning: `check_event` would find
    them VALID, with nothing to say. Stops at the first event that needs the full checks.

    Cheap tests of the common event, the hashed values of all of them checked in one pass: an emulator
    under load checks tens of thousands of events a second. Never raises, whatever the JSON holds.
    """
    hashes: list[str] = []
    count = 0
    for event in events:
        if not _plain(event, now, hashes):
            break
        count += 1
    blob = "".join(hashes)
    if len(blob) != 64 * len(hashes) or not _lower_hex(blob):
        return 0  # some value is not a lower-case SHA-256: leave every event to the full checks
    return count


def _lower_hex(text: str) -> bool:
    try:
        ascii_bytes = text.encode("ascii")
    except UnicodeEncodeError:
        return False
    return not ascii_bytes.translate(None, _HEX_DIGITS)  # nothing left once the hex digits are deleted


def _plain(event: object, now: float, hashes: list[str]) -> bool:
    """True when `event` passes every rule but the format of its hashed values, which go to `hashes`."""
    if type(event) is not dict:
        return False
    name, when = event.get("event_name"), event.get("event_time")
    source, user = event.get("action_source"), event.get("user_data")
    if (
        type(name) is not str
        or name.upper() not in _EVENT_NAMES
        or type(when) is not int
        or not now - STALE_EVENT_AGE <= when <= now + MAX_CLOCK_SKEW
        or when >= MILLISECONDS_THRESHOLD
        or source not in _PLAIN_SOURCES
        or (source == ActionSource.WEB and not is_text(event.get("event_source_url")))
        or type(user) is not dict
        or not event.get("event_id")
    ):
        return False
    custom = event.get("custom_data")
    if custom is not None and type(custom) is not dict:
        return False
    if name.upper() == EventName.PURCHASE:
        value, currency = (custom or {}).get("value"), (custom or {}).get("currency")
        if (
            not is_number(value)
            or value < 0
            or not isinstance(currency, str)
            or currency not in currency_codes()
        ):
            return False
    matchable = False
    for key, value in user.items():
        if key in _HASHED_LIST_KEY_SET:
            if type(value) is not list or not value or not all(type(item) is str for item in value):
                return False
            hashes.extend(value)
            matchable = matchable or key != "external_id"
        elif key in _HASHED_SCALAR_KEY_SET:
            if type(value) is not str:
                return False
            hashes.append(value)
        elif key == "madid":
            if not is_text(value):
                return False
            matchable = True
        elif key == "client_ip_address":  # the full checks look for a hashed address
            return False
    return matchable
