"""Payouts: refund and replacement workflows, the outbox that carries their instructions, and the ledger.

The schema (migration 0002) guards the money, whatever the code above does: one live workflow per claim,
an automatic payout only on an order without one, refunds on an order never above its value. Those
refusals arrive here as sqlite3.IntegrityError and leave as PayoutRefused with a sentence to show.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime

from claims.errors import InvalidAction
from claims.store._base import Database, dumps, iso, parse_time


class PayoutRefused(InvalidAction):
    """The database refused a payout (a second one on the order, or more than the order's value)."""

    code = "payout_refused"

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


_REFUSALS = {
    "payout_exists": "This order already has a refund or replacement under way or done; only a reviewer "
    "may approve another.",
    "refund_exceeds_order_value": "The refunds on this order would add up to more than its value.",
    "one_live_workflow_per_claim": "A refund or replacement is already under way for this claim.",
}


def _refusal(error: sqlite3.IntegrityError) -> PayoutRefused:
    text = str(error)
    for reason, message in _REFUSALS.items():
        if reason in text or (reason == "one_live_workflow_per_claim" and "workflows.claim_id" in text):
            return PayoutRefused(message, reason)
    raise error


class PayoutsTable(Database):
    def workflows_for_claims(self, claim_ids: Iterable[str]) -> list[dict]:
        return self._query_in("SELECT * FROM workflows WHERE claim_id IN ({marks}) ORDER BY id", claim_ids)

    def live_payouts_on_order(self, order_id: str) -> list[dict]:
        return self._query("SELECT * FROM workflows WHERE order_id = ? AND state != 'failed' ORDER BY id", [order_id])

    def create_workflow(
        self,
        claim_id: str,
        kind: str,
        *,
        state: str,
        now: datetime,
        order_id: str,
        amount: float | None,
        authorised_by: str,
    ) -> int:
        try:
            return self._insert(
                "workflows",
                {
                    "claim_id": claim_id,
                    "kind": kind,
                    "state": state,
                    "reason": "",
                    "order_id": order_id,
                    "amount": amount,
                    "authorised_by": authorised_by,
                    "created_at": iso(now),
                    "updated_at": iso(now),
                },
            )
        except sqlite3.IntegrityError as exc:
            raise _refusal(exc) from None

    def get_workflow(self, workflow_id: int) -> dict | None:
        return self._one("SELECT * FROM workflows WHERE id = ?", [workflow_id])

    def workflows_in_state(self, states: Iterable[str]) -> list[dict]:
        return self._query_in("SELECT * FROM workflows WHERE state IN ({marks}) ORDER BY id", states)

    def move_workflow(self, workflow_id: int, *, from_state: str, to_state: str, reason: str, now: datetime) -> bool:
        """Compare-and-set of a workflow's state: False (and no change) unless it is still in `from_state`."""
        try:
            return (
                self._execute(
                    "UPDATE workflows SET state = ?, reason = ?, updated_at = ? WHERE id = ? AND state = ?",
                    [to_state, reason, iso(now), workflow_id, from_state],
                )
                == 1
            )
        except sqlite3.IntegrityError as exc:
            raise _refusal(exc) from None

    # --- outbox ----------------------------------------------------------------------------------

    def enqueue_outbox(self, workflow_id: int, *, idempotency_key: str, payload: dict, now: datetime) -> bool:
        """Add an outgoing message; False if one with this key already exists (a repeat is a no-op)."""
        return (
            self._execute(
                "INSERT INTO outbox (workflow_id, idempotency_key, payload, state, attempts, next_attempt_at, "
                "created_at) VALUES (?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING",
                [workflow_id, idempotency_key, dumps(payload), iso(now), iso(now)],
            )
            == 1
        )

    def outbox_rows(self, *, state: str | None = None) -> list[dict]:
        if state is None:
            return self._query("SELECT * FROM outbox ORDER BY id")
        return self._query("SELECT * FROM outbox WHERE state = ? ORDER BY id", [state])

    def get_outbox(self, outbox_id: int) -> dict | None:
        return self._one("SELECT * FROM outbox WHERE id = ?", [outbox_id])

    def get_outbox_by_key(self, idempotency_key: str) -> dict | None:
        return self._one("SELECT * FROM outbox WHERE idempotency_key = ?", [idempotency_key])

    def due_outbox(self, now: datetime, *, limit: int = 50) -> list[dict]:
        return self._query(
            "SELECT * FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id "
            "LIMIT ?",
            [iso(now), limit],
        )

    def next_outbox_due_at(self) -> datetime | None:
        return parse_time(self._scalar("SELECT min(next_attempt_at) FROM outbox WHERE state = 'pending'"))

    def lease_outbox(self, outbox_id: int, *, now: datetime, until: datetime) -> bool:
        """Take a due pending message for one delivery attempt (counted now, so a crash still counts it).

        Compare-and-set: of two dispatchers racing for one row, one wins; the lease lapses at `until` if the
        winner dies mid-delivery, and the message is then tried again under the same idempotency key.
        A message whose workflow failed is never leased: an instruction to pay or ship for a claim that no
        longer wants it is never sent (`bury_orphaned_outbox` closes such rows)."""
        return (
            self._execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ? "
                "WHERE id = ? AND state = 'pending' AND next_attempt_at <= ? AND EXISTS ("
                "  SELECT 1 FROM workflows w WHERE w.id = outbox.workflow_id AND w.state != 'failed')",
                [iso(until), outbox_id, iso(now)],
            )
            == 1
        )

    def bury_orphaned_outbox(self) -> int:
        """Mark dead every pending message whose workflow failed; returns how many."""
        return self._execute(
            "UPDATE outbox SET state = 'dead', last_error = 'its workflow failed before delivery' "
            "WHERE state = 'pending' AND EXISTS ("
            "  SELECT 1 FROM workflows w WHERE w.id = outbox.workflow_id AND w.state = 'failed')"
        )

    def finish_outbox(self, outbox_id: int, *, state: str, now: datetime, error: str = "") -> bool:
        """Mark a pending message delivered or dead (keeping the last error for the record); False if it is
        no longer pending."""
        delivered_at = iso(now) if state == "delivered" else None
        return (
            self._execute(
                "UPDATE outbox SET state = ?, delivered_at = ?, last_error = coalesce(nullif(?, ''), last_error) "
                "WHERE id = ? AND state = 'pending'",
                [state, delivered_at, error, outbox_id],
            )
            == 1
        )

    def retry_outbox_later(self, outbox_id: int, *, at: datetime, error: str) -> None:
        self._update(
            "outbox",
            "id = :id AND state = 'pending'",
            {"id": outbox_id},
            {"next_attempt_at": iso(at), "last_error": error},
        )

    def requeue_outbox(self, outbox_id: int, *, now: datetime) -> bool:
        """Put a dead message back in the queue with a fresh count of attempts (same idempotency key)."""
        return (
            self._execute(
                "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ? WHERE id = ? AND state = 'dead'",
                [iso(now), outbox_id],
            )
            == 1
        )

    # --- ledger ----------------------------------------------------------------------------------

    def add_ledger_entry(
        self,
        *,
        idempotency_key: str,
        kind: str,
        claim_id: str,
        amount: float,
        currency: str,
        detail: dict,
        now: datetime,
    ) -> bool:
        """Record a refund issued or a replacement shipped; False if this key is already in the ledger."""
        try:
            return (
                self._execute(
                    "INSERT INTO ledger (idempotency_key, kind, claim_id, amount, currency, detail, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING",
                    [idempotency_key, kind, claim_id, amount, currency, dumps(detail), iso(now)],
                )
                == 1
            )
        except sqlite3.IntegrityError as exc:
            raise _refusal(exc) from None

    def ledger_entries(self, claim_id: str | None = None) -> list[dict]:
        if claim_id is None:
            return self._query("SELECT * FROM ledger ORDER BY id")
        return self._query("SELECT * FROM ledger WHERE claim_id = ? ORDER BY id", [claim_id])
