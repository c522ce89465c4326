"""Money moves once: concurrent claims, a reviewer racing the customer, payout limits, revived deliveries.

Each race runs many rounds with real threads lined up on a barrier against the real SQLite store, some of
them through separate connections (as separate server processes would hold), so that a lucky
interleaving cannot hide a bug. The models are doubles that take a little time, which widens the window
between reading the evidence and committing the decision, where the old code went wrong.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from claims import demo_orders, lifecycle
from claims.config import Settings
from claims.errors import ClaimError, InvalidAction
from claims.models import utcnow
from claims.outbox import OutboxDispatcher, requeue_dead
from claims.service import ClaimService
from claims.store import PayoutRefused, Store
from tests._model_doubles import BrokenEverywhere, ReadsIntent, photo_bytes

CALM_REFUND = "The board arrived cracked in two. I would like a refund, please."
ROUNDS = 12


class SlowBroken(BrokenEverywhere):
    """Confidently `broken`, after a pause long enough for the other threads to read the same state."""

    def predict_batch(self, images):
        time.sleep(0.03)
        return super().predict_batch(images)


def _settings(**over) -> Settings:
    # One customer files every claim here; the velocity rules are tested on their own below.
    over = {"velocity_max_claims": 1000, "submissions_per_email_per_hour": 1000, **over}
    return Settings(reviewers="ana:correct-horse", **over)


def _open(path, **settings) -> ClaimService:
    return ClaimService.open(path, settings=_settings(**settings), vision=SlowBroken(), text=ReadsIntent(), demo=True)


def _together(count: int, work) -> list:
    """Run work(i) on `count` threads released at once; returns each result or the exception it raised."""
    barrier = threading.Barrier(count)

    def run(i):
        barrier.wait()
        try:
            return work(i)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def _fresh_order(store: Store, name: str) -> str:
    """A new order like DEMO-1001 (in stock, 40 EUR, delivered yesterday) that no claim has touched."""
    order = store.get_order("DEMO-1001").model_copy(update={"order_id": name})
    store.upsert_orders([order])
    return name


def _payouts(store: Store, order_id: str) -> list[dict]:
    return store._query("SELECT * FROM workflows WHERE order_id = ? AND state != 'failed'", [order_id])


# --- concurrent claims on one order ------------------------------------------------------------------


@pytest.mark.parametrize("connections", ["shared", "one_per_thread"])
def test_concurrent_claims_on_one_order_pay_it_once(tmp_path, connections):
    path = tmp_path / "claims.db"
    shared = _open(path)
    services = [shared] * 6 if connections == "shared" else [_open(path) for _ in range(6)]
    try:
        for round_ in range(ROUNDS):
            # Even rounds on a fresh order, odd rounds again on the previous round's (already paid) order.
            order_id = _fresh_order(shared.store, f"RACE-{round_}") if round_ % 2 == 0 else f"RACE-{round_ - 1}"
            seed = 1000 * (round_ + 1)
            results = _together(
                6,
                lambda i: services[i].submit_claim(order_id, "demo@example.com", CALM_REFUND, [photo_bytes(seed + i)]),
            )
            errors = [r for r in results if isinstance(r, Exception)]
            assert not errors, errors
            paid = [r for r in results if r["status"] in lifecycle.AUTOMATED]
            assert len(paid) <= 1, [r["status"] for r in results]
            assert len(_payouts(shared.store, order_id)) <= 1
            if round_ % 2 == 0:
                assert len(paid) == 1  # a fresh order is paid exactly once
            else:
                assert paid == []  # an order already paid: every claim goes to a person
    finally:
        for service in set(services):
            service.close()


def test_concurrent_claims_never_refund_more_than_the_order_value(tmp_path):
    svc = _open(tmp_path / "claims.db")
    try:
        _together(6, lambda i: svc.submit_claim("DEMO-1001", "demo@example.com", CALM_REFUND, [photo_bytes(50 + i)]))
        svc.start_dispatcher(poll_seconds=0.05).drain()
        refunds = [e for e in svc.store.ledger_entries() if e["kind"] == "refund"]
        order = svc.store.get_order("DEMO-1001")
        assert len(refunds) == 1 and sum(e["amount"] for e in refunds) == pytest.approx(order.value)
    finally:
        svc.close()


def test_the_per_email_limit_holds_under_concurrency(tmp_path):
    svc = _open(tmp_path / "claims.db", submissions_per_email_per_hour=5)
    try:
        results = _together(
            12,
            lambda i: svc.submit_claim(
                f"DEMO-10{(i % 9) + 1:02d}", "demo@example.com", CALM_REFUND, [photo_bytes(200 + i)]
            ),
        )
        stored = svc.store.count_claims_by_email("demo@example.com", datetime(2000, 1, 1, tzinfo=UTC))
        assert stored == 5
        assert sum(isinstance(r, ClaimError) for r in results) == 7
    finally:
        svc.close()


# --- a reviewer racing the customer --------------------------------------------------------------------


def test_a_reviewer_denial_is_never_overwritten_by_evidence_in_flight(tmp_path):
    svc = _open(tmp_path / "claims.db")
    try:
        outcomes = set()
        for round_ in range(ROUNDS):
            order_id = _fresh_order(svc.store, f"DENY-{round_}")
            claim = svc.submit_claim(order_id, "demo@example.com", CALM_REFUND, [])  # no photo yet
            assert claim["status"] == "needs_more_photos"
            cid, token = claim["claim_id"], claim["access_token"]

            def act(i):
                if i == 0:
                    return svc.add_evidence(cid, token, "Here is the photo.", [photo_bytes(300 + round_)])
                time.sleep(0.01)  # the models are running in the other thread
                return svc.decide(cid, "ana", "deny", "The photo shows another product.")

            added, denied = _together(2, act)
            final = svc.store.get_claim(cid)
            if isinstance(denied, dict) and denied["status"] == "denied":
                outcomes.add("reviewer_first")
                assert final.status == "denied" and final.status_actor == "reviewer"
                assert svc.store.workflows_for_claims([cid]) == []
                assert not isinstance(added, Exception), added
                assert any(m["kind"] == "more_evidence" for m in svc.store.messages(cid))  # nothing lost
            else:
                outcomes.add("customer_first")
                assert isinstance(denied, InvalidAction), denied
                assert final.status == "auto_refund" and len(svc.store.workflows_for_claims([cid])) == 1
            svc.store._execute("DELETE FROM review_locks")
        assert "reviewer_first" in outcomes  # the race was really run where it used to go wrong
    finally:
        svc.close()


def test_a_decision_on_a_stale_claim_is_redecided_not_committed(tmp_path):
    """Two add_evidence calls in flight on one claim: each decision is made on the claim as it commits."""
    svc = _open(tmp_path / "claims.db")
    try:
        for round_ in range(6):
            claim = svc.submit_claim(_fresh_order(svc.store, f"STALE-{round_}"), "demo@example.com", CALM_REFUND, [])
            cid, token = claim["claim_id"], claim["access_token"]
            results = _together(
                3, lambda i: svc.add_evidence(cid, token, f"photo {i}", [photo_bytes(400 + 10 * round_ + i)])
            )
            assert all(isinstance(r, dict | InvalidAction) for r in results), results
            assert len(svc.store.workflows_for_claims([cid])) == 1  # three photos, one payout
            assert svc.store.get_claim(cid).status == "auto_refund"
            assert len(svc.store.claim_photos(cid)) == 3  # every photo sent was kept
    finally:
        svc.close()


# --- payouts per order ---------------------------------------------------------------------------------


def _escalated_second_claim(svc: ClaimService, order_id: str, seed: int) -> str:
    first = svc.submit_claim(order_id, "demo@example.com", CALM_REFUND, [photo_bytes(seed)])
    assert first["status"] == "auto_refund"
    second = svc.submit_claim(order_id, "demo@example.com", CALM_REFUND, [photo_bytes(seed + 1)])
    assert second["status"] == "in_review" and "already_claimed" in svc.store.get_claim(second["claim_id"]).reasons
    return second["claim_id"]


def test_a_reviewer_cannot_refund_an_order_beyond_its_value(tmp_path):
    svc = _open(tmp_path / "claims.db")
    try:
        second = _escalated_second_claim(svc, "DEMO-1001", 600)
        with pytest.raises(PayoutRefused, match="more than its value"):
            svc.decide(second, "ana", "approve_refund")
        assert svc.store.get_claim(second).status == "in_review"  # nothing of the refused approval stayed
        # A second payout of another kind is possible, and only because a person approved it.
        svc.decide(second, "ana", "approve_replacement")
        (replacement,) = svc.store.workflows_for_claims([second])
        assert replacement["authorised_by"] == "reviewer:ana"
    finally:
        svc.close()


def test_the_database_refuses_a_second_automatic_payout_whatever_the_code_does(tmp_path):
    svc = _open(tmp_path / "claims.db")
    try:
        second = _escalated_second_claim(svc, "DEMO-1001", 700)
        svc.start_dispatcher(poll_seconds=0.05).drain()  # the first claim's refund is in the ledger
        with pytest.raises(PayoutRefused, match="only a reviewer"):
            svc.store.create_workflow(
                second,
                "replacement",
                state="created",
                now=utcnow(),
                order_id="DEMO-1001",
                amount=None,
                authorised_by="system",
            )
        with pytest.raises(sqlite3.IntegrityError):
            svc.store.conn.execute(
                "INSERT INTO ledger (idempotency_key, kind, claim_id, amount, currency, created_at) "
                "VALUES ('forged', 'refund', ?, 1.0, 'EUR', 'now')",
                [second],
            )
    finally:
        svc.close()


def test_a_dead_refund_is_not_revived_once_the_claim_became_a_replacement(tmp_path):
    svc = _open(
        tmp_path / "claims.db",
        webhook_url="http://127.0.0.1:9/",
        webhook_secret="s",
        webhook_max_attempts=1,
        webhook_timeout_seconds=0.5,
    )
    try:
        claim = svc.submit_claim("DEMO-1001", "demo@example.com", CALM_REFUND, [photo_bytes(800)])
        cid = claim["claim_id"]
        dispatcher = OutboxDispatcher(svc.store, svc.settings, poll_seconds=0.05)
        dispatcher.run_once()  # nothing listens on port 9: the refund's only attempt fails, it is dead
        (refund,) = svc.store.workflows_for_claims([cid])
        assert refund["state"] == "failed"
        svc.request_human(cid, claim["access_token"], "Actually I would prefer a new board.")
        svc.decide(cid, "ana", "approve_replacement")
        assert requeue_dead(svc.store) == 0
        states = {w["kind"]: w["state"] for w in svc.store.workflows_for_claims([cid])}
        assert states == {"refund": "failed", "replacement": "shipped"}
        assert [r["state"] for r in svc.store.outbox_rows() if r["idempotency_key"].endswith(":refund:issue")] == [
            "dead"
        ]
    finally:
        svc.close()


def test_an_outbox_row_whose_workflow_no_longer_waits_is_never_sent(tmp_path):
    svc = _open(tmp_path / "claims.db")
    try:
        claim = svc.submit_claim("DEMO-1001", "demo@example.com", CALM_REFUND, [photo_bytes(900)])
        (workflow,) = svc.store.workflows_for_claims([claim["claim_id"]])
        svc.store._execute("UPDATE workflows SET state = 'failed', reason = 'cancelled' WHERE id = ?", [workflow["id"]])
        OutboxDispatcher(svc.store, svc.settings).run_once()
        assert svc.store.ledger_entries() == []
    finally:
        svc.close()


# --- demo orders ---------------------------------------------------------------------------------------


def test_a_service_opened_without_demo_has_no_orders(tmp_path):
    with ClaimService.open(
        tmp_path / "claims.db", settings=_settings(), vision=SlowBroken(), text=ReadsIntent()
    ) as svc:
        assert svc.store.count_orders() == 0
        claim = svc.submit_claim("DEMO-1001", demo_orders.DEMO_EMAIL, CALM_REFUND, [photo_bytes(1)])
        assert claim["status"] == "in_review" and svc.store.workflows_for_claims([claim["claim_id"]]) == []
