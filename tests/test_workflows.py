"""Refund and replacement state machines: started by decisions, one event per transition, stock taken once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from claims import workflows
from claims.config import Settings
from claims.errors import InvalidAction
from claims.models import utcnow
from claims.outbox import OutboxDispatcher
from claims.service import ClaimService
from tests._model_doubles import BrokenEverywhere, ReadsIntent, photo_bytes

REFUND_PATH = ["created", "approved", "issued", "completed"]
REPLACEMENT_PATH = ["created", "approved", "reserved", "shipped", "completed"]


@pytest.fixture
def svc(tmp_path):
    service = ClaimService.open(
        tmp_path / "claims.db",
        demo=True,
        settings=Settings(reviewers="ana:correct-horse"),
        vision=BrokenEverywhere(),
        text=ReadsIntent(),
    )
    yield service
    service.close()


def submit(svc, order_id, text, seed=1):
    return svc.submit_claim(order_id, "demo@example.com", text, [photo_bytes(seed)])


def approve(svc, claim_id, action):
    svc.open_case(claim_id, "ana")
    return svc.decide(claim_id, "ana", action, note="Sorry about this.")


def workflows_of(svc, claim_id):
    return svc.store.workflows_for_claims([claim_id])


def transitions(svc, claim_id, workflow_id):
    """(from, to) of every transition event of one workflow, in order."""
    return [
        (e["detail"]["from"], e["detail"]["to"])
        for e in svc.store.events(claim_id)
        if e["detail"].get("workflow_id") == workflow_id and "to" in e["detail"]
    ]


def deliver_to_ledger(svc):
    OutboxDispatcher(svc.store, svc.settings).drain()


def test_an_automatic_refund_is_issued_and_its_message_waits_in_the_outbox(svc):
    claim = submit(svc, "DEMO-1001", "The board arrived cracked.")
    assert claim["status"] == "auto_refund"
    [workflow] = workflows_of(svc, claim["claim_id"])
    assert (workflow["kind"], workflow["state"]) == ("refund", "issued")
    [message] = svc.store.outbox_rows()
    assert message["idempotency_key"] == f"{claim['claim_id']}:refund:issue"
    assert message["state"] == "pending" and message["workflow_id"] == workflow["id"]
    assert message["payload"] == {
        "type": "refund.issue",
        "idempotency_key": message["idempotency_key"],
        "claim_id": claim["claim_id"],
        "workflow_id": workflow["id"],
        "order_id": "DEMO-1001",
        "amount": 24.9,
        "currency": "EUR",
        "created_at": message["payload"]["created_at"],
    }


def test_an_automatic_replacement_reserves_one_unit_and_ships(svc):
    before = svc.store.get_order("DEMO-1002").stock_count
    claim = submit(svc, "DEMO-1002", "The vase is cracked, please replace it.")
    assert claim["status"] == "auto_replacement"
    [workflow] = workflows_of(svc, claim["claim_id"])
    assert (workflow["kind"], workflow["state"]) == ("replacement", "shipped")
    assert svc.store.get_order("DEMO-1002").stock_count == before - 1
    [message] = svc.store.outbox_rows()
    assert message["idempotency_key"] == f"{claim['claim_id']}:replacement:ship"
    assert message["payload"]["type"] == "replacement.ship"
    assert (message["payload"]["sku"], message["payload"]["quantity"]) == ("HOM-0107", 1)
    assert message["payload"]["ship_within_business_days"] == svc.settings.replacement_ship_days


def test_every_transition_writes_an_event_from_start_to_completion(svc):
    refund = submit(svc, "DEMO-1001", "The board arrived cracked.", seed=1)
    replacement = submit(svc, "DEMO-1002", "The vase is cracked, please replace it.", seed=2)
    deliver_to_ledger(svc)
    for claim, path in ((refund, REFUND_PATH), (replacement, REPLACEMENT_PATH)):
        [workflow] = workflows_of(svc, claim["claim_id"])
        assert workflow["state"] == "completed"
        assert transitions(svc, claim["claim_id"], workflow["id"]) == [(None, path[0]), *zip(path, path[1:])]
        kinds = [e["kind"] for e in svc.store.events(claim["claim_id"]) if e["detail"].get("workflow_id")]
        assert kinds == [f"{workflow['kind']}_{state}" for state in path]


def test_the_ledger_records_a_refund_issued_and_a_replacement_shipped(svc):
    refund = submit(svc, "DEMO-1001", "The board arrived cracked.", seed=1)
    replacement = submit(svc, "DEMO-1002", "The vase is cracked, please replace it.", seed=2)
    deliver_to_ledger(svc)
    entries = {e["claim_id"]: e for e in svc.store.ledger_entries()}
    assert len(entries) == 2
    assert (entries[refund["claim_id"]]["kind"], entries[refund["claim_id"]]["amount"]) == ("refund", 24.9)
    assert entries[replacement["claim_id"]]["kind"] == "replacement"
    assert entries[replacement["claim_id"]]["idempotency_key"] == f"{replacement['claim_id']}:replacement:ship"
    assert all(row["state"] == "delivered" for row in svc.store.outbox_rows())


def test_a_message_delivered_again_after_a_crash_is_a_no_op_in_the_ledger(svc):
    claim = submit(svc, "DEMO-1001", "The board arrived cracked.")
    deliver_to_ledger(svc)
    events_before = len(svc.store.events(claim["claim_id"]))
    # A dispatcher that died between writing and recording would find the row pending again.
    with svc.store.transaction() as tx:
        tx.conn.execute("UPDATE outbox SET state = 'pending', delivered_at = NULL, next_attempt_at = created_at")
    deliver_to_ledger(svc)
    assert len(svc.store.ledger_entries()) == 1
    assert len(svc.store.events(claim["claim_id"])) == events_before
    assert workflows_of(svc, claim["claim_id"])[0]["state"] == "completed"


def test_stock_is_reserved_exactly_once_when_the_approval_repeats(svc):
    before = svc.store.get_order("DEMO-1002").stock_count
    claim = submit(svc, "DEMO-1002", "The vase is cracked, please replace it.")
    assert claim["status"] == "auto_replacement"
    svc.request_human(claim["claim_id"], claim["access_token"], "Can someone confirm?")
    approved = approve(svc, claim["claim_id"], "approve_replacement")
    assert approved["status"] == "approved_replacement"
    with svc.store.transaction() as tx:  # and once more, directly
        workflows.start_workflow(tx, claim["claim_id"], "replacement", settings=svc.settings)
    assert svc.store.get_order("DEMO-1002").stock_count == before - 1
    assert len(workflows_of(svc, claim["claim_id"])) == 1
    assert len(svc.store.outbox_rows()) == 1
    assert len(svc.store.events(claim["claim_id"], kind="workflow_repeat")) == 2
    assert len(svc.store.events(claim["claim_id"], kind="replacement_reserved")) == 1


def test_out_of_stock_replacement_falls_back_to_refund_and_tells_the_customer(svc):
    claim = submit(svc, "DEMO-1005", "My cups arrived smashed, I want a person to look.")
    assert claim["status"] == "in_review"
    result = approve(svc, claim["claim_id"], "approve_replacement")

    assert (result["status"], result["resolution"]) == ("approved_refund", "refund")
    assert "out_of_stock_refund" in result["reasons"]
    fallback = result["thread"][-1]
    assert (fallback["actor"], fallback["kind"]) == ("bot", "fallback_to_refund")
    assert "sold out" in fallback["text"] and claim["claim_id"] in fallback["text"]
    assert result["message"] == fallback["text"]

    replacement, refund = workflows_of(svc, claim["claim_id"])
    assert (replacement["kind"], replacement["state"]) == ("replacement", "failed")
    assert replacement["reason"] == "out_of_stock"
    assert (refund["kind"], refund["state"]) == ("refund", "issued")
    [message] = svc.store.outbox_rows()
    assert message["idempotency_key"] == f"{claim['claim_id']}:refund:issue"
    [event] = svc.store.events(claim["claim_id"], kind="fallback_to_refund")
    assert event["reasons"] == ["out_of_stock"] and event["status"] == "approved_refund"
    assert transitions(svc, claim["claim_id"], replacement["id"]) == [
        (None, "created"),
        ("created", "approved"),
        ("approved", "failed"),
    ]


def test_the_last_unit_goes_to_the_first_replacement_and_the_next_falls_back(svc):
    order = svc.store.get_order("DEMO-1010")
    svc.store.upsert_orders([order.model_copy(update={"stock_count": 1})])
    first = submit(svc, "DEMO-1010", "The table top is cracked, please replace it.", seed=1)
    second = submit(svc, "DEMO-1010", "Leg snapped, please replace it, I want a person.", seed=2)
    assert first["status"] == "auto_replacement"
    left = svc.store.get_order("DEMO-1010")
    assert (left.stock_count, left.in_stock) == (0, False)
    result = approve(svc, second["claim_id"], "approve_replacement")
    assert result["resolution"] == "refund"
    assert [w["state"] for w in workflows_of(svc, first["claim_id"])] == ["shipped"]
    assert [(w["kind"], w["state"]) for w in workflows_of(svc, second["claim_id"])] == [
        ("replacement", "failed"),
        ("refund", "issued"),
    ]


def test_an_uncounted_stock_is_reserved_without_counting(svc):
    order = svc.store.get_order("DEMO-1002")
    svc.store.upsert_orders([order.model_copy(update={"stock_count": 0, "in_stock": True})])
    claim = submit(svc, "DEMO-1002", "The vase is cracked, please replace it.")
    assert workflows_of(svc, claim["claim_id"])[0]["state"] == "shipped"
    assert svc.store.get_order("DEMO-1002").in_stock


def test_a_different_resolution_while_one_is_under_way_is_refused_and_changes_nothing(svc):
    claim = submit(svc, "DEMO-1002", "The vase is cracked.")
    assert claim["status"] == "auto_refund"
    svc.request_human(claim["claim_id"], claim["access_token"])
    stock = svc.store.get_order("DEMO-1002").stock_count
    with pytest.raises(InvalidAction, match="refund is already under way"):
        approve(svc, claim["claim_id"], "approve_replacement")
    assert svc.store.get_claim(claim["claim_id"]).status == "in_review"
    assert [w["kind"] for w in workflows_of(svc, claim["claim_id"])] == ["refund"]
    assert svc.store.get_order("DEMO-1002").stock_count == stock
    assert approve(svc, claim["claim_id"], "approve_refund")["status"] == "approved_refund"
    assert len(svc.store.outbox_rows()) == 1


def test_a_claim_whose_refund_is_under_way_cannot_be_denied_and_stays_in_review(svc):
    claim = submit(svc, "DEMO-1002", "The vase is cracked.")
    assert claim["status"] == "auto_refund"
    svc.request_human(claim["claim_id"], claim["access_token"])
    svc.open_case(claim["claim_id"], "ana")
    with pytest.raises(InvalidAction, match="cannot be denied"):
        svc.decide(claim["claim_id"], "ana", "deny", note="Not covered.")
    assert svc.store.get_claim(claim["claim_id"]).status == "in_review"


def test_a_replacement_for_an_unknown_order_is_refused(svc):
    claim = submit(svc, "SHOP-404", "It arrived broken, please replace it.")
    assert claim["status"] == "in_review"
    with pytest.raises(InvalidAction, match="not in the order list"):
        approve(svc, claim["claim_id"], "approve_replacement")
    assert workflows_of(svc, claim["claim_id"]) == []
    assert svc.store.get_claim(claim["claim_id"]).status == "in_review"


@pytest.mark.parametrize(
    ("kind", "state", "to_state"),
    [
        ("refund", "issued", "shipped"),
        ("refund", "created", "issued"),
        ("replacement", "approved", "shipped"),
        ("replacement", "completed", "failed"),
        ("refund", "failed", "completed"),
    ],
)
def test_a_transition_outside_the_state_machine_is_refused(svc, kind, state, to_state):
    claim = submit(svc, "SHOP-404", "It arrived broken.")
    with svc.store.transaction() as tx:
        workflow = tx.get_workflow(
            tx.create_workflow(
                claim["claim_id"],
                kind,
                state=state,
                now=utcnow(),
                order_id="SHOP-404",
                amount=None,
                authorised_by="reviewer:ana",
            )
        )
    with pytest.raises(workflows.TransitionError), svc.store.transaction() as tx:
        workflows.transition(tx, workflow, to_state)
    assert svc.store.get_workflow(workflow["id"])["state"] == state


def test_a_transition_from_a_stale_state_is_refused(svc):
    claim = submit(svc, "DEMO-1001", "The board arrived cracked.")
    [workflow] = workflows_of(svc, claim["claim_id"])
    stale = {**workflow, "state": "approved"}
    with pytest.raises(workflows.TransitionError, match="no longer approved"), svc.store.transaction() as tx:
        workflows.transition(tx, stale, "issued")
    assert svc.store.get_workflow(workflow["id"])["state"] == "issued"


def test_the_dashboard_counts_workflows_by_kind_and_state(svc):
    submit(svc, "DEMO-1001", "The board arrived cracked.", seed=1)
    submit(svc, "DEMO-1002", "The vase is cracked, please replace it.", seed=2)
    now = utcnow()
    data = svc.dashboard_data(now - timedelta(hours=1), now + timedelta(hours=1))
    states = sorted((w["kind"], w["state"]) for w in data["workflows"])
    assert states == [("refund", "issued"), ("replacement", "shipped")]
