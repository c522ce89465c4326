"""What a decision rests on: the models' look at the photos, and the evidence the policy reads.

`look_at` runs the quality checks and the vision model (outside any lock); `evidence` and `decide` read,
through the caller's write transaction, everything other requests can change (earlier claims on the order,
photos of other claims, claims from the same email), so a decision always rests on what it commits over.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from claims import fraud, lifecycle, policy
from claims.models import ComplaintAnalysis, Decision, Evidence, Order, PhotoEvidence, PhotoQuality, StoredPhoto
from claims.photos import IncomingPhoto
from claims.service._base import ServiceBase, dedupe
from claims.store import Store, iso
from vision_models.labels import DamagePrediction


class EvidenceGathering(ServiceBase):
    def _look_at(self, incoming: Sequence[IncomingPhoto]) -> tuple[list[PhotoEvidence], list[dict]]:
        """Quality checks and one vision batch over the decoded photos."""
        if not incoming:
            return [], []
        from vision_models.quality import check_quality

        s = self.settings
        qualities = []
        for photo in incoming:
            measured = check_quality(
                photo.image,
                min_side=s.min_photo_side,
                dark_brightness=s.dark_brightness,
                blur_sharpness=s.blur_sharpness,
                uniform_stddev=s.uniform_stddev,
                original_size=(photo.width, photo.height),
            )
            qualities.append(
                PhotoQuality(
                    width=measured["width"],
                    height=measured["height"],
                    brightness=measured["brightness"],
                    sharpness=measured["sharpness"],
                    issues=tuple(measured["issues"]),
                )
            )
        predictions = self.models.vision.predict_batch([photo.image for photo in incoming])
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

    def _evidence(
        self,
        tx: Store,
        claim_id: str,
        photo_evidence: Sequence[PhotoEvidence],
        photos: Sequence[StoredPhoto],
        complaint: ComplaintAnalysis,
        *,
        email: str,
        order_id: str,
        order: Order | None,
        now: datetime,
        human_requested: bool = False,
    ) -> Evidence:
        """Everything the policy decides on, read through `tx` (call inside the deciding transaction)."""
        on_order = tx.claims_on_order(order_id, exclude=claim_id)
        window = now - timedelta(hours=self.settings.velocity_window_hours)
        signals = fraud.detect_fraud(
            photos,
            tx.photos_of_other_claims(claim_id),
            recent_claims_by_email=tx.count_claims_by_email(email, window, exclude=claim_id),
            recent_claims_on_order=sum(1 for c in on_order if c["created_at"] >= iso(window)),
            resolved_claims_on_order=[c["claim_id"] for c in on_order if c["status"] in lifecycle.APPROVED],
            order=order,
            settings=self.settings,
        )
        return Evidence(
            photos=tuple(photo_evidence),
            complaint=complaint,
            order=order,
            order_email_matches=order is None or order.email.lower() == email,
            fraud_signals=tuple(signals),
            other_claims_on_order=len(on_order),
            human_requested=human_requested,
            now=now,
        )

    def _decide(self, tx: Store, evidence: Evidence, order_id: str) -> Decision:
        decision = policy.decide(evidence, self.settings)
        if decision.status == "denied":  # automation may approve; only a person may deny
            decision = Decision(status="in_review", priority="normal", reasons=decision.reasons, label=decision.label)
        if decision.status in lifecycle.AUTOMATED and tx.live_payouts_on_order(order_id):
            # The policy escalates claims on an order that was claimed before; this is the last word on
            # money: automation never pays an order that already has a payout.
            decision = Decision(
                status="in_review",
                priority="normal",
                label=decision.label,
                reasons=tuple(dedupe([*decision.reasons, "order_already_resolved"])),
            )
        return decision

    @staticmethod
    def _attach_photos(
        tx: Store, claim_id: str, incoming: Sequence[IncomingPhoto], facts: Sequence[dict], *, after: int = 0
    ) -> None:
        """Record the photos and link them to the claim, numbered on from the `after` it already holds."""
        for position, (photo, photo_facts) in enumerate(zip(incoming, facts), start=after + 1):
            tx.add_photo(photo.to_stored(), ext=photo.ext)
            tx.link_photo(claim_id, photo.sha256, position=position, original_name=photo.original_name, **photo_facts)


def evidence_of(row: dict) -> PhotoEvidence:
    prediction = DamagePrediction.from_dict(row["prediction"]) if row["prediction"] else None
    quality = PhotoQuality(**{**row["quality"], "issues": tuple(row["quality"]["issues"])}) if row["quality"] else None
    return PhotoEvidence(sha256=row["sha256"], prediction=prediction, quality=quality)


def stored_of(row: dict) -> StoredPhoto:
    return StoredPhoto(
        sha256=row["sha256"],
        phash=row["phash"],
        width=row["width"],
        height=row["height"],
        mime=row["mime"],
        size_bytes=row["size_bytes"],
        original_name=row["original_name"],
        # naive when the camera recorded no zone (see claims.photos)
        exif_taken_at=datetime.fromisoformat(row["exif_taken_at"]) if row["exif_taken_at"] else None,
    )
