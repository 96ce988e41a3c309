"""Segment `track` and `page` events, read the way Segment's Snap Conversions API destination maps them;
`identify`, `group` and `alias` calls, which are not events, recognized so that they can be skipped.

The destination's default paths: identifiers from `properties` first, then `traits` (top level or under
`context`); device identifiers and the user agent from `context`; the event time from `timestamp`; the
dedup id from `messageId`; e-commerce values from `properties` (Segment's e-commerce spec).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_SEGMENT_TYPES = frozenset({"track", "page", "screen"})


def is_segment_event(data: Mapping[str, Any]) -> bool:
    """Return True when a JSON row is a Segment call (a `type` of track/page/screen with Segment's keys)."""
    kind = data.get("type")
    return (
        isinstance(kind, str)
        and kind.lower() in _SEGMENT_TYPES
        and any(key in data for key in ("event", "properties", "context", "messageId"))
    )


# Segment calls that say who someone is or what group they are in, not what they did: Segment's Snap
# destination sends none of them, and snapcapi skips them rather than make events of them.
_NOT_EVENTS = frozenset({"identify", "group", "alias"})
_SEGMENT_KEYS = ("messageId", "userId", "anonymousId", "traits", "groupId", "previousId", "context")


def segment_non_event(data: Mapping[str, Any]) -> str | None:
    """Return why a JSON row is skipped when it is a Segment `identify`, `group` or `alias` call (a `type`
    of one of those, with Segment's keys); None for any other row."""
    kind = data.get("type")
    if not isinstance(kind, str) or kind.lower() not in _NOT_EVENTS:
        return None
    if not any(key in data for key in _SEGMENT_KEYS):
        return None
    return (
        f"a Segment {kind.lower()} call, not an event: Snap takes events (Segment's track, page and"
        " screen calls)"
    )


def _get(data: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(part)
    return data


def _first(*values: Any) -> Any:
    for value in values:
        if value is not None and value != "" and value != {} and value != []:
            return value
    return None


def flatten_segment(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return a Segment call's values under snapcapi's canonical field names (absent values left out)."""
    props = _get(data, "properties") or {}
    context = _get(data, "context") or {}
    traits = _first(_get(data, "traits"), _get(context, "traits")) or {}
    kind = str(data.get("type", "")).lower()
    products = props.get("products") if isinstance(props, Mapping) else None
    product_ids = (
        [str(p["product_id"]) for p in products if isinstance(p, Mapping) and p.get("product_id") is not None]
        if isinstance(products, list)
        else None
    )
    contents = (
        [
            {"id": str(p.get("product_id", "")), "quantity": p.get("quantity"), "item_price": p.get("price")}
            for p in products
            if isinstance(p, Mapping)
        ]
        if isinstance(products, list)
        else None
    )
    flat: dict[str, Any] = {
        "event_name": "page" if kind == "page" else data.get("event"),
        "event_time": _first(data.get("timestamp"), data.get("originalTimestamp"), data.get("sentAt")),
        "event_id": data.get("messageId"),
        "email": _first(_get(props, "email"), _get(traits, "email")),
        "phone": _first(_get(props, "phone"), _get(traits, "phone")),
        "first_name": _get(traits, "first_name") or _get(traits, "firstName"),
        "last_name": _get(traits, "last_name") or _get(traits, "lastName"),
        "city": _get(traits, "address", "city"),
        "state": _get(traits, "address", "state"),
        "zip": _get(traits, "address", "postal_code"),
        "country": _get(traits, "address", "country"),
        "madid": _get(context, "device", "advertisingId"),
        "idfv": _get(context, "device", "id"),
        "user_agent": _get(context, "userAgent"),
        "ip_address": _get(context, "ip"),
        "event_source_url": _first(
            _get(context, "page", "url"), _get(props, "url") if kind == "page" else None
        ),
        "content_category": _get(props, "category"),
        "content_ids": _first(_get(props, "product_id"), product_ids),
        "contents": contents,
        "num_items": _get(props, "quantity"),
        "value": _first(
            _get(props, "price"), _get(props, "value"), _get(props, "revenue"), _get(props, "total")
        ),
        "currency": _get(props, "currency"),
        "order_id": _get(props, "order_id"),
        "search_string": _get(props, "query"),
        "sign_up_method": _get(props, "sign_up_method"),
        "app_id": _get(context, "app", "namespace"),
    }
    return {key: value for key, value in flat.items() if value is not None and value != ""}
