"""The dicts the service hands to the UI and the Gradio API: a customer's view of a claim (no reviewer
names, public reason codes only, no model labels or confidences) and a reviewer's view of a case (everything)."""

from __future__ import annotations

from claims import policy
from claims.models import ClaimRecord
from claims.photos import PhotoStore
from claims.store import Store

CUSTOMER_TEXT_KINDS = ("claim", "more_evidence", "human_requested")


def customer_texts(store: Store, claim_id: str) -> list[str]:
    """What the customer wrote on this claim (claim text, later messages), oldest first."""
    return [
        m["text"]
        for m in store.messages(claim_id)
        if m["actor"] == "customer" and m["kind"] in CUSTOMER_TEXT_KINDS and m["text"]
    ]


def thread(store: Store, claim_id: str, *, for_reviewer: bool) -> list[dict]:
    entries = []
    for m in store.messages(claim_id):
        entry = {"at": m["at"], "actor": m["actor"], "kind": m["kind"], "text": m["text"], "photos": m["photos"]}
        if for_reviewer and m["author"]:
            entry["author"] = m["author"]
        entries.append(entry)
    return entries


def status_dict(store: Store, claim: ClaimRecord) -> dict:
    order = store.get_order(claim.order_id)
    return {
        "claim_id": claim.claim_id,
        "status": claim.status,
        "resolution": claim.resolution,
        "priority": claim.priority,
        "message": claim.message,
        "reasons": list(policy.public_reasons(claim.reasons)),
        "order_id": claim.order_id,
        "item_name": order.item_name if order else None,
        "created_at": claim.created_at,
        "updated_at": claim.updated_at,
        "thread": thread(store, claim.claim_id, for_reviewer=False),
        # Only which photos the claim holds: the model's label and confidence per photo are for reviewers (a
        # customer shown them could retouch photos until they pass).
        "photos": [{"sha256": row["sha256"]} for row in store.claim_photos(claim.claim_id)],
    }


_CASE_FIELDS = (
    "claim_id",
    "status",
    "resolution",
    "priority",
    "reasons",
    "message",
    "label",
    "order_id",
    "email",
    "description",
    "created_at",
    "updated_at",
    "sla_due_at",
    "decided_at",
    "model_versions",
    "human_requested",
)


def case_dict(store: Store, photos: PhotoStore, claim: ClaimRecord, lock: dict | None) -> dict:
    claim_id = claim.claim_id
    order = store.get_order(claim.order_id)
    complaint = dict(claim.complaint or {})
    photo_rows = []
    for row in store.claim_photos(claim_id):
        prediction = row["prediction"] or {}
        photo_rows.append(
            {
                "sha256": row["sha256"],
                "path": str(photos.path_for(row["sha256"], row["ext"])),
                "original_name": row["original_name"],
                "label": prediction.get("label"),
                "confidence": prediction.get("confidence"),
                "probabilities": prediction.get("probabilities", {}),
                "damaged_probability": prediction.get("damaged_probability"),
                "looks_like": prediction.get("looks_like", []),
                "quality_issues": (row["quality"] or {}).get("issues", []),
                "corrected_label": row["corrected_label"],
                "exif_taken_at": row["exif_taken_at"],
                "width": row["width"],
                "height": row["height"],
            }
        )
    record = claim.model_dump(mode="json", include=set(_CASE_FIELDS))
    record["reasons"] = list(claim.reasons)
    return {
        "claim": record,
        "order": order.model_dump(mode="json") if order else None,
        "photos": photo_rows,
        "complaint": {
            "text": "\n\n".join(customer_texts(store, claim_id)),
            "intent": complaint.get("intent", "unspecified"),
            "wants_human": complaint.get("wants_human", False),
            "sentiment": complaint.get("sentiment", 0.0),
            "frustrated": complaint.get("frustrated", False),
            "frustration_score": complaint.get("frustration_score", 0.0),
            "damage_types": complaint.get("damage_types", []),
            "summary": complaint.get("summary", ""),
            "evidence": complaint.get("evidence", {}),
        },
        "fraud_signals": list(claim.fraud_signals),
        "events": [
            {
                "at": e["at"],
                "actor": e["actor"],
                "kind": e["kind"],
                "status": e["status"],
                "reasons": e["reasons"],
                "detail": e["detail"],
                "model_versions": e["model_versions"],
            }
            for e in store.events(claim_id)
        ],
        "thread": thread(store, claim_id, for_reviewer=True),
        "lock": lock,
        "workflows": [
            {
                "kind": w["kind"],
                "state": w["state"],
                "reason": w["reason"],
                "amount": w["amount"],
                "authorised_by": w["authorised_by"],
                "updated_at": w["updated_at"],
            }
            for w in store.workflows_for_claims([claim_id])
        ],
    }
