"""What every part of the service shares: the store, settings, photo store and models; looking a claim up;
and `apply_decision`, the one place a claim's status changes, inside the caller's write transaction."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from claims import lifecycle, messages, workflows
from claims.config import Settings
from claims.errors import ClaimNotFound, InvalidInput
from claims.models import ClaimRecord, ComplaintAnalysis, Decision, FraudSignal, Order, clean_text
from claims.photos import PhotoStore
from claims.service._models import Models
from claims.store import Store, iso, parse_time

if TYPE_CHECKING:
    from claims.outbox import OutboxDispatcher

_DUMMY_TOKEN_HASH = hashlib.sha256(b"no such claim").hexdigest()


def token_hash(token: str) -> str:
    return hashlib.sha256((token or "").encode()).hexdigest()


def dedupe(codes: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(codes))


class ServiceBase:
    def __init__(self, store: Store, settings: Settings, *, photo_root: str | Path, models: Models):
        self.store = store
        self.settings = settings
        self.photos = PhotoStore(photo_root)
        self.models = models
        self._dispatcher: OutboxDispatcher | None = None  # once start_dispatcher() runs

    # --- looking claims up -----------------------------------------------------------------------

    def _claim(self, claim_id: str) -> ClaimRecord:
        claim = self.store.get_claim(str(claim_id or "").strip().upper())
        if claim is None:
            raise ClaimNotFound()
        return claim

    def _claim_for(self, claim_id: str, access_token: str) -> ClaimRecord:
        """The claim, if the token matches; otherwise the same ClaimNotFound as for an unknown id."""
        claim = self.store.get_claim(str(claim_id or "").strip().upper())
        expected = claim.token_hash if claim else _DUMMY_TOKEN_HASH
        matches = hmac.compare_digest(token_hash(str(access_token or "").strip()), expected)
        if claim is None or not matches:
            raise ClaimNotFound()
        return claim

    def _message_text(self, message: str, *, required: bool, what: str = "message") -> str:
        text = clean_text(str(message or ""))
        if required and not text:
            raise InvalidInput(f"Please write a {what} for the customer; they will read it.")
        if len(text) > self.settings.max_message_chars:
            raise InvalidInput(
                f"The {what} is {len(text)} characters long; please keep it under "
                f"{self.settings.max_message_chars} characters."
            )
        return text

    # --- the one writer of a claim's status ------------------------------------------------------

    def _decision_values(
        self,
        claim: ClaimRecord | None,
        decision: Decision,
        *,
        order: Order | None,
        claim_id: str,
        now: datetime,
        complaint: ComplaintAnalysis | None,
        signals: Sequence[FraudSignal] | None,
        versions: dict[str, str] | None,
    ) -> dict:
        text = decision.customer_message or messages.compose(
            decision, claim_id=claim_id, order=order, settings=self.settings
        )
        values: dict = {
            "resolution": decision.resolution,
            "priority": decision.priority,
            "reasons": list(decision.reasons),
            "message": text,
            "label": decision.label,
            "updated_at": iso(now),
        }
        if decision.status == "in_review":
            due = now + timedelta(hours=self.settings.sla_hours(decision.priority or "normal"))
            current = parse_time(claim.sla_due_at) if claim is not None else None
            if claim is not None and claim.status == "in_review" and current is not None:
                due = min(due, current)  # escalating never gives a reviewer more time
            values["sla_due_at"] = iso(due)
        if decision.status in lifecycle.SETTLED:
            values["decided_at"] = iso(now)
        if complaint is not None:
            values["complaint"] = complaint.model_dump(mode="json")
        if signals is not None:
            values["fraud_signals"] = [s.model_dump(mode="json") for s in signals]
        if versions is not None:
            values["model_versions"] = versions
        return values

    def apply_decision(
        self,
        tx: Store,
        claim: ClaimRecord | None,
        decision: Decision,
        *,
        order: Order | None,
        actor: str,
        kind: str,
        now: datetime,
        new_claim: dict | None = None,
        complaint: ComplaintAnalysis | None = None,
        signals: Sequence[FraudSignal] | None = None,
        versions: dict[str, str] | None = None,
        detail: dict | None = None,
        thread_actor: str = "bot",
        thread_kind: str = "decision",
        author: str = "",
        before_announcing: Callable[[], None] | None = None,
    ) -> ClaimRecord:
        """Write a decision inside `tx`: the status (a compare-and-set on `claim.version`, checked against
        the lifecycle), its customer message, thread entry and audit event, and the payout it starts.

        `claim` is the record the decision was made on, read inside this transaction; None files a new
        claim from `new_claim`. `actor` is the audit actor ("system", "customer", "reviewer:<name>").
        `before_announcing` runs after the status is written and before the decision's thread entry (a new
        claim's own message comes first in its thread)."""
        claim_id = claim.claim_id if claim is not None else new_claim["claim_id"]  # type: ignore[index]
        who = lifecycle.actor_kind(actor)
        values = self._decision_values(
            claim,
            decision,
            order=order,
            claim_id=claim_id,
            now=now,
            complaint=complaint,
            signals=signals,
            versions=versions,
        )
        if claim is None:
            tx.insert_claim({**new_claim, **values, "status": decision.status}, actor=who)  # type: ignore[dict-item]
        else:
            tx.change_status(claim_id, decision.status, actor=who, expected_version=claim.version, **values)
        if before_announcing is not None:
            before_announcing()
        tx.add_message(claim_id, actor=thread_actor, kind=thread_kind, text=values["message"], author=author, at=now)
        tx.log_event(
            claim_id,
            actor,
            kind,
            at=now,
            status=decision.status,
            reasons=decision.reasons,
            model_versions=versions or {},
            detail={
                "resolution": decision.resolution,
                "priority": decision.priority,
                "label": decision.label,
                "fraud_signals": [s.code for s in signals or ()],
                **(detail or {}),
            },
        )
        was_approved = claim is not None and claim.status in lifecycle.APPROVED
        if decision.status in lifecycle.APPROVED and decision.resolution and not was_approved:
            self._start_workflow(tx, claim_id, decision.resolution, authorised_by=actor)
        return self._claim(claim_id)

    def _start_workflow(self, tx: Store, claim_id: str, resolution: str, *, authorised_by: str) -> None:
        """Start the refund or replacement inside the deciding transaction (the database refuses a second
        automatic payout on one order, or refunds above its value, and the whole decision rolls back)."""
        tx.log_event(claim_id, "system", "workflow_requested", detail={"resolution": resolution})
        workflows.start_workflow(tx, claim_id, resolution, settings=self.settings, authorised_by=authorised_by)
        if self._dispatcher is not None:
            self._dispatcher.notify()  # it waits for the store lock, so it sees the row once this commits
