"""The data of an event besides who and when: `custom_data`, `app_data` and `data_processing_options`.

Read from a row's canonical values by `DataParts`, which `events._Builder` builds on: each problem is
noted with `error` (by field) rather than raised, so that a row's every mistake shows at once.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from snapcapi import spec
from snapcapi.model import Problem
from snapcapi.spec import EventName

_TRUE = frozenset({"1", "true", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "no", "n", "off"})


def split_list(value: Any) -> list[Any]:
    """Return a list field's values: a JSON list (or its text) as is, a string split on `|` or `,`, blanks
    dropped."""
    if type(value) is str and "|" not in value and "," not in value and "[" not in value:
        value = value.strip()  # one value: the common case
        return [value] if value else []
    if isinstance(value, str) and value.lstrip().startswith("["):
        value = _json_or(value, value)
    if isinstance(value, list):
        return [v for v in value if v is not None and str(v).strip()]
    text = str(value)
    separator = "|" if "|" in text else ","
    return [part.strip() for part in text.split(separator) if part.strip()]


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


class DataParts:
    """Builds the data parts of one row's event from `values`, noting problems in `errors`."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values
        self.errors: list[Problem] = []

    def error(self, name: str, message: str) -> None:
        """Note a problem with field `name`."""
        self.errors.append(Problem(name, message))

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
            if currency in spec.currency_codes():
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

    def app_data(self, default_app_id: str | None) -> dict[str, Any] | None:
        app_id = str(self.values.get("app_id") or default_app_id or "").strip()
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
