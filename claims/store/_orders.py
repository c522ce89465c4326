"""Orders: imported from CSV (or the demo set, only when asked), read by intake and workflows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from claims.models import Order, utcnow
from claims.store._base import Database, iso


class OrdersTable(Database):
    @staticmethod
    def _order_row(order: Order, source: str) -> dict:
        row = order.model_dump()
        row["ordered_at"] = iso(order.ordered_at)
        row["delivered_at"] = iso(order.delivered_at)
        row["in_stock"] = int(order.in_stock)
        row["source"] = source
        row["updated_at"] = iso(utcnow())
        return row

    def upsert_orders(self, orders: Iterable[Order], *, source: str = "import") -> int:
        rows = [self._order_row(order, source) for order in orders]
        with self.transaction():
            self.db["orders"].upsert_all(rows, pk="order_id")  # type: ignore[union-attr]
        return len(rows)

    def get_order(self, order_id: str) -> Order | None:
        row = self._one("SELECT * FROM orders WHERE order_id = ?", [order_id])
        if row is None:
            return None
        row.pop("source")
        row.pop("updated_at")
        row["in_stock"] = bool(row["in_stock"])
        return Order(**row)

    def count_orders(self) -> int:
        return int(self._scalar("SELECT count(*) FROM orders"))

    def seed_orders(self, orders: Iterable[Order], *, now: datetime, force: bool = False) -> int:
        """Insert the demo orders once per database (or again with force, refreshing their dates)."""
        with self.transaction():
            if self.get_meta("demo_seeded_at") and not force:
                return 0
            count = self.upsert_orders(orders, source="demo")
            self.set_meta("demo_seeded_at", iso(now) or "")
        return count

    def take_one_from_stock(self, order_id: str) -> bool:
        """Decrement a counted stock by one (marking the item out of stock at zero); False if none is left."""
        return (
            self._execute(
                "UPDATE orders SET stock_count = stock_count - 1, in_stock = (stock_count > 1), updated_at = ? "
                "WHERE order_id = ? AND in_stock = 1 AND stock_count > 0",
                [iso(utcnow()), order_id],
            )
            == 1
        )
