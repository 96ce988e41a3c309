"""Snap's Conversions API v3 as snapcapi speaks it: names, limits and every **(decision)** in one place.

Everything here comes from the project's API reference (Snap's public material, with the choices made where
that material is silent or contradicts itself). Code elsewhere imports these names instead of repeating a
literal, so changing a decision means changing one line.
"""

from __future__ import annotations

import difflib
import re
from enum import StrEnum
from functools import cache
from typing import Final

API_VERSION: Final = "v3"
DEFAULT_API_URL: Final = "https://tr.snapchat.com"
DEFAULT_OAUTH_URL: Final = "https://accounts.snapchat.com/login/oauth2/access_token"
INTEGRATION: Final = "snapcapi"

MAX_EVENTS_PER_REQUEST: Final = 2000
# (decision) Snap documents no byte limit; stay at or under 2 MB per request body.
MAX_BODY_BYTES: Final = 2 * 1024 * 1024
# Snap recommends staying under 1000 requests per second per token; keep well under it.
MAX_REQUESTS_PER_SECOND: Final = 200.0

# Age window of event_time, in seconds.
MAX_EVENT_AGE: Final = 37 * 24 * 3600
STALE_EVENT_AGE: Final = 7 * 24 * 3600  # older than this is accepted, with a warning
# (decision) allow 10 minutes of clock skew for events stamped in the future.
MAX_CLOCK_SKEW: Final = 10 * 60

# (decision) Snap's examples use seconds; milliseconds have been refused for offline events.
# Unix times above this are read as milliseconds on input (it is 2286-11-20 in seconds).
MILLISECONDS_THRESHOLD: Final = 10_000_000_000

# (decision) a phone number must be a *possible* number for its region (right length), not necessarily a
# currently allocated one: the metadata of allocated ranges ages, and Snap hashes what it is given.
PHONE_REQUIRE_VALID: Final = False

EXTINFO_LENGTH: Final = 16


class ActionSource(StrEnum):
    """Where the conversion happened; `action_source` in v3, `event_conversion_type` in v2."""

    WEB = "WEB"
    MOBILE_APP = "MOBILE_APP"
    OFFLINE = "OFFLINE"


class EventName(StrEnum):
    """Snap's predefined event names (v2 `event_type` and v3 `event_name` share the list)."""

    PAGE_VIEW = "PAGE_VIEW"
    VIEW_CONTENT = "VIEW_CONTENT"
    ADD_CART = "ADD_CART"
    ADD_TO_WISHLIST = "ADD_TO_WISHLIST"
    ADD_BILLING = "ADD_BILLING"
    START_CHECKOUT = "START_CHECKOUT"
    PURCHASE = "PURCHASE"
    SIGN_UP = "SIGN_UP"
    SEARCH = "SEARCH"
    SAVE = "SAVE"
    LOGIN = "LOGIN"
    LIST_VIEW = "LIST_VIEW"
    SUBSCRIBE = "SUBSCRIBE"
    START_TRIAL = "START_TRIAL"
    ACHIEVEMENT_UNLOCKED = "ACHIEVEMENT_UNLOCKED"
    LEVEL_COMPLETE = "LEVEL_COMPLETE"
    COMPLETE_TUTORIAL = "COMPLETE_TUTORIAL"
    SPENT_CREDITS = "SPENT_CREDITS"
    RATE = "RATE"
    INVITE = "INVITE"
    SHARE = "SHARE"
    RESERVE = "RESERVE"
    AD_CLICK = "AD_CLICK"
    AD_VIEW = "AD_VIEW"
    APP_INSTALL = "APP_INSTALL"
    APP_OPEN = "APP_OPEN"
    CUSTOM_EVENT_1 = "CUSTOM_EVENT_1"
    CUSTOM_EVENT_2 = "CUSTOM_EVENT_2"
    CUSTOM_EVENT_3 = "CUSTOM_EVENT_3"
    CUSTOM_EVENT_4 = "CUSTOM_EVENT_4"
    CUSTOM_EVENT_5 = "CUSTOM_EVENT_5"


# Names found in users' data, by the Snap name they stand for. Matching ignores case, spaces, `-` and `_`.
EVENT_ALIASES: Final[dict[EventName, tuple[str, ...]]] = {
    EventName.PURCHASE: ("Order Completed", "purchase"),
    EventName.ADD_CART: ("Product Added", "add_to_cart", "ADD_TO_CART"),
    EventName.ADD_TO_WISHLIST: ("Product Added to Wishlist", "add_to_wishlist"),
    EventName.ADD_BILLING: ("Payment Info Entered", "add_payment_info"),
    EventName.START_CHECKOUT: ("Checkout Started", "begin_checkout"),
    EventName.VIEW_CONTENT: ("Product Viewed", "view_item"),
    EventName.LIST_VIEW: ("Product List Viewed", "view_item_list"),
    EventName.SEARCH: ("Products Searched", "search"),
    EventName.SHARE: ("Product Shared", "share"),
    EventName.SIGN_UP: ("Signed Up", "sign_up"),
    EventName.LOGIN: ("Signed In", "login"),
    EventName.APP_INSTALL: ("Application Installed",),
    EventName.APP_OPEN: ("Application Opened",),
    EventName.PAGE_VIEW: ("page", "page_view"),
    EventName.COMPLETE_TUTORIAL: ("tutorial_complete",),
}

CUSTOM_EVENT_SLOTS: Final = tuple(name for name in EventName if name.startswith("CUSTOM_EVENT_"))


def fold(name: str) -> str:
    """The matching key of a column or event name: lower case, without spaces, `-` or `_`."""
    return _FOLD.sub("", name).lower()


_FOLD = re.compile(r"[\s_\-]+")

_EVENT_LOOKUP: Final[dict[str, EventName]] = {fold(name.value): name for name in EventName} | {
    fold(alias): name for name, aliases in EVENT_ALIASES.items() for alias in aliases
}


def lookup_event_name(raw: str, extra: dict[str, EventName] | None = None) -> EventName | None:
    """Return the Snap event name `raw` stands for, through the aliases and `extra` (user names), or None."""
    key = fold(raw)
    if extra and key in extra:
        return extra[key]
    return _EVENT_LOOKUP.get(key)


def closest_event_name(raw: str) -> EventName | None:
    """Return the predefined name closest in spelling to `raw`, if any is reasonably close."""
    key = fold(raw)
    match = difflib.get_close_matches(key, list(_EVENT_LOOKUP), n=1, cutoff=0.6)
    return _EVENT_LOOKUP[match[0]] if match else None


@cache
def currency_codes() -> frozenset[str]:
    """The upper-case ISO 4217 codes a PURCHASE `currency` may be: pycountry's list of ISO 4217 without the
    funds, precious metals and test codes, with the codes withdrawn lately that files still carry. Loaded
    when first asked for (importing pycountry takes a tenth of a second)."""
    import pycountry

    return frozenset(c.alpha_3 for c in pycountry.currencies) - _NOT_MONEY | _WITHDRAWN


# ISO 4217 lists, beside currencies, units that are no price: funds (BOV ... UYI), metals (XAU ...), the
# SDR and its kin, and the test and "no currency" codes.
_NOT_MONEY: Final = frozenset(
    "BOV CHE CHW CLF COU MXV USN UYI XAD XAG XAU XBA XBB XBC XBD XDR XPD XPT XSU XTS XUA XXX".split()
)
# Withdrawn in 2024-2026 (ANG for XCG, BGN for the euro, SLL for SLE, ZWL for ZWG) and still accepted:
# data exported before the change carries them, and refusing them would refuse whole files.
_WITHDRAWN: Final = frozenset({"ANG", "BGN", "SLL", "ZWL"})

# (decision) MOBILE_APP events whose input does not say whether the user allowed tracking are sent as not
# allowed (0): claiming consent that was never recorded is the worse mistake.
DEFAULT_ADVERTISER_TRACKING_ENABLED: Final = 0


def extinfo_platform(app_id: str) -> str:
    """(decision) The `extinfo` platform when the input does not say: `i2` (iOS) for a numeric store id,
    `a2` (Android) otherwise."""
    return "i2" if app_id.isdigit() else "a2"


# Identifiers that make an event matchable on their own (v3 keys); otherwise both of MATCHABLE_PAIR.
MATCHABLE_ALONE: Final = ("em", "ph", "madid")
MATCHABLE_PAIR: Final = ("client_ip_address", "client_user_agent")
