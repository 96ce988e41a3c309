"""Building events: one row's canonical values checked by Snap's rules and turned into a v3 event.

`build` returns an `Event` ready to send, or an `Invalid` carrying every problem of the row at once (by
field), so a user sees all of a file's mistakes in one run. Identifiers are normalized and hashed by
`identifiers`; problems with an identifier drop it with a warning, and the row is invalid only when nothing
matchable is left.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import Any

from snapcapi import spec
from snapcapi.fields import LIST_FIELDS
from snapcapi.identifiers import IDENTIFIERS, IdentifierError, encode
from snapcapi.model import Event, Problem
from snapcapi.spec import ActionSource, EventName, closest_event_name, fold, lookup_event_name
from snapcapi.timeparse import parse_event_time

_ACTION_SOURCES = {fold(s.value): s for s in ActionSource} | {
    "app": ActionSource.MOBILE_APP,
    "mobile": ActionSource.MOBILE_APP,
    "instore": ActionSource.OFFLINE,
    "store": ActionSource.OFFLINE,
}
_TRUE = frozenset({"1", "true", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "no", "n", "off"})

# The setting to name when a conversion type has no asset id.
ASSET_HINTS = {
    ActionSource.WEB: "a Pixel ID (--pixel-id or SNAPCAPI_PIXEL_ID)",
    ActionSource.OFFLINE: "a Pixel ID (--pixel-id or SNAPCAPI_PIXEL_ID)",
    ActionSource.MOBILE_APP: "a Snap App ID (--snap-app-id or SNAPCAPI_SNAP_APP_ID)",
}


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
    user_keys: tuple[str, ...] = ()  # the user_data keys that survived normalization


def split_list(value: Any) -> list[Any]:
    """Return a list field's values: a JSON list (or its text) as is, a string split on `|` or `,`, blanks
    dropped."""
    if isinstance(value, str) and value.lstrip().startswith("["):
        value = _json_or(value, value)
    if isinstance(value, list):
        return [v for v in value if v is not None and str(v).strip()]
    text = str(value)
    separator = "|" if "|" in text else ","
    return [part.strip() for part in text.split(separator) if part.strip()]


def parse_event_name(raw: Any, ctx: BuildContext) -> EventName:
    """Return the Snap event name of `raw` (aliases and the user's own names); raises ValueError."""
    text = str(raw).strip()
    name = lookup_event_name(text, dict(ctx.event_names))
    if name is not None:
        return name
    hint = closest_event_name(text)
    did_you_mean = f"did you mean {hint.value}? " if hint else ""
    raise ValueError(
        f"{text[:60]!r} is not one of Snap's event names; {did_you_mean}custom events use"
        f" {spec.CUSTOM_EVENT_SLOTS[0]}..{spec.CUSTOM_EVENT_SLOTS[-1][-1]}"
        " (or map names in --mapping [event_names])"
    )


def _number(raw: Any, what: str) -> float:
    if isinstance(raw, bool):
        raise ValueError(f"{what} must be a number, got true/false")
    try:
        number = float(raw.strip()) if isinstance(raw, str) else float(raw)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{what} must be a number, got {str(raw)[:30]!r}") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{what} must be a finite number of 0 or more")
    return number


def _flag(raw: Any) -> bool | None:
    text = str(raw).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


class _Builder:
    """Collects one row's problems while building its payload."""

    def __init__(self, values: Mapping[str, Any], ctx: BuildContext) -> None:
        self.values = values
        self.ctx = ctx
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []

    def error(self, name: str, message: str) -> None:
        self.errors.append(Problem(name, message))

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

    def user_data(self) -> dict[str, Any]:
        user: dict[str, Any] = {}
        for name, ident in IDENTIFIERS.items():
            raw = self.values.get(name)
            if raw is None:
                continue
            items = split_list(raw) if name in LIST_FIELDS else [raw]
            encoded: list[str] = []
            for item in items:
                try:
                    value = encode(name, str(item), self.ctx.default_region)
                except IdentifierError as err:
                    self.warn(name, f"dropped: {err}")
                    continue
                if value is not None and value not in encoded:
                    encoded.append(value)
            if encoded:
                user[ident.key] = encoded if ident.is_list else encoded[0]
        if not (
            any(key in user for key in spec.MATCHABLE_ALONE)
            or all(key in user for key in spec.MATCHABLE_PAIR)
        ):
            self.error(
                "user_data",
                "no matchable identifier (needs email, phone, mobile ad id, or IP address + user agent)",
            )
        return user

    def custom_data(self, name: EventName | None) -> dict[str, Any]:
        values = self.values
        custom: dict[str, Any] = {}
        if "value" in values:
            try:
                custom["value"] = _number(values["value"], "value")
            except ValueError as err:
                self.error("value", str(err))
        if "currency" in values:
            currency = str(values["currency"]).strip().upper()
            if currency in spec.CURRENCIES:
                custom["currency"] = currency
            else:
                self.error("currency", f"{currency[:10]!r} is not an ISO 4217 currency code")
        if name is EventName.PURCHASE:
            for required in ("value", "currency"):
                if required not in values:
                    self.error(required, "missing; PURCHASE events need a value and a currency")
        for text_field in ("order_id", "content_category", "search_string", "sign_up_method"):
            if text_field in values:
                text = str(values[text_field]).strip()
                if _encodable(text):
                    custom[text_field] = text
                else:
                    self.error(text_field, "contains characters that are not valid Unicode text")
        for list_field in ("content_ids", "brands"):
            if list_field in values:
                custom[list_field] = [str(v) for v in split_list(values[list_field])]
        if "num_items" in values:
            try:
                count = _number(values["num_items"], "num_items")
                if count != int(count):
                    raise ValueError("num_items must be a whole number")
                custom["num_items"] = int(count)
            except ValueError as err:
                self.error("num_items", str(err))
        if "contents" in values:
            contents = _contents(values["contents"])
            if contents is None:
                self.error("contents", "must be a JSON list of objects with id, quantity and item_price")
            else:
                custom["contents"] = contents
        return custom

    def app_data(self) -> dict[str, Any] | None:
        app_id = str(self.values.get("app_id") or self.ctx.app_id or "").strip()
        if not app_id:
            self.error("app_id", "MOBILE_APP events need the store app id (--app-id or SNAPCAPI_APP_ID)")
            return None
        tracking = spec.DEFAULT_ADVERTISER_TRACKING_ENABLED
        if "advertiser_tracking_enabled" in self.values:
            flag = _flag(self.values["advertiser_tracking_enabled"])
            if flag is None:
                self.error("advertiser_tracking_enabled", "must be 0 or 1")
            else:
                tracking = int(flag)
        extinfo: list[str]
        if "extinfo" in self.values:
            extinfo = [str(v) for v in _extinfo_items(self.values["extinfo"])]
            if len(extinfo) != spec.EXTINFO_LENGTH or extinfo[0] not in ("i2", "a2"):
                self.error("extinfo", f"must be {spec.EXTINFO_LENGTH} entries starting with i2 or a2")
        else:
            platform = spec.extinfo_platform(app_id)
            extinfo = [platform, app_id if platform == "a2" else ""] + [""] * (spec.EXTINFO_LENGTH - 2)
        return {"app_id": app_id, "advertiser_tracking_enabled": tracking, "extinfo": extinfo}

    def data_processing_options(self) -> list[str] | None:
        raw = self.values.get("data_processing_options")
        if raw is None:
            return None
        flag = _flag(raw)
        if flag is not None:
            return ["LDU"] if flag else None
        options = [str(v).strip().upper() for v in split_list(raw)]
        if options != ["LDU"]:
            self.error("data_processing_options", "the only option Snap knows is LDU")
            return None
        return options


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _json_or(text: str, fallback: Any) -> Any:
    """Decode JSON text; `fallback` when it is not JSON (or nests too deep to decode)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return fallback


def _contents(raw: Any) -> list[dict[str, Any]] | None:
    if isinstance(raw, str):
        raw = _json_or(raw, None)
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        return None
    return [
        {k: v for k, v in item.items() if k in ("id", "quantity", "item_price") and v is not None}
        for item in raw
    ]


def _extinfo_items(raw: Any) -> list[Any]:
    if isinstance(raw, str) and raw.strip().startswith("["):
        raw = _json_or(raw, [])
    if isinstance(raw, list):
        return raw
    return str(raw).split("|")


def derive_event_id(payload: Mapping[str, Any]) -> str:
    """Return a stable event id for a payload that has none: the same event gets the same id every run.

    It is a digest of the normalized event (name, time, source, identifiers, values), so re-exports that
    only change formatting (column order, `usd` for `USD`, another time notation) keep the id.
    """
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # surrogatepass: a lone surrogate from a Python caller must give an id, not a crash
    return "snapcapi-" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def build(values: Mapping[str, Any], file: str, line: int, ctx: BuildContext) -> Event | Invalid:
    """Return the row's `Event`, or `Invalid` with every problem found (each naming its field)."""
    b = _Builder(values, ctx)
    name = b.event_name()
    source = b.action_source()
    when = b.event_time()
    asset = None
    if source is not None:
        asset = ctx.asset_for(source)
        if not asset:
            b.error("action_source", f"To send {source.value} events, set {ASSET_HINTS[source]}")
    payload: dict[str, Any] = {
        "event_name": name.value if name else None,
        "event_time": when,
        "action_source": source.value if source else None,
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
        app = b.app_data()
        if app is not None:
            payload["app_data"] = app
    options = b.data_processing_options()
    if options:
        payload["data_processing_options"] = options

    raw_id = values.get("event_id")
    event_id = str(raw_id).strip() if raw_id is not None else None
    if not event_id and name is EventName.PURCHASE and "order_id" in custom:
        event_id = custom["order_id"]
    if b.errors or name is None or source is None or when is None or asset is None:
        return Invalid(
            tuple(b.errors),
            tuple(b.warnings),
            name.value if name else None,
            event_id or None,
            tuple(payload["user_data"]),
        )
    if not event_id:
        event_id = derive_event_id(payload)
    payload["event_id"] = event_id
    payload["integration"] = spec.INTEGRATION
    return Event(
        file=file,
        line=line,
        asset_id=asset,
        action_source=source,
        event_name=name,
        event_id=event_id,
        event_time=when,
        payload=payload,
        warnings=tuple(b.warnings),
    )
