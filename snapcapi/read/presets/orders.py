"""Shop order exports: Shopify's orders export and WooCommerce's (the Advanced Order Export plugin's
default columns, and the Customer/Order CSV Export's `snake_case` ones).

Both write one row per line item: Shopify fills the order's own fields on its first row only, WooCommerce
repeats them. Either way the rows of one order are one PURCHASE event: its fields from the order's first
row, `num_items` the sum of the quantities, `content_ids` the SKUs, and `contents` each item's id,
quantity and price. The order's other rows end `skipped` ("folded into order #1001"). An order that did
not complete (cancelled, refunded, voided, failed, or not paid yet) is skipped with the reason, each of
its rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from snapcapi.model import Row
from snapcapi.read.presets.base import Columns, Context, Prepared, Preset, address, put, split_name

# Shopify's `Financial Status` values that are not a completed sale.
_SHOPIFY_NOT_PAID = {
    "refunded": "refunded",
    "voided": "voided",
    "pending": "not paid yet (pending)",
    "authorized": "not paid yet (authorized, not captured)",
    "expired": "payment expired",
}
# WooCommerce order statuses: `completed` and `processing` are paid orders (processing: paid, not shipped).
_WOO_PAID = frozenset({"completed", "processing"})


def _shopify_matches(cols: Columns) -> bool:
    return cols.has("Name", "Financial Status", "Lineitem quantity") and cols.any("Paid at", "Created at")


def _woo_matches(cols: Columns) -> bool:
    algolplus = cols.has("Order Number", "Order Status") and cols.any("Email (Billing)", "Order Total Amount")
    skyverge = cols.has("order_number", "status", "billing_email") and cols.any("order_total", "order_date")
    return algolplus or skyverge


def _shopify_order(cols: Columns, data: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The order's fields from its first row, and why it is skipped (None when it is a sale)."""
    values: dict[str, Any] = {}
    put(values, "order_id", cols.first(data, "Name"))
    put(values, "event_time", cols.first(data, "Paid at", "Created at"))
    put(values, "value", cols.first(data, "Total"))
    put(values, "currency", cols.first(data, "Currency"))
    put(values, "email", cols.first(data, "Email"))
    put(values, "phone", cols.first(data, "Phone", "Billing Phone", "Shipping Phone"))
    first, last = split_name(cols.first(data, "Billing Name", "Shipping Name"))
    put(values, "first_name", first)
    put(values, "last_name", last)
    address(values, cols, data, ("Billing {}", "Shipping {}"))
    status = (cols.first(data, "Financial Status") or "").lower()
    if cols.first(data, "Cancelled at"):
        return values, "cancelled order"
    if status in _SHOPIFY_NOT_PAID:
        return values, f"{_SHOPIFY_NOT_PAID[status]} order"
    return values, None


def _woo_order(cols: Columns, data: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    values: dict[str, Any] = {}
    put(values, "order_id", cols.first(data, "Order Number", "order_number", "Order ID", "order_id"))
    put(values, "event_time", cols.first(data, "Paid Date", "paid_date", "Order Date", "order_date"))
    put(values, "value", cols.first(data, "Order Total Amount", "order_total", "Order Total"))
    put(values, "currency", cols.first(data, "Order Currency", "Currency", "order_currency"))
    put(values, "email", cols.first(data, "Email (Billing)", "billing_email", "Customer Email"))
    put(values, "phone", cols.first(data, "Phone (Billing)", "billing_phone", "Phone (Shipping)"))
    first = cols.first(data, "First Name (Billing)", "billing_first_name")
    last = cols.first(data, "Last Name (Billing)", "billing_last_name")
    if first is None and last is None:
        first, last = split_name(cols.first(data, "Full Name (Billing)", "Customer Name"))
    put(values, "first_name", first)
    put(values, "last_name", last)
    address(values, cols, data, ("{} (Billing)", "billing_{}", "{} (Shipping)", "shipping_{}"))
    status = (cols.first(data, "Order Status", "status") or "").lower().removeprefix("wc-")
    if status and status not in _WOO_PAID:
        return values, f"{status} order" if status != "cancelled" else "cancelled order"
    return values, None


def _item(
    cols: Columns, data: Mapping[str, Any], names: tuple[tuple[str, ...], ...]
) -> dict[str, Any] | None:
    """A line item's id (SKU, else name), quantity and price, or None for a row with no item."""
    sku_names, name_names, quantity_names, price_names = names
    item_id = cols.first(data, *sku_names) or cols.first(data, *name_names)
    if item_id is None:
        return None
    item: dict[str, Any] = {"id": item_id}
    put(item, "quantity", cols.first(data, *quantity_names))
    put(item, "item_price", cols.first(data, *price_names))
    return item


_SHOPIFY_ITEM = (("Lineitem sku",), ("Lineitem name",), ("Lineitem quantity",), ("Lineitem price",))
_WOO_ITEM = (
    ("SKU", "sku", "item_sku"),
    ("Item Name", "item_name", "Product Name"),
    ("Quantity (- Refund)", "Quantity", "Qty", "item_quantity"),
    ("Item Cost", "item_price", "Item Price"),
)


def _fold_orders(
    order_of: Callable[[Columns, Mapping[str, Any]], tuple[dict[str, Any], str | None]],
    key_names: tuple[str, ...],
    item_names: tuple[tuple[str, ...], ...],
) -> Callable[[Iterator[Row], Context], Iterator[Prepared]]:
    def prepare(rows: Iterator[Row], context: Context) -> Iterator[Prepared]:
        cols = Columns(context.columns)
        group: list[Row] = []
        key: str | None = None
        for row in rows:
            if row.error is not None:
                yield from _order(cols, group, order_of, item_names)
                group, key = [], None
                yield Prepared(row, None)
                continue
            row_key = cols.first(row.data, *key_names)
            if group and row_key is not None and row_key != key:
                yield from _order(cols, group, order_of, item_names)
                group = []
            if not group:
                key = row_key
            group.append(row)
        yield from _order(cols, group, order_of, item_names)

    return prepare


def _order(
    cols: Columns,
    rows: list[Row],
    order_of: Callable[[Columns, Mapping[str, Any]], tuple[dict[str, Any], str | None]],
    item_names: tuple[tuple[str, ...], ...],
) -> Iterator[Prepared]:
    if not rows:
        return
    first = rows[0]
    values, not_sold = order_of(cols, first.data)
    order = values.get("order_id") or f"of line {first.line}"
    items = [item for row in rows if (item := _item(cols, row.data, item_names)) is not None]
    if items:
        values["content_ids"] = [item["id"] for item in items]
        values["contents"] = items
        quantities = [item.get("quantity") for item in items]
        if all(isinstance(q, str) and q.isdigit() for q in quantities):
            values["num_items"] = str(sum(int(str(q)) for q in quantities))
    if not_sold is not None:
        yield Prepared(first, None, f"order not completed: {not_sold} {order}, not sent")
        for row in rows[1:]:
            yield Prepared(row, None, f"order not completed: a line item of {not_sold} {order}")
        return
    yield Prepared(first, values)
    for row in rows[1:]:
        yield Prepared(row, None, f"folded into its order: a line item of order {order} (line {first.line})")


SHOPIFY = Preset(
    name="shopify",
    title="a Shopify orders export",
    matches=_shopify_matches,
    prepare=_fold_orders(_shopify_order, ("Name",), _SHOPIFY_ITEM),
    decides=("Financial Status", "Cancelled at"),
    columns={
        "order_id": ("Name",),
        "event_time": ("Paid at", "Created at"),
        "value": ("Total",),
        "currency": ("Currency",),
        "email": ("Email",),
        "phone": ("Phone", "Billing Phone", "Shipping Phone"),
        "first_name": ("Billing Name", "Shipping Name"),
        "last_name": ("Billing Name", "Shipping Name"),
        "city": ("Billing City", "Shipping City"),
        "state": ("Billing Province", "Shipping Province"),
        "zip": ("Billing Zip", "Shipping Zip"),
        "country": ("Billing Country", "Shipping Country"),
        "content_ids": ("Lineitem sku", "Lineitem name"),
        "num_items": ("Lineitem quantity",),
        "contents": ("Lineitem sku", "Lineitem quantity", "Lineitem price"),
    },
)

WOOCOMMERCE = Preset(
    name="woocommerce",
    title="a WooCommerce orders export",
    matches=_woo_matches,
    prepare=_fold_orders(_woo_order, ("Order Number", "order_number", "Order ID", "order_id"), _WOO_ITEM),
    decides=("Order Status", "status"),
    columns={
        "order_id": ("Order Number", "order_number"),
        "event_time": ("Paid Date", "Order Date", "order_date"),
        "value": ("Order Total Amount", "order_total"),
        "currency": ("Order Currency", "Currency", "order_currency"),
        "email": ("Email (Billing)", "billing_email"),
        "phone": ("Phone (Billing)", "billing_phone", "Phone (Shipping)"),
        "first_name": ("First Name (Billing)", "billing_first_name"),
        "last_name": ("Last Name (Billing)", "billing_last_name"),
        "city": ("City (Billing)", "billing_city", "City (Shipping)"),
        "state": ("State Code (Billing)", "billing_state", "State Code (Shipping)"),
        "zip": ("Postcode (Billing)", "billing_postcode", "Postcode (Shipping)"),
        "country": ("Country Code (Billing)", "billing_country", "Country Code (Shipping)"),
        "content_ids": ("SKU", "Item Name"),
        "num_items": ("Quantity (- Refund)", "Quantity"),
        "contents": ("SKU", "Quantity (- Refund)", "Item Cost"),
    },
)
