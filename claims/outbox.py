"""The outbox dispatcher: delivers the messages that workflow steps committed to the `outbox` table.

With `settings.webhook_url` each message is POSTed as JSON with these headers:

    Content-Type: application/json
    Idempotency-Key: <claim_id>:<kind>:<step>        the same on every retry of one message
    X-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<Idempotency-Key>.<raw body>", keyed with
                 settings.webhook_secret>                signed afresh for every attempt
    X-Claimbot-Event: refund.issue | replacement.ship
    X-Claimbot-Attempt: 1, 2, ...

Any 2xx answer delivers the message; anything else (an error status, a refused connection, a timeout) is
tried again after `webhook_backoff_seconds * 2 ** (attempt - 1)`, and after `webhook_max_attempts` tries
the message is dead (its workflow fails with reason `delivery_failed`). Without a URL the message is
written to the `ledger` table instead, keyed by its idempotency key, in the same transaction that marks it
delivered.

The signature covers the time and the key as well as the body, so a captured post cannot be replayed
later (receivers refuse a timestamp more than `webhook_tolerance_seconds` away from their clock, and a
(key, signature) pair they have already seen) nor sent under another key.

Delivery is at least once: a dispatcher killed after the receiver processed a message but before it
recorded the answer sends it again after restart, under the same Idempotency-Key, and the receiver
de-duplicates by that key (claims/webhook_receiver.py shows how). Each attempt first takes a lease on its
row (compare-and-set), so two dispatchers (the server's thread and `claimbot outbox`) never post
one message at the same time, and a lease left by a killed dispatcher lapses after twice the timeout.

Run on its own:  claimbot outbox [--data DIR] [--drain] [--requeue-dead] [--poll S]
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import threading
import urllib.error
import urllib.request
from datetime import datetime, timedelta

from claims import workflows
from claims.config import Settings
from claims.errors import ClaimError, InvalidAction
from claims.models import utcnow
from claims.store import PayoutRefused, Store

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 3600.0
USER_AGENT = "claimbot-outbox/1"


def sign(body: bytes, secret: str, idempotency_key: str, timestamp: int | None = None) -> str:
    """The X-Signature header value: `t=<unix time>,v1=<hex HMAC-SHA256 over "t.idempotency_key.body">`
    (`timestamp` defaults to now)."""
    t = int(utcnow().timestamp()) if timestamp is None else int(timestamp)
    signed = f"{t}.{idempotency_key}.".encode() + body
    return f"t={t},v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}"


def encode(payload: dict) -> bytes:
    """The exact bytes that are signed and sent (compact, key-sorted JSON)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def backoff_seconds(settings: Settings, attempt: int) -> float:
    """How long to wait after failed attempt number `attempt` (1, 2, ...): doubling, capped at an hour."""
    return min(MAX_BACKOFF_SECONDS, settings.webhook_backoff_seconds * 2 ** (attempt - 1))


class DeliveryError(Exception):
    """One attempt failed; the message will be tried again (or dead-lettered after the last try)."""


class OutboxDispatcher:
    """Delivers due outbox rows, in a background thread (`start`/`stop`) or one pass at a time (`run_once`)."""

    def __init__(self, store: Store, settings: Settings, *, poll_seconds: float = 1.0):
        if settings.webhook_url and not settings.webhook_secret:
            raise ValueError("webhook_url is set but webhook_secret is empty: receivers could not verify posts")
        self.store = store
        self.settings = settings
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- running ----------------------------------------------------------------------------------

    def start(self) -> OutboxDispatcher:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="claimbot-outbox", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop after the attempt in progress (at most one webhook timeout away)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout if timeout is not None else self.settings.webhook_timeout_seconds + 5)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def notify(self) -> None:
        """Look at the outbox now instead of at the next poll (a workflow step just wrote to it)."""
        self._wake.set()

    def _loop(self) -> None:
        try:
            workflows.resume_unfinished(self.store, settings=self.settings)
        except ClaimError as exc:  # a workflow its claim no longer allows: expected, one line
            log.warning("resuming unfinished workflows stopped: %s", exc)
        except Exception:  # the deliveries below must still run
            log.exception("resuming unfinished workflows failed")
        while not self._stop.is_set():
            self._wake.clear()  # before the pass, so a notify during it is not lost
            try:
                self.run_once()
                delay = self._sleep_seconds()
            except ClaimError as exc:  # refused by the lifecycle or a payout rule: expected, one line
                log.warning("outbox pass stopped: %s", exc)
                delay = self.poll_seconds
            except Exception:  # a broken row or a locked database must not kill the thread; try again later
                log.exception("outbox pass failed")
                delay = self.poll_seconds
            self._wake.wait(delay)

    def _sleep_seconds(self) -> float:
        due = self.store.next_outbox_due_at()
        if due is None:
            return self.poll_seconds
        return max(0.0, min(self.poll_seconds, (due - utcnow()).total_seconds()))

    def drain(self) -> None:
        """Deliver until no message is pending (each is delivered or dead), waiting out backoffs and leases."""
        workflows.resume_unfinished(self.store, settings=self.settings)
        while not self._stop.is_set() and self.store.outbox_rows(state="pending"):
            if not self.run_once():
                self._stop.wait(max(0.05, self._sleep_seconds()))

    # --- one pass ---------------------------------------------------------------------------------

    def run_once(self, now: datetime | None = None) -> int:
        """Attempt every message due now; returns how many attempts were made."""
        attempts = 0
        self.store.bury_orphaned_outbox()
        for row in self.store.due_outbox(now or utcnow()):
            if self._stop.is_set():
                break
            if self._attempt(row):
                attempts += 1
        return attempts

    def _attempt(self, row: dict) -> bool:
        now = utcnow()
        lease = timedelta(seconds=2 * self.settings.webhook_timeout_seconds)
        if not self.store.lease_outbox(row["id"], now=now, until=now + lease):
            return False  # another dispatcher took it
        attempt = row["attempts"] + 1
        try:
            if self.settings.webhook_url:
                self._post(row, attempt)
                self._delivered(row, attempt)
            else:
                self._write_ledger(row, attempt)
        except DeliveryError as exc:
            self._failed(row, attempt, str(exc))
        except PayoutRefused as exc:  # the database's last word on money: this instruction must never go out
            self._failed(row, self.settings.webhook_max_attempts, str(exc))
        return True

    def _post(self, row: dict, attempt: int) -> None:
        body = encode(row["payload"])
        request = urllib.request.Request(
            self.settings.webhook_url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "Idempotency-Key": row["idempotency_key"],
                "X-Signature": sign(body, self.settings.webhook_secret, row["idempotency_key"]),
                "X-Claimbot-Event": str(row["payload"].get("type", "")),
                "X-Claimbot-Attempt": str(attempt),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.settings.webhook_timeout_seconds) as response:
                response.read(65536)
                status = response.status
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"HTTP {exc.code}") from None
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            # refused, reset, timed out, a garbled answer, a malformed URL: all worth another try
            raise DeliveryError(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}") from None
        if not 200 <= status < 300:
            raise DeliveryError(f"HTTP {status}")

    def _delivered(self, row: dict, attempt: int) -> None:
        now = utcnow()
        with self.store.transaction() as tx:
            if tx.finish_outbox(row["id"], state="delivered", now=now):
                workflows.on_delivered(tx, {**row, "attempts": attempt}, now=now)

    def _write_ledger(self, row: dict, attempt: int) -> None:
        payload, now = row["payload"], utcnow()
        with self.store.transaction() as tx:
            if not tx.finish_outbox(row["id"], state="delivered", now=now):
                return
            workflow = tx.get_workflow(row["workflow_id"])  # read only by the dispatcher that finished the row
            tx.add_ledger_entry(
                idempotency_key=row["idempotency_key"],
                kind=workflow["kind"],
                claim_id=workflow["claim_id"],
                amount=payload.get("amount") or 0.0,
                currency=payload.get("currency") or "EUR",
                detail=payload,
                now=now,
            )
            workflows.on_delivered(tx, {**row, "attempts": attempt}, now=now)

    def _failed(self, row: dict, attempt: int, error: str) -> None:
        now = utcnow()
        log.warning("outbox message %s attempt %d failed: %s", row["idempotency_key"], attempt, error)
        if attempt >= self.settings.webhook_max_attempts:
            with self.store.transaction() as tx:
                if tx.finish_outbox(row["id"], state="dead", now=now, error=error):
                    workflows.on_dead(tx, {**row, "attempts": attempt}, error=error, now=now)
            return
        delay = backoff_seconds(self.settings, attempt)
        self.store.retry_outbox_later(row["id"], at=now + timedelta(seconds=delay), error=error)


def requeue_dead(store: Store) -> int:
    """Give every dead message whose claim still wants it a fresh set of attempts under its same idempotency
    key; its workflow goes back from failed to waiting for delivery. A message for a claim that has since
    become something else (a refund turned replacement, a reviewer's other decision) stays dead: reviving
    it would pay twice. Returns how many were requeued."""
    count = 0
    for row in store.outbox_rows(state="dead"):
        try:
            with store.transaction() as tx:
                workflow = tx.get_workflow(row["workflow_id"])
                if workflow is None or workflow["state"] != "failed" or workflow["reason"] != "delivery_failed":
                    continue
                workflows.retry_delivery(tx, workflow)
                count += 1
        except InvalidAction as exc:
            log.warning("outbox message %s stays dead: %s", row["idempotency_key"], exc)
    return count


__all__ = ["DeliveryError", "OutboxDispatcher", "backoff_seconds", "encode", "requeue_dead", "sign"]
