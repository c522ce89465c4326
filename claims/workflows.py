"""Refund and replacement as persisted state machines, driven inside the caller's store transaction.

    refund:       created -> approved -> issued -------------------> completed
    replacement:  created -> approved -> reserved -> shipped ------> completed
    any state before completed -> failed (with a reason)

`start_workflow` runs when a decision approves a claim, inside the transaction that records the decision,
so the decision, every transition, its audit event and the outgoing message commit together or not at all.
`issued` and `shipped` mean the instruction to pay or to ship is in the outbox (claims.outbox delivers it);
the delivery moves the workflow on to `completed`, or to `failed` when the message is dead-lettered.

A replacement takes one unit from the order's stock when it is reserved. An order whose `stock_count` is
0 while `in_stock` is true has an untracked count (the CSV import leaves it optional): it is reserved
without counting. With no stock left, the replacement fails with reason `out_of_stock` and a refund
workflow takes its place; the claim's resolution becomes refund and the customer is told in the thread.

Every transition is a compare-and-set on the stored state, and each claim gets at most one live workflow,
so a step repeated (a second approval, a retried delivery) changes nothing the second time.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from claims import lifecycle, messages
from claims.config import Settings
from claims.errors import InvalidAction
from claims.models import ClaimRecord, Order, utcnow
from claims.store import Store, iso

KINDS = ("refund", "replacement")
STATES = ("created", "approved", "reserved", "issued", "shipped", "completed", "failed")
# Transitions allowed for each kind (besides `failed`, reachable from any state but completed and failed).
TRANSITIONS: dict[str, dict[str, str]] = {
    "refund": {"created": "approved", "approved": "issued", "issued": "completed"},
    "replacement": {"created": "approved", "approved": "reserved", "reserved": "shipped", "shipped": "completed"},
}
TERMINAL_STATES = ("completed", "failed")
# The state in which a workflow waits for its outbox message, and the message's step name and type.
WAITING_STATE = {"refund": "issued", "replacement": "shipped"}
MESSAGE_STEP = {"refund": "issue", "replacement": "ship"}
MESSAGE_TYPE = {"refund": "refund.issue", "replacement": "replacement.ship"}


class TransitionError(RuntimeError):
    """A transition the state machine does not allow, or one that lost a race (the state had moved on)."""


def _claim(tx: Store, claim_id: str) -> ClaimRecord:
    claim = tx.get_claim(claim_id)
    if claim is None:
        raise KeyError(f"no claim {claim_id}")
    return claim


def _workflow(tx: Store, workflow_id: int) -> dict:
    workflow = tx.get_workflow(workflow_id)
    if workflow is None:
        raise KeyError(f"no workflow {workflow_id}")
    return workflow


def idempotency_key(claim_id: str, kind: str) -> str:
    """The stable key of a workflow's one outgoing message: the same on every retry and after a crash."""
    return f"{claim_id}:{kind}:{MESSAGE_STEP[kind]}"


def transition(
    tx: Store,
    workflow: dict,
    to_state: str,
    *,
    reason: str = "",
    actor: str = "system",
    detail: dict | None = None,
    now: datetime | None = None,
) -> dict:
    """Move a workflow one step (compare-and-set) and write the audit event. Returns the updated row."""
    kind, from_state = workflow["kind"], workflow["state"]
    allowed = to_state == "failed" and from_state not in TERMINAL_STATES
    if not allowed and TRANSITIONS[kind].get(from_state) != to_state:
        raise TransitionError(f"a {kind} cannot go from {from_state} to {to_state}")
    now = now or utcnow()
    if not tx.move_workflow(workflow["id"], from_state=from_state, to_state=to_state, reason=reason, now=now):
        raise TransitionError(f"workflow {workflow['id']} is no longer {from_state}")
    tx.log_event(
        workflow["claim_id"],
        actor,
        f"{kind}_{to_state}",
        at=now,
        reasons=(reason,) if reason else (),
        detail={"workflow_id": workflow["id"], "kind": kind, "from": from_state, "to": to_state, **(detail or {})},
    )
    return {**workflow, "state": to_state, "reason": reason, "updated_at": iso(now)}


def start_workflow(
    tx: Store,
    claim_id: str,
    resolution: str,
    *,
    settings: Settings,
    authorised_by: str = "system",
    now: datetime | None = None,
) -> dict:
    """Start (or, on a repeat, leave alone) the workflow for an approved claim; call inside a transaction.

    A repeat of the same resolution is a no-op (recorded as a `workflow_repeat` event). A different
    resolution while another workflow is live raises InvalidAction, which rolls the approval back: a claim
    must never be both refunded and replaced. `authorised_by` is "system" for an automatic approval or
    "reviewer:<name>": the database lets automation pay an order only once (store.PayoutRefused).
    Returns the live workflow row.
    """
    actor = authorised_by
    if resolution not in KINDS:
        raise ValueError(f"unknown resolution {resolution!r}")
    now = now or utcnow()
    existing = tx.workflows_for_claims([claim_id])
    live = [w for w in existing if w["state"] != "failed"]
    if live:
        current = live[-1]
        if current["kind"] != resolution:
            raise InvalidAction(
                f"A {current['kind']} is already under way for this claim ({current['state']}), so it cannot "
                f"also get a {resolution}. Approve a {current['kind']} instead, or leave the decision as it is."
            )
        tx.log_event(
            claim_id,
            actor,
            "workflow_repeat",
            at=now,
            detail={"workflow_id": current["id"], "kind": current["kind"], "state": current["state"]},
        )
        return current
    if any(w["kind"] == resolution for w in existing):
        # The same kind already ran and failed (dead-lettered, or sold out): its message, if any, keeps its
        # idempotency key; start again by putting that message back in the queue rather than a new one.
        failed = [w for w in existing if w["kind"] == resolution][-1]
        return retry_delivery(tx, failed, actor=actor, now=now)
    workflow_id = _create(tx, _claim(tx, claim_id), resolution, authorised_by=authorised_by, now=now)
    workflow = _workflow(tx, workflow_id)
    tx.log_event(
        claim_id,
        actor,
        f"{resolution}_created",
        at=now,
        detail={"workflow_id": workflow_id, "kind": resolution, "from": None, "to": "created"},
    )
    workflow = transition(tx, workflow, "approved", actor=actor, now=now)
    return advance(tx, workflow, settings=settings, now=now)


def advance(tx: Store, workflow: dict, *, settings: Settings, now: datetime | None = None) -> dict:
    """Take every step that needs no outside party, up to the state that waits for the outbox."""
    now = now or utcnow()
    claim = _claim(tx, workflow["claim_id"])
    order = tx.get_order(claim.order_id)
    if workflow["kind"] == "replacement" and workflow["state"] == "approved":
        problem = _reserve(tx, order)
        if problem == "unknown_order":
            raise InvalidAction(
                "This order is not in the order list, so no replacement can be reserved for it. "
                "Import the order first, or approve a refund."
            )
        if problem:
            transition(tx, workflow, "failed", reason=problem, now=now, detail={"order_id": claim.order_id})
            return _fall_back_to_refund(
                tx, claim, order, reason=problem, settings=settings, now=now, authorised_by=workflow["authorised_by"]
            )
        order = cast(Order, order)  # reserved: _reserve found the order
        workflow = transition(
            tx,
            workflow,
            "reserved",
            now=now,
            detail={
                "order_id": order.order_id,
                "sku": order.sku,
                "stock_left": None if order.stock_count == 0 else order.stock_count - 1,
            },
        )
    if workflow["state"] in ("approved", "reserved"):
        key = idempotency_key(workflow["claim_id"], workflow["kind"])
        payload = _payload(workflow, claim, order, key, settings, now)
        tx.enqueue_outbox(workflow["id"], idempotency_key=key, payload=payload, now=now)
        workflow = transition(tx, workflow, WAITING_STATE[workflow["kind"]], now=now, detail={"idempotency_key": key})
    return workflow


def resume_unfinished(store: Store, *, settings: Settings) -> int:
    """Advance workflows left between steps (none are, while every step commits with its cause; this is
    the safety net for rows written by hand or by an older version). Returns how many moved."""
    moved = 0
    for workflow in store.workflows_in_state(("approved", "reserved")):
        with store.transaction() as tx:
            current = _workflow(tx, workflow["id"])
            if current["state"] in ("approved", "reserved"):
                advance(tx, current, settings=settings)
                moved += 1
    return moved


def on_delivered(tx: Store, outbox_row: dict, *, now: datetime | None = None) -> None:
    """The workflow's message reached its receiver (or the ledger): the workflow is complete."""
    workflow = tx.get_workflow(outbox_row["workflow_id"])
    if workflow and workflow["state"] == WAITING_STATE[workflow["kind"]]:
        transition(
            tx,
            workflow,
            "completed",
            now=now,
            detail={"idempotency_key": outbox_row["idempotency_key"], "attempts": outbox_row["attempts"]},
        )


def on_dead(tx: Store, outbox_row: dict, *, error: str, now: datetime | None = None) -> None:
    """The message could not be delivered after the last try: the workflow fails, for a person to see."""
    workflow = tx.get_workflow(outbox_row["workflow_id"])
    if workflow and workflow["state"] not in TERMINAL_STATES:
        transition(
            tx,
            workflow,
            "failed",
            reason="delivery_failed",
            now=now,
            detail={
                "idempotency_key": outbox_row["idempotency_key"],
                "attempts": outbox_row["attempts"],
                "error": error,
            },
        )


# --- steps ----------------------------------------------------------------------------------------


def _reserve(tx: Store, order: Order | None) -> str:
    """Take one unit of the order's item for the replacement; the failure reason, or "" when reserved."""
    if order is None:
        return "unknown_order"
    if not order.in_stock:
        return "out_of_stock"
    if order.stock_count > 0 and not tx.take_one_from_stock(order.order_id):
        return "out_of_stock"
    return ""


def _create(tx: Store, claim: ClaimRecord, kind: str, *, authorised_by: str, now: datetime) -> int:
    """A new workflow row: a payout of the order's value (refund) or of one unit (replacement)."""
    order = tx.get_order(claim.order_id)
    amount = round(order.value, 2) if (order is not None and kind == "refund") else None
    return tx.create_workflow(
        claim.claim_id,
        kind,
        state="created",
        now=now,
        order_id=claim.order_id,
        amount=amount,
        authorised_by=authorised_by,
    )


def _fall_back_to_refund(
    tx: Store,
    claim: ClaimRecord,
    order: Order | None,
    *,
    reason: str,
    settings: Settings,
    now: datetime,
    authorised_by: str,
) -> dict:
    """The replacement could not be reserved: refund instead, and tell the customer in the thread."""
    text = messages.compose_fallback_to_refund(claim_id=claim.claim_id, order=order)
    reasons = list(dict.fromkeys([*claim.reasons, "out_of_stock_refund"]))
    status = lifecycle.FALLBACK_TO_REFUND.get(claim.status, claim.status)
    if status != claim.status:
        claim = tx.change_status(
            claim.claim_id,
            status,
            actor="system",
            expected_version=claim.version,
            resolution="refund",
            reasons=reasons,
            message=text,
            updated_at=iso(now),
        )
    tx.add_message(claim.claim_id, actor="bot", kind="fallback_to_refund", text=text, at=now)
    tx.log_event(
        claim.claim_id,
        "system",
        "fallback_to_refund",
        at=now,
        status=status,
        reasons=(reason,),
        detail={"from": "replacement", "to": "refund", "reason": reason},
    )
    existing = [w for w in tx.workflows_for_claims([claim.claim_id]) if w["kind"] == "refund"]
    if existing:
        return existing[-1] if existing[-1]["state"] != "failed" else retry_delivery(tx, existing[-1], now=now)
    workflow_id = _create(tx, claim, "refund", authorised_by=authorised_by, now=now)
    workflow = _workflow(tx, workflow_id)
    tx.log_event(
        claim.claim_id,
        "system",
        "refund_created",
        at=now,
        reasons=(reason,),
        detail={"workflow_id": workflow_id, "kind": "refund", "from": None, "to": "created"},
    )
    workflow = transition(tx, workflow, "approved", reason="out_of_stock_refund", now=now)
    return advance(tx, workflow, settings=settings, now=now)


def retry_delivery(tx: Store, workflow: dict, *, actor: str = "system", now: datetime | None = None) -> dict:
    """A workflow that failed on delivery tries again: its dead message goes back in the queue under the
    same idempotency key (so a receiver that did get it after all still sees it once)."""
    now = now or utcnow()
    key = idempotency_key(workflow["claim_id"], workflow["kind"])
    row = tx.get_outbox_by_key(key)  # the key is UNIQUE: one lookup, not a scan of every dead row
    claim = tx.get_claim(workflow["claim_id"])
    if claim is None or lifecycle.RESOLUTION_OF.get(claim.status) != workflow["kind"]:
        # The claim is no longer a refund (or no longer a replacement): its old instruction stays dead.
        raise InvalidAction(
            f"This claim is no longer approved for a {workflow['kind']} ({claim.status if claim else 'missing'}), "
            "so its failed delivery is not sent again."
        )
    if workflow["reason"] != "delivery_failed" or row is None or row["state"] != "dead":
        raise InvalidAction(
            f"The {workflow['kind']} for this claim could not go ahead ({workflow['reason'] or 'failed'}); "
            "choose the other resolution."
        )
    tx.requeue_outbox(row["id"], now=now)
    waiting = WAITING_STATE[workflow["kind"]]
    if not tx.move_workflow(workflow["id"], from_state="failed", to_state=waiting, reason="", now=now):
        raise TransitionError(f"workflow {workflow['id']} is no longer failed")
    tx.log_event(
        workflow["claim_id"],
        actor,
        f"{workflow['kind']}_{waiting}",
        at=now,
        detail={
            "workflow_id": workflow["id"],
            "kind": workflow["kind"],
            "from": "failed",
            "to": waiting,
            "idempotency_key": key,
            "retry": True,
        },
    )
    return _workflow(tx, workflow["id"])


def _payload(
    workflow: dict, claim: ClaimRecord, order: Order | None, key: str, settings: Settings, now: datetime
) -> dict:
    """The JSON body of the outgoing message (see README, Workflows: payload format)."""
    kind = workflow["kind"]
    body = {
        "type": MESSAGE_TYPE[kind],
        "idempotency_key": key,
        "claim_id": claim.claim_id,
        "workflow_id": workflow["id"],
        "order_id": claim.order_id,
        "created_at": iso(now),
    }
    if kind == "refund":
        body.update(amount=round(order.value, 2) if order else None, currency=order.currency if order else None)
    else:
        body.update(
            sku=order.sku if order else "",
            item_name=order.item_name if order else "",
            quantity=1,
            ship_within_business_days=settings.replacement_ship_days,
        )
    return body


__all__ = [
    "KINDS",
    "STATES",
    "TERMINAL_STATES",
    "TRANSITIONS",
    "TransitionError",
    "advance",
    "idempotency_key",
    "on_dead",
    "on_delivered",
    "resume_unfinished",
    "retry_delivery",
    "start_workflow",
    "transition",
]
