"""The customer's side: file a claim, read it, add to it, ask for a person.

The models run outside any lock; everything a decision rests on that other requests can change (earlier
claims on the order, photos of other claims, claims from the same email, the claim's own status) is read
inside the write transaction that commits the decision (BEGIN IMMEDIATE: nobody else can write meanwhile,
in this process or another), so two concurrent claims on one order cannot both pass the checks. Adding to
a claim is a compare-and-set on its version: if the claim changed while the models ran, the work is done
again on what it now holds, and a reviewer's decision made meanwhile is never overwritten.

Budgets (settings, docs/security.md): submissions in progress per client address (in this process), and new
claims per email, per order and per client address per hour, counted again inside the write transaction. The
UI passes the caller's address (`client_ip`); Python callers pass none and are limited per email only. The
address is kept only as a keyed hash. Photos of a claim on an order we do not know are kept reduced (`photos.reduced`).

This module is long because filing a claim and adding to one share their budget checks and the
compare-and-set retry loop, which read best side by side.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta

from PIL import Image
from pydantic import ValidationError

from claims import lifecycle
from claims.errors import InvalidAction, InvalidInput, RateLimited
from claims.models import ClaimRecord, ClaimSubmission, Decision, PhotoEvidence, utcnow
from claims.photos import IncomingPhoto, PhotoSource, preview, read_photos, reduced
from claims.service._base import dedupe, token_hash
from claims.service._evidence import EvidenceGathering, evidence_of, stored_of
from claims.service._views import customer_texts, status_dict
from claims.store import Store, iso

IDEMPOTENCY_TTL = timedelta(hours=24)
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # base32: no 0/1/8/9 to confuse with O/I/B/g
# How often add_evidence starts over when the claim keeps changing under it, before asking to try again.
_MAX_ATTEMPTS = 4


def new_claim_id() -> str:
    return "CLM-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(10))


class _ClientSlots:
    """Submissions in progress per client (keyed hash of its address), in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy: dict[str, int] = {}

    @contextmanager
    def hold(self, client: str | None, limit: int) -> Iterator[None]:
        if client is None:
            yield
            return
        with self._lock:
            if self._busy.get(client, 0) >= limit:
                raise RateLimited(
                    "We are still working on what you sent a moment ago. Please wait for it to finish, then try again."
                )
            self._busy[client] = self._busy.get(client, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                left = self._busy[client] - 1
                if left:
                    self._busy[client] = left
                else:
                    del self._busy[client]


_client_slots = _ClientSlots()


def _kept(photos: Sequence[IncomingPhoto], order_known: bool) -> list[IncomingPhoto]:
    """The photos as they will be stored: reduced when the order is unknown (each file counted once)."""
    if order_known:
        return list(photos)
    kept: dict[str, IncomingPhoto] = {}
    for photo in map(reduced, photos):
        kept.setdefault(photo.sha256, photo)
    return list(kept.values())


def _pydantic_message(error: ValidationError) -> str:
    first = error.errors()[0]
    message = str(first.get("msg", "invalid input"))
    return message.removeprefix("Value error, ")


class Intake(EvidenceGathering):
    _text_pool: ThreadPoolExecutor

    def submit_claim(
        self,
        order_id: str,
        email: str,
        description: str,
        photos: Sequence[PhotoSource] | None = (),
        idempotency_key: str | None = None,
        *,
        client_ip: str | None = None,
    ) -> dict:
        """File a claim and decide it. Returns the claim_status dict plus `access_token`.

        `client_ip` (the UI passes the caller's address) turns on the per-address limits."""
        submission = self._validate_submission(order_id, email, description, idempotency_key)
        client = self.store.client_hash(client_ip) if client_ip else None
        with _client_slots.hold(client, self.settings.max_concurrent_submissions_per_ip):
            return self._submit(submission, photos, client)

    def _submit(self, submission: ClaimSubmission, photos: Sequence[PhotoSource] | None, client: str | None) -> dict:
        key = submission.idempotency_key
        fingerprint = hashlib.sha256(
            json.dumps([submission.order_id, submission.email, submission.description]).encode()
        ).hexdigest()
        if key:
            self.store.purge_idempotency(utcnow() - IDEMPOTENCY_TTL)
            replay = self._replay(key, fingerprint)
            if replay is not None:
                return replay
        # early, cheap; checked again when writing
        self._check_rate(self.store, submission.email, submission.order_id, client, utcnow())
        order_known = self.store.get_order(submission.order_id) is not None
        # The complaint is read while the photos decode and the vision model runs: they overlap.
        complaint_future = self._text_pool.submit(self.models.text.analyze, submission.description)
        try:
            incoming = _kept(read_photos(photos, self.settings), order_known)
            photo_evidence, photo_facts = self._look_at(incoming)
        except BaseException:
            complaint_future.cancel()  # a rejected photo ends the request; the reading, if started, is dropped
            raise
        complaint = complaint_future.result()
        versions = self.models.versions()
        claim_id = new_claim_id()
        # An idempotent submission's token can be derived again for a retry, so it never needs storing.
        token = self.store.idempotent_token(key, claim_id) if key else secrets.token_urlsafe(24)
        stored = [photo.to_stored() for photo in incoming]

        with self.store.transaction() as tx:
            if key:
                replay = self._replay(key, fingerprint)  # a concurrent retry won the race
                if replay is not None:
                    return replay
            now = utcnow()
            self._check_rate(tx, submission.email, submission.order_id, client, now)
            order = tx.get_order(submission.order_id)
            evidence = self._evidence(
                tx,
                claim_id,
                photo_evidence,
                stored,
                complaint,
                email=submission.email,
                order_id=submission.order_id,
                order=order,
                now=now,
            )
            decision = self._decide(tx, evidence, submission.order_id)
            self.photos.save_all(incoming)  # content-addressed and atomic; a rollback leaves only a spare file
            new_claim = {
                "claim_id": claim_id,
                "order_id": submission.order_id,
                "email": submission.email,
                "description": submission.description,
                "token_hash": token_hash(token),
                "created_at": iso(now),
                "client_ip_hash": client,
            }

            def attach_what_the_customer_sent() -> None:
                self._keep_what_was_sent(
                    tx,
                    claim_id,
                    incoming,
                    photo_facts,
                    kind="claim",
                    text=submission.description,
                    event="submitted",
                    now=now,
                    detail={"order_id": submission.order_id, "idempotency_key": bool(key)},
                )

            self.apply_decision(
                tx,
                None,
                decision,
                order=order,
                actor="system",
                kind="decided",
                now=now,
                new_claim=new_claim,
                complaint=complaint,
                signals=evidence.fraud_signals,
                versions=versions,
                before_announcing=attach_what_the_customer_sent,
            )
            if key:
                tx.put_idempotency(key, fingerprint=fingerprint, claim_id=claim_id, token_hash=token_hash(token))
        result = status_dict(self.store, self._claim(claim_id))
        result["access_token"] = token
        return result

    def claim_status(self, claim_id: str, access_token: str) -> dict:
        return status_dict(self.store, self._claim_for(claim_id, access_token))

    def request_human(self, claim_id: str, access_token: str, message: str = "") -> dict:
        """Hand the claim to a person (priority high), whatever its status; nothing needs repeating."""
        claim_id = self._claim_for(claim_id, access_token).claim_id
        text = self._message_text(message, required=False)
        with self.store.transaction() as tx:
            claim = self._claim(claim_id)  # read inside the transaction: the decision rests on this version
            now = utcnow()
            decision = Decision(
                status="in_review",
                priority="high",
                reasons=tuple(dedupe(["human_requested", *claim.reasons])),
                label=claim.label,
                resolution=claim.resolution if claim.status in lifecycle.APPROVED else None,
            )
            tx.add_message(claim_id, actor="customer", kind="human_requested", text=text, at=now)
            tx.update_claim(claim_id, human_requested=1)
            self.apply_decision(
                tx,
                claim,
                decision,
                order=tx.get_order(claim.order_id),
                actor="customer",
                kind="human_requested",
                now=now,
                detail={"previous_status": claim.status, "message": text},
            )
        return status_dict(self.store, self._claim(claim_id))

    def add_evidence(
        self,
        claim_id: str,
        access_token: str,
        message: str = "",
        photos: Sequence[PhotoSource] | None = (),
        *,
        client_ip: str | None = None,
    ) -> dict:
        """Append a message and/or photos to the thread and decide again with everything the claim holds."""
        client = self.store.client_hash(client_ip) if client_ip else None
        with _client_slots.hold(client, self.settings.max_concurrent_submissions_per_ip):
            return self._add_evidence(claim_id, access_token, message, photos)

    def _add_evidence(
        self, claim_id: str, access_token: str, message: str, photos: Sequence[PhotoSource] | None
    ) -> dict:
        first = self._claim_for(claim_id, access_token)
        claim_id = first.claim_id
        if first.status not in lifecycle.CUSTOMER_MAY_ADD:
            raise InvalidAction(
                "Your claim is already approved, so there is nothing more to send. "
                'If something is still wrong, press "Talk to a person".'
            )
        text = self._message_text(message, required=False)
        received = _kept(read_photos(photos, self.settings), self.store.get_order(first.order_id) is not None)
        if not text and not received:
            raise InvalidInput("Please add a message or at least one photo.")
        looked: dict[str, tuple[PhotoEvidence, dict]] = {}  # the models' verdicts survive a retry
        seen = first
        for _ in range(_MAX_ATTEMPTS):
            held = self.store.claim_photos(claim_id)
            held_shas = {row["sha256"] for row in held}
            incoming = [photo for photo in received if photo.sha256 not in held_shas]
            fresh = [photo for photo in incoming if photo.sha256 not in looked]
            for photo, verdict, facts in zip(fresh, *self._look_at(fresh)):
                looked[photo.sha256] = (verdict, facts)
            complaint = self.models.text.analyze(
                "\n\n".join(customer_texts(self.store, claim_id) + ([text] if text else []))
            )
            versions = self.models.versions()
            with self.store.transaction() as tx:
                claim = self._claim(claim_id)
                if claim.version != seen.version:
                    if claim.status in lifecycle.SETTLED:
                        # Decided while the models ran (a reviewer, or another message that was enough):
                        # that decision stands; what the customer sent is kept in the thread.
                        self._record_late_evidence(tx, claim, incoming, looked, text)
                        break
                    seen = claim  # the claim moved on while the models ran: look again at what it holds now
                    continue
                now = utcnow()
                photo_evidence = [evidence_of(row) for row in held] + [looked[p.sha256][0] for p in incoming]
                stored = [stored_of(row) for row in held] + [photo.to_stored() for photo in incoming]
                order = tx.get_order(claim.order_id)
                evidence = self._evidence(
                    tx,
                    claim_id,
                    photo_evidence,
                    stored,
                    complaint,
                    email=claim.email,
                    order_id=claim.order_id,
                    order=order,
                    now=now,
                    human_requested=claim.human_requested,
                )
                decision = self._decide(tx, evidence, claim.order_id)
                if claim.reviewed and decision.status != "needs_more_photos":
                    # A person already took part (asked a question, or declined): the answer goes back to them.
                    decision = Decision(
                        status="in_review",
                        priority=decision.priority or claim.priority or "normal",
                        reasons=tuple(dedupe(["customer_replied", *decision.reasons])),
                        label=decision.label,
                    )
                self.photos.save_all(incoming)
                self._keep_what_was_sent(
                    tx,
                    claim_id,
                    incoming,
                    [looked[p.sha256][1] for p in incoming],
                    after=len(held),
                    kind="more_evidence",
                    text=text,
                    event="evidence_added",
                    now=now,
                    status=claim.status,
                    detail={"message_chars": len(text)},
                )
                self.apply_decision(
                    tx,
                    claim,
                    decision,
                    order=order,
                    actor="system",
                    kind="decided",
                    now=now,
                    complaint=complaint,
                    signals=evidence.fraud_signals,
                    versions=versions,
                )
                break
        else:
            raise RateLimited("Your claim is being updated right now; please send your message again in a moment.")
        return status_dict(self.store, self._claim(claim_id))

    def customer_photo(self, claim_id: str, access_token: str, sha256: str):
        """The stored file of one photo of this claim (and only of this claim)."""
        from claims.errors import ClaimNotFound

        claim = self._claim_for(claim_id, access_token)
        for row in self.store.claim_photos(claim.claim_id):
            if row["sha256"] == sha256:
                return self.photos.path_for(row["sha256"], row["ext"])
        raise ClaimNotFound("This claim has no such photo.")

    def photo_preview(self, source: PhotoSource, *, max_side: int) -> Image.Image | None:
        """A thumbnail of an upload not sent yet, under the intake's checks and budget (`photos.preview`);
        None when the intake would refuse it, it is too costly to preview, or decoding is busy."""
        if not isinstance(source, (str, os.PathLike)):
            return None
        return preview(source, max_side=max_side, settings=self.settings)

    def customer_photo_preview(self, claim_id: str, access_token: str, sha256: str, *, max_side: int):
        """A thumbnail of one photo of this claim (and only of this claim), as `photo_preview`."""
        return preview(self.customer_photo(claim_id, access_token, sha256), max_side=max_side, settings=self.settings)

    # --- internals --------------------------------------------------------------------------------

    def _record_late_evidence(
        self,
        tx: Store,
        claim: ClaimRecord,
        incoming: Sequence[IncomingPhoto],
        looked: dict[str, tuple[PhotoEvidence, dict]],
        text: str,
    ) -> None:
        """Keep what the customer sent while the claim was being decided, without deciding again: that
        decision stands (a reviewer's is never overwritten), and "Talk to a person" is still there."""
        held_shas = {row["sha256"] for row in tx.claim_photos(claim.claim_id)}
        incoming = [p for p in incoming if p.sha256 not in held_shas]
        self.photos.save_all(incoming)
        self._keep_what_was_sent(
            tx,
            claim.claim_id,
            incoming,
            [looked[p.sha256][1] for p in incoming],
            after=len(held_shas),
            kind="more_evidence",
            text=text,
            event="evidence_after_review",
            now=utcnow(),
            status=claim.status,
            detail={"message_chars": len(text)},
        )

    def _keep_what_was_sent(
        self,
        tx: Store,
        claim_id: str,
        incoming: Sequence[IncomingPhoto],
        facts: Sequence[dict],
        *,
        kind: str,
        text: str,
        event: str,
        now: datetime,
        detail: dict,
        after: int = 0,
        status: str | None = None,
    ) -> None:
        """The customer's photos, their message in the thread and the audit event: what they sent, kept."""
        shas = [p.sha256 for p in incoming]
        self._attach_photos(tx, claim_id, incoming, facts, after=after)
        tx.add_message(claim_id, actor="customer", kind=kind, text=text, photos=shas, at=now)
        tx.log_event(claim_id, "customer", event, at=now, status=status, detail={"photos": shas, **detail})

    def _check_rate(self, reader: Store, email: str, order_id: str, client: str | None, now: datetime) -> None:
        """Refuse a new claim over the hourly limits per email, and for a caller with an address (`client`,
        the public app) per order and per address too."""
        hour_ago = now - timedelta(hours=1)
        s = self.settings
        if reader.count_claims_by_email(email, hour_ago) >= s.submissions_per_email_per_hour:
            raise RateLimited(
                "We have received many claims from this email address in the last hour. "
                "Please wait a little before sending another, or add to one of your existing claims."
            )
        if client is None:
            return  # a Python caller (an integration, an import) is not limited per order or per address
        if reader.count_claims_on_order(order_id, hour_ago) >= s.claims_per_order_per_hour:
            raise RateLimited(
                "We have received several claims on this order in the last hour. Please add to the claim "
                'you already sent (under "Track my claim"), or wait a little before sending another.'
            )
        if reader.count_claims_by_client(client, hour_ago) >= s.claims_per_ip_per_hour:
            raise RateLimited(
                "We have received many claims from your connection in the last hour. "
                "Please wait a little before sending another, or add to one of your existing claims."
            )

    def _validate_submission(self, order_id, email, description, idempotency_key) -> ClaimSubmission:
        try:
            submission = ClaimSubmission(
                order_id=str(order_id or ""),
                email=str(email or ""),
                description=str(description or ""),
                idempotency_key=(str(idempotency_key).strip() or None) if idempotency_key else None,
            )
        except ValidationError as exc:
            raise InvalidInput(_pydantic_message(exc)) from None
        length = len(submission.description)
        if length < self.settings.min_description_chars:
            raise InvalidInput("Please tell us in a few more words what happened to your delivery.")
        if length > self.settings.max_description_chars:
            raise InvalidInput(
                f"Your description is {length} characters long; please keep it under "
                f"{self.settings.max_description_chars} characters."
            )
        return submission

    def _replay(self, key: str, fingerprint: str) -> dict | None:
        row = self.store.get_idempotency(key)
        if row is None:
            return None
        if not hmac.compare_digest(row["fingerprint"], fingerprint):
            raise InvalidInput("This submission key was already used for a different claim.")
        token = self.store.idempotent_token(key, row["claim_id"])
        if not hmac.compare_digest(token_hash(token), row["token_hash"]):
            # Cannot happen unless the database's key changed; the token is not ours to give then.
            raise InvalidInput("This submission key was already used: track your claim with its access code.")
        result = status_dict(self.store, self._claim(row["claim_id"]))
        result["access_token"] = token
        return result
