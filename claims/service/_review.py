"""The reviewer's side: the queue, opening a case (which takes its lock), deciding it, labelling photos.

Every action reads the claim inside its write transaction, so a decision is made on the claim as it is
when it commits; only a reviewer may deny, and the lifecycle refuses a decision on a settled claim.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from claims import accounts, lifecycle, messages
from claims.errors import CaseLocked, InvalidAction, InvalidInput
from claims.models import REVIEW_ACTIONS, Decision, utcnow
from claims.service._base import ServiceBase
from claims.service._views import case_dict, status_dict
from claims.store import iso, parse_time
from vision_models.labels import DAMAGE_LABELS


def _reviewer_name(reviewer: str) -> str:
    name = (reviewer or "").strip()
    if not name:
        raise InvalidInput("A reviewer name is required.")
    return name


class Review(ServiceBase):
    def authenticate(self, username: str, password: str, *, client_ip: str | None = None) -> bool:
        """See claims.accounts.authenticate: raises RateLimited while the name or the client's IP waits
        out a login back-off."""
        return accounts.authenticate(self.store, self.settings, username, password, client_ip=client_ip)

    def queue(self) -> list[dict]:
        """Open cases, high priority first, then the least time left on the SLA."""
        now = utcnow()
        locks = self.store.locks()
        items = []
        for claim in self.store.claims_with_status(lifecycle.REVIEW_QUEUE):
            order = self.store.get_order(claim.order_id)
            due = parse_time(claim.sla_due_at)
            lock = locks.get(claim.claim_id)
            until = parse_time(lock["until"]) if lock is not None else None
            lock_active = until is not None and until > now
            items.append(
                {
                    "claim_id": claim.claim_id,
                    "status": claim.status,
                    "priority": claim.priority or "normal",
                    "reasons": list(claim.reasons),
                    "order_id": claim.order_id,
                    "item_name": order.item_name if order else None,
                    "summary": (claim.complaint or {}).get("summary", ""),
                    "created_at": claim.created_at,
                    "sla_due_at": claim.sla_due_at,
                    "sla_seconds_left": int((due - now).total_seconds()) if due else None,
                    "locked_by": lock["reviewer"] if lock and lock_active else None,
                    "lock_until": lock["until"] if lock and lock_active else None,
                }
            )
        items.sort(key=lambda i: (i["priority"] != "high", i["sla_due_at"] or "9999", i["created_at"]))
        return items

    def open_case(self, claim_id: str, reviewer: str) -> dict:
        """Everything a reviewer needs about one claim; takes or renews the case lock."""
        reviewer = _reviewer_name(reviewer)
        now = utcnow()
        with self.store.transaction() as tx:
            claim = self._claim(claim_id)
            lock = self._check_lock(claim.claim_id, reviewer, now)
            if claim.status not in lifecycle.SETTLED:
                until = now + timedelta(minutes=self.settings.review_lock_minutes)
                tx.set_lock(claim.claim_id, reviewer, until)
                lock = {"reviewer": reviewer, "until": iso(until)}
                tx.log_event(
                    claim.claim_id,
                    f"reviewer:{reviewer}",
                    "review_opened",
                    status=claim.status,
                    detail={"lock_until": iso(until)},
                )
        return case_dict(self.store, self.photos, self._claim(claim.claim_id), lock)

    def decide(self, claim_id: str, reviewer: str, action: str, note: str = "") -> dict:
        """A reviewer's decision. Only this can deny. Returns the customer's claim_status dict."""
        reviewer = _reviewer_name(reviewer)
        if action not in REVIEW_ACTIONS:
            raise InvalidInput(f"Unknown action {action!r}; choose one of {', '.join(REVIEW_ACTIONS)}.")
        note = self._message_text(note, required=action in ("deny", "request_info"), what="note")
        status, resolution = lifecycle.REVIEW_OUTCOME[action]
        with self.store.transaction() as tx:
            now = utcnow()
            claim = self._claim(claim_id)
            claim_id = claim.claim_id
            if claim.status in lifecycle.SETTLED:
                raise InvalidAction(f"This claim is already closed ({claim.status}).")
            self._check_lock(claim_id, reviewer, now)
            if action == "deny":
                started = [w for w in tx.workflows_for_claims([claim_id]) if w["state"] != "failed"]
                if started:
                    raise InvalidAction(
                        f"A {started[0]['kind']} is already under way for this claim ({started[0]['state']}), "
                        "so it cannot be denied. Approve it, or ask the customer for information."
                    )
            order = tx.get_order(claim.order_id)
            text = messages.compose_review(action, claim_id=claim_id, note=note, order=order, settings=self.settings)
            decision = Decision(
                status=status,
                resolution=resolution,
                priority=claim.priority,
                reasons=claim.reasons,
                label=claim.label,
                customer_message=text,
            )
            tx.update_claim(claim_id, reviewed=1)
            self.apply_decision(
                tx,
                claim,
                decision,
                order=order,
                actor=f"reviewer:{reviewer}",
                kind="reviewed",
                now=now,
                thread_actor="reviewer",
                thread_kind=action,
                author=reviewer,
                detail={"action": action, "note": note, "previous_status": claim.status},
            )
            tx.release_lock(claim_id)
        return status_dict(self.store, self._claim(claim_id))

    def correct_label(self, claim_id: str, sha256: str, label: str, reviewer: str) -> None:
        """Record a reviewer's damage label for a photo; it becomes a training example."""
        reviewer = _reviewer_name(reviewer)
        if label not in DAMAGE_LABELS:
            raise InvalidInput(f"Unknown damage label {label!r}; choose one of {', '.join(DAMAGE_LABELS)}.")
        with self.store.transaction() as tx:
            claim = self._claim(claim_id)
            row = next((r for r in tx.claim_photos(claim.claim_id) if r["sha256"] == sha256), None)
            if row is None:
                raise InvalidInput("This claim has no such photo.")
            predicted = (row["prediction"] or {}).get("label")
            tx.set_corrected_label(claim.claim_id, sha256, label)
            tx.add_labelled_example(
                claim_id=claim.claim_id, sha256=sha256, label=label, predicted_label=predicted, reviewer=reviewer
            )
            tx.log_event(
                claim.claim_id,
                f"reviewer:{reviewer}",
                "label_corrected",
                status=claim.status,
                detail={"sha256": sha256, "predicted": predicted, "label": label},
            )

    def _check_lock(self, claim_id: str, reviewer: str, now: datetime) -> dict | None:
        lock = self.store.get_lock(claim_id)
        if lock and lock["reviewer"] != reviewer and parse_time(lock["until"]) > now:  # type: ignore[operator]
            raise CaseLocked(lock["reviewer"], parse_time(lock["until"]))
        return {"reviewer": lock["reviewer"], "until": lock["until"]} if lock else None
