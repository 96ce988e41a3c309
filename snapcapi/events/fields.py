"""The canonical input fields of CLI.md and the column names accepted for each.

A column matches a field when its folded name (lower case, without spaces, `-` and `_`; `spec.fold`) is the
field's own name or one of its aliases. Aliases include every version-2 name of Snap's API reference and
the v3 wire keys, so exports made for either version map without a mapping file.
"""

from __future__ import annotations

from typing import Final

from snapcapi.spec import fold

# The fields, in the order reports list them.
FIELDS: Final = (
    "event_name",
    "event_time",
    "action_source",
    "event_id",
    "event_source_url",
    "email",
    "phone",
    "first_name",
    "last_name",
    "gender",
    "date_of_birth",
    "city",
    "state",
    "zip",
    "country",
    "external_id",
    "ip_address",
    "user_agent",
    "sc_click_id",
    "sc_cookie1",
    "madid",
    "idfv",
    "value",
    "currency",
    "order_id",
    "content_ids",
    "content_category",
    "num_items",
    "search_string",
    "sign_up_method",
    "brands",
    "contents",
    "app_id",
    "advertiser_tracking_enabled",
    "extinfo",
    "data_processing_options",
)

# Fields that take several values: a JSON list, or a string split on `|` or `,`.
LIST_FIELDS: Final = frozenset({"email", "phone", "external_id", "content_ids", "brands"})

_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    # v2 names first on each line, then v3 wire keys, then names common in CRM and analytics exports.
    "event_name": ("event_type", "event", "event_name", "conversion_event"),
    "event_time": (
        "timestamp",
        "event_timestamp",
        "time",
        "event_date",
        "occurred_at",
        "ts",
        "date",
        "datetime",
        "date_time",
        "order_date",
        "purchase_date",
        "transaction_date",
        "created_at",
        "created",
        "created (utc)",
        "created date (utc)",
        "conversion_time",
        "paid_at",
        "sale_date",
    ),
    "action_source": ("event_conversion_type", "conversion_type"),
    "event_id": ("client_dedup_id", "dedup_id", "message_id", "messageid"),
    "event_source_url": ("page_url", "url", "source_url"),
    "email": (
        "hashed_email",
        "em",
        "email_address",
        "e_mail",
        "mail",
        "emails",
        "customer_email",
        "billing_email",
        "email (billing)",
        "user_email",
        "contact_email",
        "buyer_email",
    ),
    "phone": (
        "hashed_phone_number",
        "ph",
        "phone_number",
        "mobile",
        "mobile_phone",
        "telephone",
        "tel",
        "mobile_number",
        "cell",
        "cell_phone",
        "customer_phone",
        "billing_phone",
        "phone (billing)",
        "contact_phone",
    ),
    "first_name": ("fn", "firstname", "given_name", "forename", "billing_first_name", "first"),
    "last_name": ("ln", "lastname", "surname", "family_name", "billing_last_name", "last"),
    "gender": ("ge", "sex"),
    "date_of_birth": ("db", "dob", "birth_date", "birthdate", "birthday"),
    "city": ("ct", "town"),
    "state": ("st", "region", "province", "state_code"),
    "zip": ("zp", "zip_code", "zipcode", "postal_code", "postcode", "postalcode", "billing_zip", "plz"),
    "country": ("country_code", "countrycode", "billing_country"),
    "external_id": ("external_ids", "customer_id", "user_id", "userid", "crm_id"),
    "ip_address": ("client_ip_address", "ip", "hashed_ip_address"),
    "user_agent": ("client_user_agent", "ua", "useragent"),
    "sc_click_id": ("click_id", "sccid", "scclickid"),
    "sc_cookie1": ("uuid_c1", "scid", "_scid", "sc_cookie"),
    "madid": ("hashed_mobile_ad_id", "mobile_ad_id", "idfa", "aaid", "gaid", "advertising_id", "maid"),
    "idfv": ("vendor_id",),
    "value": (
        "price",
        "revenue",
        "amount",
        "order_value",
        "total",
        "order_total",
        "conversion_value",
        "total_amount",
        "grand_total",
        "sale_amount",
    ),
    "currency": ("currency_code", "conversion_currency", "order_currency"),
    "order_id": ("transaction_id", "order_number", "order", "order_no", "order #", "invoice_number"),
    "content_ids": ("item_ids", "product_ids", "content_id", "item_id", "product_id", "sku", "skus"),
    "content_category": ("item_category", "category", "product_category"),
    "num_items": ("number_items", "quantity", "items", "num_item"),
    "search_string": ("search_term", "query", "search"),
    "sign_up_method": ("signup_method",),
    "brands": ("brand",),
    "contents": (),
    "app_id": ("app_store_id", "package_name", "bundle_id"),
    "advertiser_tracking_enabled": ("ate", "tracking_enabled", "att"),
    "extinfo": ("ext_info",),
    "data_processing_options": ("dpo", "ldu"),
}

COLUMN_LOOKUP: Final[dict[str, str]] = {fold(name): name for name in FIELDS} | {
    fold(alias): name for name, aliases in _ALIASES.items() for alias in aliases
}


def field_for_column(column: str) -> str | None:
    """Return the canonical field a column name stands for, or None when it matches none."""
    return COLUMN_LOOKUP.get(fold(column))


def aliases(name: str) -> tuple[str, ...]:
    """Return the accepted column names of a canonical field (without the field's own name)."""
    return _ALIASES[name]
