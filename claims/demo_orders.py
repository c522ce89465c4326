"""The demo orders seeded into a fresh database, so the app can be tried without importing anything.

Delivery dates are relative to the seeding time, so DEMO-1001 is always fresh enough to auto-approve and
DEMO-1004 is always outside the claim window. Every demo order belongs to `demo@example.com`.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from claims.models import Order, utcnow

DEMO_EMAIL = "demo@example.com"

# order id, item, sku, category, value (EUR), days since delivery, in stock, stock count, note
_DEMO_ROWS: tuple[tuple[str, str, str, str, float, int, bool, int, str], ...] = (
    ("DEMO-1001", "Bamboo cutting board", "KIT-0042", "kitchen", 24.90, 2, True, 40, "low value, in stock"),
    ("DEMO-1002", "Hand-glazed ceramic vase", "HOM-0107", "ceramics_glass", 59.00, 3, True, 12, "fragile"),
    ("DEMO-1003", "Smartphone X12 128 GB", "ELE-0900", "electronics", 749.00, 1, True, 5, "over the limit"),
    ("DEMO-1004", "Wool throw blanket", "HOM-0311", "textiles", 39.50, 60, True, 20, "outside window"),
    ("DEMO-1005", "Espresso cup set (6)", "KIT-0210", "ceramics_glass", 34.00, 4, False, 0, "out of stock"),
    ("DEMO-1006", "Wireless headphones", "ELE-0450", "electronics", 129.00, 5, True, 8, "mid value"),
    ("DEMO-1007", "Hardback cookbook", "BOK-0019", "books", 29.95, 1, True, 25, "packaging damage"),
    ("DEMO-1008", "Glass table lamp", "HOM-0520", "ceramics_glass", 89.00, 10, False, 0, "fragile, out of stock"),
    ("DEMO-1009", "Stainless kettle", "KIT-0330", "kitchen", 45.00, 25, True, 14, "near the window end"),
    ("DEMO-1010", "Oak side table", "FUR-0077", "furniture", 219.00, 7, True, 3, "just under the limit"),
)

DEMO_ORDER_IDS: tuple[str, ...] = tuple(row[0] for row in _DEMO_ROWS)


def demo_orders(now: datetime | None = None) -> list[Order]:
    """The demo orders, with delivery dates counted back from `now`."""
    now = now or utcnow()
    orders = []
    for order_id, item, sku, category, value, days, in_stock, stock, _note in _DEMO_ROWS:
        delivered = now - timedelta(days=days)
        orders.append(
            Order(
                order_id=order_id,
                email=DEMO_EMAIL,
                customer_name="Demo Customer",
                item_name=item,
                sku=sku,
                category=category,
                value=value,
                currency="EUR",
                ordered_at=delivered - timedelta(days=3),
                delivered_at=delivered,
                in_stock=in_stock,
                stock_count=stock,
            )
        )
    return orders


def seed(store, now: datetime | None = None, *, force: bool = False) -> int:
    """Add the demo orders to `store` (once per database; again with force, refreshing their dates).

    Only `claimbot seed-demo` and `claimbot serve --demo` call this: the demo customer's address is public,
    so a real deployment must never hold these orders."""
    now = now or utcnow()
    return store.seed_orders(demo_orders(now), now=now, force=force)


# --- CSV import ----------------------------------------------------------------------------------

CSV_REQUIRED_COLUMNS = ("order_id", "email", "item_name", "value")
CSV_OPTIONAL_COLUMNS = (
    "customer_name",
    "sku",
    "category",
    "currency",
    "ordered_at",
    "delivered_at",
    "in_stock",
    "stock_count",
)
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}
_MAX_REPORTED_ERRORS = 20


class OrdersFileError(ValueError):
    """The CSV file cannot be imported; `errors` lists (line number, message) of every bad row."""

    def __init__(self, message: str, errors: list[tuple[int, str]] | None = None):
        self.errors = errors or []
        lines = [message] + [f"  line {n}: {msg}" for n, msg in self.errors[:_MAX_REPORTED_ERRORS]]
        if len(self.errors) > _MAX_REPORTED_ERRORS:
            lines.append(f"  ... and {len(self.errors) - _MAX_REPORTED_ERRORS} more bad rows")
        super().__init__("\n".join(lines))


def _parse_time(value: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _parse_bool(value: str) -> bool:
    value = value.strip().lower()
    if value in _TRUE or value == "":  # a missing in_stock means in stock
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"in_stock must be true or false, not {value!r}")


def _order_from_row(row: dict[str, str]) -> Order:
    from claims.models import normalize_email, normalize_order_id

    fields: dict = {
        "order_id": normalize_order_id(row["order_id"]),
        "email": normalize_email(row["email"]),
        "item_name": row["item_name"].strip(),
        "value": float(row["value"]),
        "customer_name": (row.get("customer_name") or "").strip(),
        "sku": (row.get("sku") or "").strip(),
        "category": (row.get("category") or "").strip(),
        "currency": (row.get("currency") or "EUR").strip().upper() or "EUR",
        "ordered_at": _parse_time(row.get("ordered_at") or ""),
        "delivered_at": _parse_time(row.get("delivered_at") or ""),
        "in_stock": _parse_bool(row.get("in_stock") or ""),
        "stock_count": int((row.get("stock_count") or "0").strip() or 0),
    }
    if not fields["item_name"]:
        raise ValueError("item_name is empty")
    if not math.isfinite(fields["value"]):
        raise ValueError("value must be a finite number")
    return Order(**fields)


def read_orders_csv(path) -> list[Order]:
    """Parse and validate a whole orders CSV; raise OrdersFileError naming every bad line.

    Nothing is returned unless every row is valid, so an import is never partial.
    """
    import csv
    from pathlib import Path

    from pydantic import ValidationError

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise OrdersFileError(f"cannot read {path}: {exc}") from exc
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in CSV_REQUIRED_COLUMNS if c not in header]
    if missing:
        raise OrdersFileError(
            f"{path.name}: missing column(s) {', '.join(missing)}; required: {', '.join(CSV_REQUIRED_COLUMNS)}"
        )
    reader.fieldnames = header
    orders: list[Order] = []
    errors: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if None in row:  # more cells than header columns
            errors.append((line, "more values than columns"))
            continue
        row = {k: (v or "") for k, v in row.items()}
        try:
            order = _order_from_row(row)
        except ValidationError as exc:
            errors.append((line, "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())))
            continue
        except (ValueError, TypeError) as exc:
            errors.append((line, str(exc)))
            continue
        if order.order_id in seen:
            errors.append((line, f"order {order.order_id} already appears on line {seen[order.order_id]}"))
            continue
        seen[order.order_id] = line
        orders.append(order)
    if errors:
        raise OrdersFileError(f"{path.name}: {len(errors)} bad row(s); nothing was imported", errors)
    if not orders:
        raise OrdersFileError(f"{path.name}: no orders found")
    return orders
