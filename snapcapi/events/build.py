"""Building events: one row's canonical values checked by Snap's rules and turned into a v3 event.

`build` returns an `Event` ready to send, or an `Invalid` carrying every problem of the row at once (by
field), so a user sees all of a file's mistakes in one run. Identifiers are normalized and hashed by
`identifiers`; problems with an identifier drop it with a warning, and the row is invalid only when nothing
matchable is left.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from functools import lru_cache
from typing import Any, NamedTuple

from snapcapi import spec
from snapcapi.events import fastpaths
from snapcapi.events.data import DataParts, split_list
from snapcapi.events.identifiers import IDENTIFIERS, IdentifierError, is_hashed
from snapcapi.events.phone import has_country_code, region_of_country
from snapcapi.events.times import parse_event_time
from snapcapi.model import Event, Problem
from snapcapi.spec import ActionSource, EventName, closest_event_name, fold, lookup_event_name

__all__ = [  # split_list lives in `eventdata`; it is named here too, where callers knew it
    "ASSET_HINTS",
    "DEFAULT_REGION_PHONE",
    "UNSET_ASSET",
    "Assembled",
    "BuildContext",
    "Invalid",
    "assemble",
    "build",
    "derive_event_id",
    "parse_event_name",
    "split_list",
]

_ACTION_SOURCES = {fold(s.value): s for s in ActionSource} | {
    "app": ActionSource.MOBILE_APP,
    "mobile": ActionSource.MOBILE_APP,
    "instore": ActionSource.OFFLINE,
    "store": ActionSource.OFFLINE,
}
# Each name's text without the enum's `.value` lookup, which is slow enough to show in a profile.
_TEXT: dict[EventName | ActionSource, str] = {m: m.value for m in (*EventName, *ActionSource)}
# (field, user_data key, is a list, normalized in the row's country): a state is a subdivision of it.
_IDENTIFIER_KEYS = tuple(
    (name, ident.key, ident.is_list, name == "state") for name, ident in IDENTIFIERS.items()
)
_MATCHABLE_ALONE = frozenset(spec.MATCHABLE_ALONE)
_MATCHABLE_PAIR = frozenset(spec.MATCHABLE_PAIR)

# Not a user_data key: among a row's `user_keys`, it says a phone number of the row had no country code and
# the row no country, so it was read in the default region (the data-quality summary counts those rows).
DEFAULT_REGION_PHONE = "phone read in the default region"

# The setting to name when a conversion type has no asset id.
ASSET_HINTS = {
    ActionSource.WEB: "a Pixel ID (--pixel-id or SNAPCAPI_PIXEL_ID)",
    ActionSource.OFFLINE: "a Pixel ID (--pixel-id or SNAPCAPI_PIXEL_ID)",
    ActionSource.MOBILE_APP: "a Snap App ID (--snap-app-id or SNAPCAPI_SNAP_APP_ID)",
}
# Also among `user_keys`: the row was checked without the asset id its source needs (a local validate).
UNSET_ASSET = {source: f"no asset id: {hint}" for source, hint in ASSET_HINTS.items()}


@dataclass(frozen=True, slots=True)
class BuildContext:
    """What building an event needs besides the row: the run's settings and its fixed `now`."""

    now: int
    pixel_id: str | None = None
    snap_app_id: str | None = None
    app_id: str | None = None
    default_event_name: EventName | None = None
    default_action_source: ActionSource = ActionSource.WEB
    timezone: tzinfo = UTC
    default_region: str = "US"
    event_names: Mapping[str, EventName] = field(default_factory=dict)
    # Fast paths and caches (`fastpaths`); False builds by the reference path, for tests to compare.
    fast: bool = True
    # False for a local validate: a row whose Pixel or Snap App ID is not set is checked all the same (its
    # asset_id is "").
    assets_required: bool = True

    def asset_for(self, source: ActionSource) -> str | None:
        """Return the asset id events of `source` are sent to (Pixel ID, or Snap App ID), if set."""
        return self.snap_app_id if source is ActionSource.MOBILE_APP else self.pixel_id


@dataclass(frozen=True, slots=True)
class Invalid:
    """A row snapcapi refuses: every problem found, plus what could be read of its name and id."""

    errors: tuple[Problem, ...]
    warnings: tuple[Problem, ...]
    event_name: str | None = None
    event_id: str | None = None
    user_keys: tuple[str, ...] = ()  # the user_data keys that survived normalization (see Assembled)


def parse_event_name(raw: Any, ctx: BuildContext) -> EventName:
    """Return the Snap event name of `raw` (aliases and the user's own names); raises ValueError."""
    text = str(raw).strip()
    name = lookup_event_name(text, dict(ctx.event_names)) if ctx.event_names else _plain_event_name(text)
    if name is not None:
        return name
    hint = closest_event_name(text)
    did_you_mean = f"did you mean {hint.value}? " if hint else ""
    raise ValueError(
        f"{text[:60]!r} is not one of Snap's event names; {did_you_mean}custom events use"
        f" {spec.CUSTOM_EVENT_SLOTS[0]}..{spec.CUSTOM_EVENT_SLOTS[-1][-1]}"
        " (or map names in --mapping [event_names])"
    )


@lru_cache(maxsize=1024)  # files use a handful of names, each spelled a few ways
def _plain_event_name(text: str) -> EventName | None:
    return lookup_event_name(text)


class _Builder(DataParts):
    """Collects one row's problems while building its payload."""

    def __init__(self, values: Mapping[str, Any], ctx: BuildContext) -> None:
        # DataParts.__init__, written out: a builder is made for every row.
        self.values = values
        self.errors: list[Problem] = []
        self.ctx = ctx
        self.warnings: list[Problem] = []
        # A phone number without a country code was read in the default region (the row names no country
        # phonenumbers knows): counted in the data-quality summary.
        self.default_region_phone = False
        self.unset_asset: ActionSource | None = None  # no asset id for the row's source (a local validate)

    def warn(self, name: str, message: str) -> None:
        self.warnings.append(Problem(name, message))

    def event_name(self) -> EventName | None:
        raw = self.values.get("event_name")
        if raw is None:
            if self.ctx.default_event_name is None:
                self.error("event_name", "missing; add an event name column or pass --event-type")
            return self.ctx.default_event_name
        try:
            return parse_event_name(raw, self.ctx)
        except ValueError as err:
            self.error("event_name", str(err))
            return None

    def action_source(self) -> ActionSource | None:
        raw = self.values.get("action_source")
        if raw is None:
            return self.ctx.default_action_source
        source = _ACTION_SOURCES.get(fold(str(raw)))
        if source is None:
            self.error("action_source", f"{str(raw)[:30]!r} is not WEB, MOBILE_APP or OFFLINE")
        return source

    def event_time(self) -> int | None:
        raw = self.values.get("event_time")
        if raw is None:
            self.error("event_time", "missing")
            return None
        try:
            when = parse_event_time(raw, self.ctx.timezone, self.ctx.now)
        except ValueError as err:
            self.error("event_time", str(err))
            return None
        age = self.ctx.now - when
        if age < -spec.MAX_CLOCK_SKEW:
            self.error("event_time", "in the future; Snap refuses events stamped ahead of now")
        elif age > spec.MAX_EVENT_AGE:
            days = spec.MAX_EVENT_AGE // 86400
            self.error("event_time", f"more than {days} days old; Snap takes events up to {days} days old")
        elif age > spec.STALE_EVENT_AGE:
            days = spec.STALE_EVENT_AGE // 86400
            self.warn(
                "event_time", f"{age // 86400} days old; events older than {days} days attribute poorly"
            )
        return when

    def _in_country(self, name: str) -> Callable[[str], str | None]:
        """The encoder of `name` in the row's country (its country field), else in the default region."""
        region = self.ctx.default_region
        country = self.values.get("country")
        if country is not None:
            region = fastpaths.region_of(country if type(country) is str else str(country), region)
        return fastpaths.encoders(region, self.ctx.fast)[name]

    def user_data(self) -> dict[str, Any]:
        user: dict[str, Any] = {}
        values = self.values
        encoders = fastpaths.encoders(self.ctx.default_region, self.ctx.fast)
        for name, key, is_list, in_country in _identifiers_among(tuple(values)):
            raw = values[name]
            if raw is None:
                continue
            if name == "phone":
                phones = self.phones(raw, encoders[name])
                if phones:
                    user[key] = phones
                continue
            encode = encoders[name] if not in_country else self._in_country(name)
            # One value: a field that is no list, or a list field's text without a separator (the usual
            # email or phone column), which `split_list` would only have trimmed (as `encode` does).
            if not is_list or (type(raw) is str and "|" not in raw and "," not in raw and "[" not in raw):
                try:
                    value = encode(raw if type(raw) is str else str(raw))
                except IdentifierError as err:
                    self.warn(name, f"dropped: {err}")
                    continue
                if value is not None:
                    user[key] = [value] if is_list else value
                continue
            encoded: list[str] = []
            for item in split_list(raw):
                try:
                    value = encode(str(item))
                except IdentifierError as err:
                    self.warn(name, f"dropped: {err}")
                    continue
                if value is not None and value not in encoded:
                    encoded.append(value)
            if encoded:
                user[key] = encoded
        keys = user.keys()
        if keys.isdisjoint(_MATCHABLE_ALONE) and not keys >= _MATCHABLE_PAIR:
            self.error(
                "user_data",
                "no matchable identifier (needs email, phone, mobile ad id, or IP address + user agent)",
            )
        return user

    def phones(self, raw: Any, encode_default: Callable[[str], str | None]) -> list[str]:
        """Return the row's phone numbers encoded, each read in the row's own country when it names one
        phonenumbers knows, else in the default region (noted in `default_region_phone`)."""
        country = self.values.get("country")
        region = region_of_country(country) if type(country) is str else None
        encode = encode_default if region is None else fastpaths.phone_encoder(region, self.ctx.fast)
        single = type(raw) is str and "|" not in raw and "," not in raw and "[" not in raw
        encoded: list[str] = []
        for item in (raw,) if single else split_list(raw):
            text = item if type(item) is str else str(item)
            try:
                value = encode(text)
            except IdentifierError as err:
                self.warn("phone", f"dropped: {err}")
                continue
            if value is None or value in encoded:
                continue
            encoded.append(value)
            if region is None and not has_country_code(text) and not is_hashed(text):
                self.default_region_phone = True
        return encoded


@lru_cache(maxsize=256)  # a file's rows have a few shapes: which of its columns are empty
def _identifiers_among(fields: tuple[str, ...]) -> tuple[tuple[str, str, bool, bool], ...]:
    """The identifier fields among `fields`, as `_IDENTIFIER_KEYS` has them, in `user_data` order."""
    given = frozenset(fields)
    return tuple(entry for entry in _IDENTIFIER_KEYS if entry[0] in given)


def derive_event_id(payload: Mapping[str, Any]) -> str:
    """Return a stable event id for a payload that has none: the same event gets the same id every run.

    It is a digest of the normalized event (name, time, source, identifiers, values), so re-exports that
    only change formatting (column order, `usd` for `USD`, another time notation) keep the id.
    """
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # surrogatepass: a lone surrogate from a Python caller must give an id, not a crash
    return "snapcapi-" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class Assembled(NamedTuple):
    """A valid row as `assemble` makes it: an `Event` but for where it came from. A tuple, which costs a
    fraction of a frozen dataclass to make: the workers make one per row."""

    asset_id: str
    action_source: ActionSource
    event_name: EventName
    event_id: str
    event_time: int
    payload: dict[str, Any]
    warnings: tuple[Problem, ...]
    # What the data-quality summary counts: the user_data keys, DEFAULT_REGION_PHONE when a phone number
    # was read in the default region, an UNSET_ASSET value when the row's asset id was not set. Not an
    # `Event` field.
    user_keys: tuple[str, ...] = ()


def build(values: Mapping[str, Any], file: str, line: int, ctx: BuildContext) -> Event | Invalid:
    """Return the row's `Event`, or `Invalid` with every problem found (each naming its field)."""
    made = assemble(values, ctx)
    if isinstance(made, Invalid):
        return made
    return Event(file, line, *made[:-1])


def assemble(values: Mapping[str, Any], ctx: BuildContext) -> Assembled | Invalid:
    """`build` without the row's file and line: its event as an `Assembled` tuple, or `Invalid`."""
    b = _Builder(values, ctx)
    name = b.event_name()
    source = b.action_source()
    when = b.event_time()
    asset = None
    if source is not None:
        asset = ctx.asset_for(source)
        if not asset and not ctx.assets_required:
            asset = ""  # checked all the same; counted, so that the run warns once
            b.unset_asset = source
        elif not asset:
            b.error("action_source", f"To send {source.value} events, set {ASSET_HINTS[source]}")
    payload: dict[str, Any] = {
        "event_name": _TEXT[name] if name else None,
        "event_time": when,
        "action_source": _TEXT[source] if source else None,
    }
    url = values.get("event_source_url")
    if url is not None:
        payload["event_source_url"] = str(url).strip()
    elif source is ActionSource.WEB:
        b.error("event_source_url", "missing; WEB events need the page URL")
    payload["user_data"] = b.user_data()
    custom = b.custom_data(name)
    if custom:
        payload["custom_data"] = custom
    if source is ActionSource.MOBILE_APP:
        app = b.app_data(ctx.app_id)
        if app is not None:
            payload["app_data"] = app
    options = b.data_processing_options()
    if options:
        payload["data_processing_options"] = options

    raw_id = values.get("event_id")
    event_id = str(raw_id).strip() if raw_id is not None else None
    if not event_id and name is EventName.PURCHASE and "order_id" in custom:
        event_id = custom["order_id"]
    user_keys = tuple(payload["user_data"])
    if b.default_region_phone:
        user_keys += (DEFAULT_REGION_PHONE,)
    if b.unset_asset is not None:
        user_keys += (UNSET_ASSET[b.unset_asset],)
    if b.errors or name is None or source is None or when is None or asset is None:
        return Invalid(
            tuple(b.errors), tuple(b.warnings), _TEXT[name] if name else None, event_id or None, user_keys
        )
    if not event_id:
        event_id = derive_event_id(payload)
    payload["event_id"] = event_id
    payload["integration"] = spec.INTEGRATION
    return Assembled(asset, source, name, event_id, when, payload, tuple(b.warnings), user_keys)
