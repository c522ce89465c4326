"""ClaimService: one claim end to end (intake, models, fraud, policy, message) and the review operations.

Thin orchestration: photos are checked by `claims.photos`, the models run outside any lock, the decision
comes from the pure `claims.policy.decide`, the words from `claims.messages`, and every change of a claim
is written together with its thread message and audit event in one store transaction.

Thread safety: the store serialises SQLite access; the models are loaded once (lazily, under a lock) and
shared by threads; nothing else is mutable.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from pydantic import ValidationError

from claims import accounts, fraud, messages, policy, workflows
from claims.config import Settings, load_settings
from claims.errors import CaseLocked, ClaimNotFound, InvalidAction, InvalidInput, RateLimited
from claims.models import (
    FINAL_STATUSES,
    REVIEW_ACTIONS,
    ClaimSubmission,
    ComplaintAnalysis,
    Decision,
    Evidence,
    FraudSignal,
    Order,
    PhotoEvidence,
    PhotoQuality,
    StoredPhoto,
    clean_text,
    utcnow,
)
from claims.photos import IncomingPhoto, PhotoSource, PhotoStore, read_photos
from claims.store import Store, iso, parse_time
from vision_models.labels import DAMAGE_LABELS, DamagePrediction

RESOLVED_STATUSES = ("auto_refund", "auto_replacement", "approved_refund", "approved_replacement")
QUEUE_STATUSES = ("in_review", "info_requested")
# Statuses in which the customer may still add to the claim and have it decided again.
_REOPENABLE = ("needs_more_photos", "in_review", "info_requested", "denied")
_REVIEW_OUTCOME = {
    "approve_refund": ("approved_refund", "refund"),
    "approve_replacement": ("approved_replacement", "replacement"),
    "deny": ("denied", None),
    "request_info": ("info_requested", None),
}
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # base32: no 0/1/8/9 to confuse with O/I/B/g
IDEMPOTENCY_TTL = timedelta(hours=24)
_CUSTOMER_TEXT_KINDS = ("claim", "more_evidence", "human_requested")
_DUMMY_TOKEN_HASH = hashlib.sha256(b"no such claim").hexdigest()


class VisionModel(Protocol):
    version: str

    def predict_batch(self, images: list) -> list[DamagePrediction]: ...


class TextModel(Protocol):
    version: str

    def analyze(self, text: str) -> ComplaintAnalysis: ...


class ComplaintReader:
    """The shipped text model behind the `TextModel` protocol."""

    def __init__(self) -> None:
        from claims import complaint

        self._complaint = complaint
        self.version = complaint.MODEL_VERSION

    def analyze(self, text: str) -> ComplaintAnalysis:
        return self._complaint.analyze_complaint(text)


def export_labelled_examples(store: Store, photos: PhotoStore, folder: str | Path) -> dict[str, int]:
    """Copy reviewer-labelled photos into `folder/<label>/<sha256>.<ext>` (an ImageFolder for
    `python -m vision_models.train`). Returns the number of photos per label. Re-running is cheap."""
    folder = Path(folder)
    counts: dict[str, int] = {}
    for row in store.labelled_examples():
        source = photos.path_for(row["sha256"], row["ext"])
        if not source.is_file():
            continue
        # A photo relabelled since a previous export must not stay in its old class folder.
        for label in DAMAGE_LABELS:
            if label != row["label"]:
                (folder / label / source.name).unlink(missing_ok=True)
        target = folder / row["label"] / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            shutil.copyfile(source, target)
        counts[row["label"]] = counts.get(row["label"], 0) + 1
    return counts


def new_claim_id() -> str:
    return "CLM-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(10))


def _token_hash(token: str) -> str:
    return hashlib.sha256((token or "").encode()).hexdigest()


def _pydantic_message(error: ValidationError) -> str:
    first = error.errors()[0]
    message = str(first.get("msg", "invalid input"))
    return message.removeprefix("Value error, ")


def _dedupe(codes: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(codes))


class ClaimService:
    """See the module docstring and README's API section. Open with `ClaimService.open(path)`."""

    def __init__(
        self, store: Store, settings: Settings, *, photo_root: str | Path,
        vision: VisionModel | None = None, text: TextModel | None = None,
    ):
        self.store = store
        self.settings = settings
        self.photos = PhotoStore(photo_root)
        self._vision = vision
        self._text = text
        self._model_lock = threading.Lock()
        self._text_pool = ThreadPoolExecutor(max_workers=max(1, settings.concurrency_limit),
                                             thread_name_prefix="claimbot-text")
        self._tempdir: str | None = None
        self._dispatcher = None  # claims.outbox.OutboxDispatcher, once start_dispatcher() runs
        # Set when this open created the one random reviewer account: (name, password), shown once.
        self.generated_reviewer = accounts.ensure_accounts(store, settings)

    @classmethod
    def open(
        cls, path: str | Path | None = None, settings: Settings | None = None,
        vision: VisionModel | None = None, text: TextModel | None = None,
    ) -> "ClaimService":
        """Open (creating and migrating if needed) the store at `path`; photos live in `photos/` beside it."""
        settings = settings or load_settings()
        path = Path(path) if path is not None else Path(settings.data_dir) / "claims.db"
        tempdir = None
        if str(path) == ":memory:":
            tempdir = tempfile.mkdtemp(prefix="claimbot-photos-")
            photo_root = Path(tempdir)
        else:
            photo_root = path.parent / "photos"
        store = Store.open(path)
        service = cls(store, settings, photo_root=photo_root, vision=vision, text=text)
        service._tempdir = tempdir
        return service

    def close(self) -> None:
        self.stop_dispatcher()
        self._text_pool.shutdown(wait=True)
        self.store.close()
        if self._tempdir:
            shutil.rmtree(self._tempdir, ignore_errors=True)

    def __enter__(self) -> "ClaimService":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- models (loaded on first use, once) -------------------------------------------------------

    @property
    def vision(self) -> VisionModel:
        if self._vision is None:
            with self._model_lock:
                if self._vision is None:
                    if self.settings.torch_threads:
                        import torch

                        torch.set_num_threads(self.settings.torch_threads)
                    from vision_models import load_damage_classifier

                    self._vision = load_damage_classifier(self.settings.vision_weights or None)
        return self._vision

    @property
    def text(self) -> TextModel:
        if self._text is None:
            with self._model_lock:
                if self._text is None:
                    self._text = ComplaintReader()
        return self._text

    def text_analyze(self, text: str) -> ComplaintAnalysis:
        return self.text.analyze(text)

    def model_versions(self) -> dict[str, str]:
        """Versions of the models that took part (a vision model not yet needed is not loaded for this)."""
        return {
            "vision": str(getattr(self._vision, "version", "unknown")) if self._vision is not None else "not_used",
            "text": str(getattr(self.text, "version", "unknown")),
            "policy": str(getattr(policy, "POLICY_VERSION", "1")),
        }

    # --- customer side ----------------------------------------------------------------------------

    def submit_claim(
        self, order_id: str, email: str, description: str, photos: Sequence[PhotoSource] | None = (),
        idempotency_key: str | None = None,
    ) -> dict:
        """File a claim and decide it. Returns the claim_status dict plus `access_token`."""
        submission = self._validate_submission(order_id, email, description, idempotency_key)
        key = submission.idempotency_key
        fingerprint = hashlib.sha256(
            json.dumps([submission.order_id, submission.email, submission.description]).encode()
        ).hexdigest()
        if key:
            self.store.purge_idempotency(utcnow() - IDEMPOTENCY_TTL)
            replay = self._replay(key, fingerprint)
            if replay is not None:
                return replay
        now = utcnow()
        if self.store.count_claims_by_email(submission.email, now - timedelta(hours=1)) >= (
            self.settings.submissions_per_email_per_hour
        ):
            raise RateLimited(
                "We have received many claims from this email address in the last hour. "
                "Please wait a little before sending another, or add to one of your existing claims."
            )
        # The complaint is read while the photos decode and the vision model runs: they overlap.
        complaint_future = self._text_pool.submit(self.text_analyze, submission.description)
        try:
            incoming = read_photos(photos, self.settings)
            order = self.store.get_order(submission.order_id)
            claim_id = new_claim_id()
            token = secrets.token_urlsafe(24)
            photo_evidence, photo_facts = self._look_at(incoming)
        except BaseException:
            complaint_future.cancel()  # a rejected photo ends the request; the reading, if started, is dropped
            raise
        complaint = complaint_future.result()
        evidence = self._evidence(
            claim_id, photo_evidence, [photo.to_stored() for photo in incoming], complaint,
            email=submission.email, order_id=submission.order_id, order=order, now=now,
        )
        signals = evidence.fraud_signals
        decision = self._decide(evidence)
        versions = self.model_versions()
        self.photos.save_all(incoming)  # content-addressed and atomic: safe to write before the commit

        with self.store.transaction() as tx:
            if key:
                replay = self._replay(key, fingerprint)  # a concurrent retry won the race
                if replay is not None:
                    return replay
            tx.insert_claim({
                "claim_id": claim_id, "order_id": submission.order_id, "email": submission.email,
                "description": submission.description, "token_hash": _token_hash(token),
                "status": "in_review", "created_at": iso(now), "updated_at": iso(now),
            })
            self._attach_photos(tx, claim_id, incoming, photo_facts)
            tx.add_message(claim_id, actor="customer", kind="claim", text=submission.description,
                           photos=[p.sha256 for p in incoming], at=now)
            tx.log_event(claim_id, "customer", "submitted", at=now, detail={
                "order_id": submission.order_id, "photos": [p.sha256 for p in incoming],
                "idempotency_key": bool(key),
            })
            self._apply_decision(
                tx, claim_id, decision, order=order, actor="system", kind="decided", now=now,
                complaint=complaint, signals=signals, versions=versions,
            )
            if key:
                tx.put_idempotency(key, fingerprint=fingerprint, claim_id=claim_id, access_token=token)
        result = self._status_dict(self.store.get_claim(claim_id))
        result["access_token"] = token
        return result

    def claim_status(self, claim_id: str, access_token: str) -> dict:
        return self._status_dict(self._claim_for(claim_id, access_token))

    def request_human(self, claim_id: str, access_token: str, message: str = "") -> dict:
        """Hand the claim to a person (priority high), whatever its status; nothing needs repeating."""
        claim = self._claim_for(claim_id, access_token)
        text = self._message_text(message, required=False)
        order = self.store.get_order(claim["order_id"])
        now = utcnow()
        reasons = _dedupe(["human_requested", *claim["reasons"]])
        decision = Decision(
            status="in_review", priority="high", reasons=tuple(reasons), label=claim["label"],
            resolution=claim["resolution"] if claim["status"] in RESOLVED_STATUSES else None,
        )
        with self.store.transaction() as tx:
            tx.add_message(claim["claim_id"], actor="customer", kind="human_requested", text=text, at=now)
            tx.update_claim(claim["claim_id"], human_requested=1)
            self._apply_decision(
                tx, claim["claim_id"], decision, order=order, actor="customer", kind="human_requested", now=now,
                detail={"previous_status": claim["status"], "message": text},
            )
        return self._status_dict(self.store.get_claim(claim["claim_id"]))

    def add_evidence(
        self, claim_id: str, access_token: str, message: str = "", photos: Sequence[PhotoSource] | None = (),
    ) -> dict:
        """Append a message and/or photos to the thread and decide again with everything the claim holds."""
        claim = self._claim_for(claim_id, access_token)
        claim_id = claim["claim_id"]
        if claim["status"] not in _REOPENABLE:
            raise InvalidAction(
                "Your claim is already approved, so there is nothing more to send. "
                'If something is still wrong, press "Talk to a person".'
            )
        text = self._message_text(message, required=False)
        incoming = read_photos(photos, self.settings)
        if not text and not incoming:
            raise InvalidInput("Please add a message or at least one photo.")
        now = utcnow()
        order = self.store.get_order(claim["order_id"])
        held = self.store.claim_photos(claim_id)
        held_shas = {row["sha256"] for row in held}
        incoming = [photo for photo in incoming if photo.sha256 not in held_shas]
        new_evidence, new_facts = self._look_at(incoming)

        photo_evidence = [self._evidence_of(row) for row in held] + new_evidence
        stored = [self._stored_of(row) for row in held] + [photo.to_stored() for photo in incoming]
        complaint = self.text.analyze("\n\n".join(self._customer_texts(claim_id) + ([text] if text else [])))
        evidence = self._evidence(
            claim_id, photo_evidence, stored, complaint, email=claim["email"], order_id=claim["order_id"],
            order=order, now=now, human_requested=bool(claim["human_requested"]),
        )
        signals = evidence.fraud_signals
        decision = self._decide(evidence)
        if claim["reviewed"] and decision.status != "needs_more_photos":
            # A person already took part (asked a question, or declined): the answer goes back to them.
            decision = Decision(
                status="in_review", priority=decision.priority or claim["priority"] or "normal",
                reasons=tuple(_dedupe(["customer_replied", *decision.reasons])), label=decision.label,
            )
        versions = self.model_versions()
        self.photos.save_all(incoming)
        with self.store.transaction() as tx:
            self._attach_photos(tx, claim_id, incoming, new_facts, after=len(held))
            tx.add_message(claim_id, actor="customer", kind="more_evidence", text=text,
                           photos=[p.sha256 for p in incoming], at=now)
            tx.log_event(claim_id, "customer", "evidence_added", at=now, status=claim["status"], detail={
                "photos": [p.sha256 for p in incoming], "message_chars": len(text),
            })
            self._apply_decision(
                tx, claim_id, decision, order=order, actor="system", kind="decided", now=now,
                complaint=complaint, signals=signals, versions=versions,
            )
        return self._status_dict(self.store.get_claim(claim_id))

    def customer_photo(self, claim_id: str, access_token: str, sha256: str) -> Path:
        """The stored file of one photo of this claim (and only of this claim)."""
        claim = self._claim_for(claim_id, access_token)
        for row in self.store.claim_photos(claim["claim_id"]):
            if row["sha256"] == sha256:
                return self.photos.path_for(row["sha256"], row["ext"])
        raise ClaimNotFound("This claim has no such photo.")

    # --- reviewer side ----------------------------------------------------------------------------

    def authenticate(self, username: str, password: str) -> bool:
        return accounts.authenticate(self.store, self.settings, username, password)

    def queue(self) -> list[dict]:
        """Open cases, high priority first, then the least time left on the SLA."""
        now = utcnow()
        locks = self.store.locks()
        items = []
        for claim in self.store.claims_with_status(QUEUE_STATUSES):
            order = self.store.get_order(claim["order_id"])
            due = parse_time(claim["sla_due_at"])
            lock = locks.get(claim["claim_id"])
            lock_active = lock is not None and parse_time(lock["until"]) > now
            items.append({
                "claim_id": claim["claim_id"], "status": claim["status"], "priority": claim["priority"] or "normal",
                "reasons": claim["reasons"], "order_id": claim["order_id"],
                "item_name": order.item_name if order else None,
                "summary": (claim["complaint"] or {}).get("summary", ""), "created_at": claim["created_at"],
                "sla_due_at": claim["sla_due_at"],
                "sla_seconds_left": int((due - now).total_seconds()) if due else None,
                "locked_by": lock["reviewer"] if lock_active else None,
                "lock_until": lock["until"] if lock_active else None,
            })
        items.sort(key=lambda i: (i["priority"] != "high", i["sla_due_at"] or "9999", i["created_at"]))
        return items

    def open_case(self, claim_id: str, reviewer: str) -> dict:
        """Everything a reviewer needs about one claim; takes or renews the case lock."""
        reviewer = self._reviewer_name(reviewer)
        now = utcnow()
        with self.store.transaction() as tx:
            claim = self._claim(claim_id)
            lock = self._check_lock(claim["claim_id"], reviewer, now)
            if claim["status"] not in FINAL_STATUSES:
                until = now + timedelta(minutes=self.settings.review_lock_minutes)
                tx.set_lock(claim["claim_id"], reviewer, until)
                lock = {"reviewer": reviewer, "until": iso(until)}
                tx.log_event(claim["claim_id"], f"reviewer:{reviewer}", "review_opened", status=claim["status"],
                             detail={"lock_until": iso(until)})
        return self._case_dict(self.store.get_claim(claim["claim_id"]), lock)

    def decide(self, claim_id: str, reviewer: str, action: str, note: str = "") -> dict:
        """A reviewer's decision. Only this can deny. Returns the customer's claim_status dict."""
        reviewer = self._reviewer_name(reviewer)
        if action not in REVIEW_ACTIONS:
            raise InvalidInput(f"Unknown action {action!r}; choose one of {', '.join(REVIEW_ACTIONS)}.")
        note = self._message_text(note, required=action in ("deny", "request_info"), what="note")
        status, resolution = _REVIEW_OUTCOME[action]
        now = utcnow()
        with self.store.transaction() as tx:
            claim = self._claim(claim_id)
            claim_id = claim["claim_id"]
            if claim["status"] in FINAL_STATUSES:
                raise InvalidAction(f"This claim is already closed ({claim['status']}).")
            self._check_lock(claim_id, reviewer, now)
            if action == "deny":
                started = [w for w in tx.workflows_for_claims([claim_id]) if w["state"] != "failed"]
                if started:
                    raise InvalidAction(
                        f"A {started[0]['kind']} is already under way for this claim ({started[0]['state']}), "
                        "so it cannot be denied. Approve it, or ask the customer for information."
                    )
            order = tx.get_order(claim["order_id"])
            text = messages.compose_review(action, claim_id=claim_id, note=note, order=order, settings=self.settings)
            decision = Decision(
                status=status, resolution=resolution, priority=claim["priority"],
                reasons=tuple(claim["reasons"]), label=claim["label"], customer_message=text,
            )
            tx.add_review(claim_id, reviewer=reviewer, action=action, note=note,
                          previous_status=claim["status"], new_status=status)
            tx.update_claim(claim_id, reviewed=1)
            self._apply_decision(
                tx, claim_id, decision, order=order, actor=f"reviewer:{reviewer}", kind="reviewed", now=now,
                thread_actor="reviewer", thread_kind=action, author=reviewer,
                detail={"action": action, "note": note, "previous_status": claim["status"]},
            )
            tx.release_lock(claim_id)
        return self._status_dict(self.store.get_claim(claim_id))

    def correct_label(self, claim_id: str, sha256: str, label: str, reviewer: str) -> None:
        """Record a reviewer's damage label for a photo; it becomes a training example."""
        reviewer = self._reviewer_name(reviewer)
        if label not in DAMAGE_LABELS:
            raise InvalidInput(f"Unknown damage label {label!r}; choose one of {', '.join(DAMAGE_LABELS)}.")
        with self.store.transaction() as tx:
            claim = self._claim(claim_id)
            row = next((r for r in tx.claim_photos(claim["claim_id"]) if r["sha256"] == sha256), None)
            if row is None:
                raise InvalidInput("This claim has no such photo.")
            predicted = (row["prediction"] or {}).get("label")
            tx.set_corrected_label(claim["claim_id"], sha256, label)
            tx.add_labelled_example(claim_id=claim["claim_id"], sha256=sha256, label=label,
                                    predicted_label=predicted, reviewer=reviewer)
            tx.log_event(claim["claim_id"], f"reviewer:{reviewer}", "label_corrected", status=claim["status"],
                         detail={"sha256": sha256, "predicted": predicted, "label": label})

    def photo_path(self, sha256: str) -> Path:
        row = self.store.get_photo(sha256)
        if row is None:
            raise ClaimNotFound("No photo with that id.")
        return self.photos.path_for(row["sha256"], row["ext"])

    def labelled_examples(self) -> list[dict]:
        """Reviewer corrections as {"path", "label", "predicted_label", ...} for `vision_models.train`."""
        return [
            {**row, "path": str(self.photos.path_for(row["sha256"], row["ext"]))}
            for row in self.store.labelled_examples()
        ]

    def dashboard_data(self, since: datetime, until: datetime) -> dict:
        now = utcnow()
        claims = self.store.claims_created_between(since, until)
        rows = []
        for claim in claims:
            due = parse_time(claim["sla_due_at"])
            decided = parse_time(claim["decided_at"])
            rows.append({
                "claim_id": claim["claim_id"], "created_at": claim["created_at"], "decided_at": claim["decided_at"],
                "status": claim["status"], "priority": claim["priority"], "reasons": claim["reasons"],
                "automated": claim["status"] in ("auto_refund", "auto_replacement"),
                "sla_due_at": claim["sla_due_at"],
                "sla_breached": bool(due and (decided or now) > due),
            })
        ids = [c["claim_id"] for c in claims]
        confidences = [
            {"label": row["prediction"]["label"], "confidence": row["prediction"]["confidence"]}
            for row in self.store.photo_confidences(ids) if row["prediction"]
        ]
        workflows = [{"kind": w["kind"], "state": w["state"]} for w in self.store.workflows_for_claims(ids)]
        return {"claims": rows, "photo_confidences": confidences, "workflows": workflows}

    # --- the workflow hook ------------------------------------------------------------------------

    def _start_workflow(self, tx: Store, claim_id: str, resolution: str) -> None:
        """Called inside the transaction that makes a claim auto_/approved_ refund or replacement.

        Records the request; claims.workflows takes it from here (its state machine and outbox rows must be
        written through `tx` so they commit with the decision). It can be called twice for one claim: a
        customer may press "Talk to a person" after an automatic approval, and the reviewer then approves
        again (same or other resolution), so the workflow side must treat a repeat as idempotent.
        """
        tx.log_event(claim_id, "system", "workflow_requested", detail={"resolution": resolution})
        workflows.start_workflow(tx, claim_id, resolution, settings=self.settings)
        if self._dispatcher is not None:
            self._dispatcher.notify()  # it waits for the store lock, so it sees the row once this commits

    def start_dispatcher(self, poll_seconds: float = 1.0):
        """Start the outbox dispatcher thread (webhook or ledger, per settings); `close()` stops it.
        Idempotent. Returns the claims.outbox.OutboxDispatcher."""
        from claims.outbox import OutboxDispatcher

        if self._dispatcher is None:
            self._dispatcher = OutboxDispatcher(self.store, self.settings, poll_seconds=poll_seconds)
        return self._dispatcher.start()

    def stop_dispatcher(self) -> None:
        """Stop the dispatcher thread after the delivery in progress; undelivered messages wait in the store."""
        if self._dispatcher is not None:
            self._dispatcher.stop()
            self._dispatcher = None

    # --- internals --------------------------------------------------------------------------------

    def _validate_submission(self, order_id, email, description, idempotency_key) -> ClaimSubmission:
        try:
            submission = ClaimSubmission(
                order_id=str(order_id or ""), email=str(email or ""), description=str(description or ""),
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

    @staticmethod
    def _reviewer_name(reviewer: str) -> str:
        name = (reviewer or "").strip()
        if not name:
            raise InvalidInput("A reviewer name is required.")
        return name

    def _replay(self, key: str, fingerprint: str) -> dict | None:
        row = self.store.get_idempotency(key)
        if row is None:
            return None
        if not hmac.compare_digest(row["fingerprint"], fingerprint):
            raise InvalidInput("This submission key was already used for a different claim.")
        result = self._status_dict(self.store.get_claim(row["claim_id"]))
        result["access_token"] = row["access_token"]
        return result

    def _claim(self, claim_id: str) -> dict:
        claim = self.store.get_claim(str(claim_id or "").strip().upper())
        if claim is None:
            raise ClaimNotFound()
        return claim

    def _claim_for(self, claim_id: str, access_token: str) -> dict:
        """The claim, if the token matches; otherwise the same ClaimNotFound as for an unknown id."""
        claim = self.store.get_claim(str(claim_id or "").strip().upper())
        expected = claim["token_hash"] if claim else _DUMMY_TOKEN_HASH
        matches = hmac.compare_digest(_token_hash(str(access_token or "").strip()), expected)
        if claim is None or not matches:
            raise ClaimNotFound()
        return claim

    def _check_lock(self, claim_id: str, reviewer: str, now: datetime) -> dict | None:
        lock = self.store.get_lock(claim_id)
        if lock and lock["reviewer"] != reviewer and parse_time(lock["until"]) > now:
            raise CaseLocked(lock["reviewer"], parse_time(lock["until"]))
        return {"reviewer": lock["reviewer"], "until": lock["until"]} if lock else None

    def _look_at(self, incoming: Sequence[IncomingPhoto]) -> tuple[list[PhotoEvidence], list[dict]]:
        """Quality checks and one vision batch over the decoded photos."""
        if not incoming:
            return [], []
        from vision_models.quality import check_quality

        s = self.settings
        qualities = []
        for photo in incoming:
            measured = check_quality(
                photo.image, min_side=s.min_photo_side, dark_brightness=s.dark_brightness,
                blur_sharpness=s.blur_sharpness, uniform_stddev=s.uniform_stddev,
                original_size=(photo.width, photo.height),
            )
            qualities.append(PhotoQuality(
                width=measured["width"], height=measured["height"], brightness=measured["brightness"],
                sharpness=measured["sharpness"], issues=tuple(measured["issues"]),
            ))
        predictions = self.vision.predict_batch([photo.image for photo in incoming])
        if len(predictions) != len(incoming):
            raise RuntimeError("the vision model returned a different number of predictions than photos")
        evidence = [
            PhotoEvidence(sha256=photo.sha256, prediction=prediction, quality=quality)
            for photo, prediction, quality in zip(incoming, predictions, qualities)
        ]
        facts = [
            {"prediction": prediction.to_dict(), "quality": quality.model_dump(mode="json")}
            for prediction, quality in zip(predictions, qualities)
        ]
        return evidence, facts

    @staticmethod
    def _evidence_of(row: dict) -> PhotoEvidence:
        prediction = DamagePrediction.from_dict(row["prediction"]) if row["prediction"] else None
        quality = PhotoQuality(**{**row["quality"], "issues": tuple(row["quality"]["issues"])}) if row["quality"] else None
        return PhotoEvidence(sha256=row["sha256"], prediction=prediction, quality=quality)

    @staticmethod
    def _stored_of(row: dict) -> StoredPhoto:
        return StoredPhoto(
            sha256=row["sha256"], phash=row["phash"], width=row["width"], height=row["height"], mime=row["mime"],
            size_bytes=row["size_bytes"], original_name=row["original_name"],
            # naive when the camera recorded no zone (see claims.photos._exif_time)
            exif_taken_at=datetime.fromisoformat(row["exif_taken_at"]) if row["exif_taken_at"] else None,
        )

    def _customer_texts(self, claim_id: str) -> list[str]:
        """What the customer wrote on this claim (claim text, later messages), oldest first."""
        return [
            m["text"] for m in self.store.messages(claim_id)
            if m["actor"] == "customer" and m["kind"] in _CUSTOMER_TEXT_KINDS and m["text"]
        ]

    def _evidence(
        self, claim_id: str, photo_evidence: Sequence[PhotoEvidence], photos: Sequence[StoredPhoto],
        complaint: ComplaintAnalysis, *, email: str, order_id: str, order: Order | None, now: datetime,
        human_requested: bool = False,
    ) -> Evidence:
        """Everything the policy decides on, fraud signals included (the other claims on the order read once)."""
        on_order = self.store.claims_on_order(order_id, exclude=claim_id)
        signals = self._fraud_signals(claim_id, photos, email, on_order, order, now)
        return Evidence(
            photos=tuple(photo_evidence), complaint=complaint, order=order,
            order_email_matches=order is None or order.email.lower() == email,
            fraud_signals=tuple(signals), other_claims_on_order=len(on_order),
            human_requested=human_requested, now=now,
        )

    def _fraud_signals(
        self, claim_id: str, photos: Sequence[StoredPhoto], email: str, on_order: Sequence[dict],
        order: Order | None, now: datetime,
    ) -> list[FraudSignal]:
        """`on_order`: the other claims on the same order (Store.claims_on_order)."""
        window = now - timedelta(hours=self.settings.velocity_window_hours)
        return fraud.detect_fraud(
            photos,
            self.store.photos_of_other_claims(claim_id),
            recent_claims_by_email=self.store.count_claims_by_email(email, window, exclude=claim_id),
            recent_claims_on_order=sum(1 for c in on_order if c["created_at"] >= iso(window)),
            resolved_claims_on_order=[c["claim_id"] for c in on_order if c["status"] in RESOLVED_STATUSES],
            order=order,
            settings=self.settings,
        )

    @staticmethod
    def _attach_photos(
        tx: Store, claim_id: str, incoming: Sequence[IncomingPhoto], facts: Sequence[dict], *, after: int = 0,
    ) -> None:
        """Record the photos and link them to the claim, numbered on from the `after` it already holds."""
        for position, (photo, photo_facts) in enumerate(zip(incoming, facts), start=after + 1):
            tx.add_photo(photo.to_stored(), ext=photo.ext)
            tx.link_photo(claim_id, photo.sha256, position=position, original_name=photo.original_name,
                          **photo_facts)

    def _decide(self, evidence: Evidence) -> Decision:
        decision = policy.decide(evidence, self.settings)
        if decision.status == "denied":  # automation may approve; only a person may deny
            decision = Decision(status="in_review", priority="normal", reasons=decision.reasons, label=decision.label)
        return decision

    def _apply_decision(
        self, tx: Store, claim_id: str, decision: Decision, *, order: Order | None, actor: str, kind: str,
        now: datetime, complaint: ComplaintAnalysis | None = None, signals: Sequence[FraudSignal] | None = None,
        versions: dict[str, str] | None = None, detail: dict | None = None, thread_actor: str = "bot",
        thread_kind: str = "decision", author: str = "",
    ) -> None:
        """Write a new status with its customer message, thread entry and audit event; start workflows."""
        claim = tx.get_claim(claim_id)
        text = decision.customer_message or messages.compose(
            decision, claim_id=claim_id, order=order, settings=self.settings
        )
        values: dict = {
            "status": decision.status, "resolution": decision.resolution, "priority": decision.priority,
            "reasons": list(decision.reasons), "message": text, "label": decision.label, "updated_at": iso(now),
        }
        if decision.status == "in_review":
            hours = self.settings.sla_hours(decision.priority or "normal")
            due = now + timedelta(hours=hours)
            current = parse_time(claim["sla_due_at"])
            if claim["status"] == "in_review" and current is not None:
                due = min(due, current)  # escalating never gives a reviewer more time
            values["sla_due_at"] = iso(due)
        if decision.status in FINAL_STATUSES:
            values["decided_at"] = iso(now)
        if complaint is not None:
            values["complaint"] = complaint.model_dump(mode="json")
        if signals is not None:
            values["fraud_signals"] = [s.model_dump(mode="json") for s in signals]
        if versions is not None:
            values["model_versions"] = versions
        tx.update_claim(claim_id, **values)
        tx.add_message(claim_id, actor=thread_actor, kind=thread_kind, text=text, author=author, at=now)
        tx.log_event(
            claim_id, actor, kind, at=now, status=decision.status, reasons=decision.reasons,
            model_versions=versions or {}, detail={
                "resolution": decision.resolution, "priority": decision.priority, "label": decision.label,
                "fraud_signals": [s.code for s in signals or ()], **(detail or {}),
            },
        )
        if decision.status in RESOLVED_STATUSES and decision.resolution and claim["status"] not in RESOLVED_STATUSES:
            self._start_workflow(tx, claim_id, decision.resolution)

    def _status_dict(self, claim: dict) -> dict:
        order = self.store.get_order(claim["order_id"])
        return {
            "claim_id": claim["claim_id"], "status": claim["status"], "resolution": claim["resolution"],
            "priority": claim["priority"], "message": claim["message"],
            "reasons": list(policy.public_reasons(claim["reasons"])), "order_id": claim["order_id"],
            "item_name": order.item_name if order else None, "created_at": claim["created_at"],
            "updated_at": claim["updated_at"], "thread": self._thread(claim["claim_id"], for_reviewer=False),
            "photos": [
                {"sha256": row["sha256"], "label": (row["prediction"] or {}).get("label"),
                 "confidence": (row["prediction"] or {}).get("confidence")}
                for row in self.store.claim_photos(claim["claim_id"])
            ],
        }

    def _thread(self, claim_id: str, *, for_reviewer: bool) -> list[dict]:
        entries = []
        for m in self.store.messages(claim_id):
            entry = {"at": m["at"], "actor": m["actor"], "kind": m["kind"], "text": m["text"], "photos": m["photos"]}
            if for_reviewer and m["author"]:
                entry["author"] = m["author"]
            entries.append(entry)
        return entries

    def _case_dict(self, claim: dict, lock: dict | None) -> dict:
        claim_id = claim["claim_id"]
        order = self.store.get_order(claim["order_id"])
        customer_texts = self._customer_texts(claim_id)
        complaint = dict(claim["complaint"] or {})
        photos = []
        for row in self.store.claim_photos(claim_id):
            prediction = row["prediction"] or {}
            photos.append({
                "sha256": row["sha256"], "path": str(self.photos.path_for(row["sha256"], row["ext"])),
                "original_name": row["original_name"], "label": prediction.get("label"),
                "confidence": prediction.get("confidence"), "probabilities": prediction.get("probabilities", {}),
                "looks_like": prediction.get("looks_like", []),
                "quality_issues": (row["quality"] or {}).get("issues", []),
                "corrected_label": row["corrected_label"], "exif_taken_at": row["exif_taken_at"],
                "width": row["width"], "height": row["height"],
            })
        return {
            "claim": {
                key: claim[key] for key in (
                    "claim_id", "status", "resolution", "priority", "reasons", "message", "label", "order_id",
                    "email", "description", "created_at", "updated_at", "sla_due_at", "decided_at",
                    "model_versions",
                )
            } | {"human_requested": bool(claim["human_requested"])},
            "order": order.model_dump(mode="json") if order else None,
            "photos": photos,
            "complaint": {
                "text": "\n\n".join(customer_texts),
                "intent": complaint.get("intent", "unspecified"),
                "wants_human": complaint.get("wants_human", False),
                "sentiment": complaint.get("sentiment", 0.0),
                "frustrated": complaint.get("frustrated", False),
                "frustration_score": complaint.get("frustration_score", 0.0),
                "damage_types": complaint.get("damage_types", []),
                "summary": complaint.get("summary", ""),
                "evidence": complaint.get("evidence", {}),
            },
            "fraud_signals": claim["fraud_signals"] or [],
            "events": [
                {"at": e["at"], "actor": e["actor"], "kind": e["kind"], "status": e["status"],
                 "reasons": e["reasons"], "detail": e["detail"], "model_versions": e["model_versions"]}
                for e in self.store.events(claim_id)
            ],
            "thread": self._thread(claim_id, for_reviewer=True),
            "lock": lock,
        }


__all__ = ["ClaimService", "ComplaintReader", "TextModel", "VisionModel", "export_labelled_examples", "new_claim_id"]
