"""The only package that touches SQLite. `Store` is one connection with one part per aggregate:

    _base      connection, lock, transactions (BEGIN IMMEDIATE), migrations from migrations/*.sql
    _orders    orders
    _claims    claims (status changes by compare-and-set), photos, thread, labels, idempotency records
    _payouts   refund/replacement workflows, outbox, ledger (money guarded by schema constraints)
    _accounts  reviewer accounts and login attempts
    _audit     the append-only audit trail and review locks

SQL lives here and nowhere else, so a second database backend touches this package alone.
"""

from __future__ import annotations

from pathlib import Path

from claims.store._accounts import AccountsTable
from claims.store._audit import AuditTable
from claims.store._base import MIGRATIONS, SCHEMA_VERSION, SchemaTooNew, iso, parse_time
from claims.store._claims import ClaimsTable, StaleClaim
from claims.store._orders import OrdersTable
from claims.store._payouts import PayoutRefused, PayoutsTable


class Store(OrdersTable, ClaimsTable, PayoutsTable, AccountsTable, AuditTable):
    """The claim store. Open with `Store.open(path)` (":memory:" for tests); close with `close()`.

    A new database starts empty: demo orders are added only on request (`claims.demo_orders.seed`)."""

    @classmethod
    def open(cls, path: str | Path = ":memory:") -> Store:
        return cls(path)

    def __enter__(self) -> Store:
        return self


__all__ = ["MIGRATIONS", "PayoutRefused", "SCHEMA_VERSION", "SchemaTooNew", "StaleClaim", "Store", "iso", "parse_time"]
