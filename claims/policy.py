"""The decision policy: a pure function from typed evidence to a decision.

No I/O, no models, no clock (the service puts "now" into the evidence), so every rule is a table row in
`tests/test_policy.py`. The rules, in the order they are weighed:

1. A person is needed at once (priority high) when the customer asks for one in words (`wants_human`),
   presses "Talk to a person" (`human_requested`) or is upset (`customer_frustrated`). This wins over
   everything, unusable photos included: we never trap an upset customer in a photo loop.
2. No photo, or no usable photo (too dark, blurry, small, nearly uniform): ask for better photos. No person
   is needed yet; whatever else we found is kept in the reasons and weighed again when new photos arrive.
   When some photos are usable, the claim is decided on those and the unusable ones are only noted: a
   claim decided again after the customer sent better photos still holds the old dark one, and asking
   for photos again would trap the customer in a loop.
3. Everything else that needs a person (priority normal): order problems, fraud signals, uncertain or
   disagreeing photos, text and photos disagreeing, no damage found. Fraud signals escalate; nothing denies.
4. Otherwise resolve automatically: the customer's intent, else `settings.default_resolution[label]`;
   replacement only when the item is in stock, else a refund (`out_of_stock_refund`).

Automation never returns `denied`; only a person may deny.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from claims.config import Settings
from claims.models import ClaimStatus, DamageLabel, Decision, Evidence, PhotoEvidence, Resolution
from vision_models.labels import DAMAGED_LABELS

# Recorded with every decision event; bump when a rule changes what a given evidence decides.
POLICY_VERSION = "1"

# --- reason codes ---------------------------------------------------------------------------------
# Each code with the plain-English explanation the review tab and README show. Codes are stable: they
# are stored in events and returned by the API.

PERSON_REASONS: dict[str, str] = {
    "human_requested": 'The customer pressed "Talk to a person".',
    "wants_human": "The customer asked in their message to speak with a person.",
    "customer_frustrated": "The customer sounds upset; a person should answer, quickly.",
    "customer_replied": "The customer answered a reviewer's question or decision; the same person should read it.",
}

PHOTO_REASONS: dict[str, str] = {
    "no_photos": "No photo was sent.",
    "photo_too_dark": "A photo is too dark to see the damage.",
    "photo_too_blurry": "A photo is too blurry to see the damage.",
    "photo_too_small": "A photo is too small (low resolution) to see the damage.",
    "photo_nearly_uniform": "A photo shows almost nothing (nearly one flat colour).",
}

ORDER_REASONS: dict[str, str] = {
    "unknown_order": "No order with this number is on file.",
    "email_mismatch": "The email given does not match the email on the order.",
    "delivery_not_confirmed": "The order has no delivery date yet (or one in the future).",
    "outside_claim_window": "The claim came in after the claim window since delivery.",
    "over_value_limit": "The order's value is above the limit for automatic approval.",
    "already_claimed": "Another claim was already filed on this order.",
}

# Fraud signal codes (raised by `claims.fraud`). Reviewers see these; customers never do.
FRAUD_REASONS: dict[str, str] = {
    "duplicate_photo": "A photo matches (perceptual hash) a photo from another claim.",
    "same_photo_twice": "The same photo was sent twice within this claim.",
    "claim_velocity_email": "Many claims from this email address in a short time.",
    "claim_velocity_order": "Many claims on this order in a short time.",
    "order_already_resolved": "This order already had a claim resolved with a refund or replacement.",
    "photo_taken_before_delivery": "A photo's camera timestamp (EXIF) is earlier than the delivery date.",
}

EVIDENCE_REASONS: dict[str, str] = {
    "low_confidence": "The vision model is not confident about at least one photo.",
    "photos_disagree": "Some photos show damage and others do not.",
    "damage_not_in_photos": "The message describes damage that no photo shows.",
    "photos_contradict_text": "The photos show damage the message says is not there.",
    "no_damage_found": "Neither the photos nor the message show damage; only a person may decline a claim.",
}

RESOLUTION_REASONS: dict[str, str] = {
    "intent_refund": "The customer asked for a refund.",
    "intent_replacement": "The customer asked for a replacement.",
    "default_for_label": "The customer asked for nothing specific; the default resolution for the damage was used.",
    "out_of_stock_refund": "A replacement would fit, but the item is out of stock, so a refund was issued.",
}

REASON_CODES: dict[str, str] = {
    **PERSON_REASONS,
    **PHOTO_REASONS,
    **ORDER_REASONS,
    **FRAUD_REASONS,
    **EVIDENCE_REASONS,
    **RESOLUTION_REASONS,
}

_QUALITY_ISSUE_CODES = {
    "too_dark": "photo_too_dark",
    "too_blurry": "photo_too_blurry",
    "too_small": "photo_too_small",
    "nearly_uniform": "photo_nearly_uniform",
}


def explain(code: str) -> str:
    """Plain-English explanation of a reason code; unknown codes (e.g. a new fraud signal) read as themselves."""
    return REASON_CODES.get(code, code.replace("_", " ").capitalize() + ".")


def public_reasons(reasons: Iterable[str]) -> tuple[str, ...]:
    """The reason codes a customer may see: the known ones that are not fraud signals (a fraud signal
    added later, unknown here, stays hidden too)."""
    return tuple(code for code in reasons if code in REASON_CODES and code not in FRAUD_REASONS)


# --- the decision ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PhotoFindings:
    """What the usable photos say, in the binary and the labelled view."""

    damaged: tuple[PhotoEvidence, ...]
    intact: tuple[PhotoEvidence, ...]
    uncertain: bool  # some usable photo has no prediction or a low calibrated confidence


def decide(evidence: Evidence, settings: Settings) -> Decision:
    """Decide a claim from its evidence. Pure: same evidence and settings, same decision."""
    complaint = evidence.complaint
    person = _person_reasons(evidence, settings)
    photo_issues, usable = _photo_issues(evidence.photos)
    findings = _findings(usable, settings)
    label = _choose_label(findings, complaint.damage_types)

    order_reasons = _order_reasons(evidence, settings)
    fraud_reasons = _dedupe(signal.code for signal in evidence.fraud_signals)
    evidence_reasons = _evidence_reasons(findings, complaint.damage_types) if usable else []

    if person:
        reasons = person + order_reasons + fraud_reasons + photo_issues + evidence_reasons
        return Decision(status="in_review", priority="high", reasons=tuple(_dedupe(reasons)), label=label)

    if not usable:
        reasons = photo_issues + order_reasons + fraud_reasons
        return Decision(status="needs_more_photos", reasons=tuple(_dedupe(reasons)))

    escalations = order_reasons + fraud_reasons + evidence_reasons
    if escalations:
        reasons = escalations + photo_issues
        return Decision(status="in_review", priority="normal", reasons=tuple(_dedupe(reasons)), label=label)

    return _resolve(evidence, settings, label, photo_issues)


def _person_reasons(evidence: Evidence, settings: Settings) -> list[str]:
    complaint = evidence.complaint
    reasons = []
    if evidence.human_requested:
        reasons.append("human_requested")
    if complaint.wants_human:
        reasons.append("wants_human")
    if complaint.frustrated or complaint.frustration_score >= settings.frustration_threshold:
        reasons.append("customer_frustrated")
    return reasons


def _photo_issues(photos: Sequence[PhotoEvidence]) -> tuple[list[str], list[PhotoEvidence]]:
    """Reason codes for unusable photos, and the photos that are usable."""
    if not photos:
        return ["no_photos"], []
    issues: list[str] = []
    usable: list[PhotoEvidence] = []
    for photo in photos:
        if photo.quality is None or photo.quality.usable:
            usable.append(photo)
            continue
        issues.extend(_QUALITY_ISSUE_CODES.get(issue, f"photo_{issue}") for issue in photo.quality.issues)
    return _dedupe(issues), usable


def _findings(usable: Sequence[PhotoEvidence], settings: Settings) -> _PhotoFindings:
    damaged, intact, uncertain = [], [], False
    for photo in usable:
        prediction = photo.prediction
        if prediction is None:
            uncertain = True
            continue
        if prediction.confidence < settings.vision_confidence_threshold:
            uncertain = True
        if prediction.damaged_probability > settings.damaged_probability_threshold:
            damaged.append(photo)
        else:
            intact.append(photo)
    return _PhotoFindings(tuple(damaged), tuple(intact), uncertain)


def _damage_label_of(photo: PhotoEvidence) -> str:
    """The most likely damage label of a photo judged damaged (its top label may still be no_damage)."""
    probabilities = photo.prediction.probabilities  # type: ignore[union-attr]
    if photo.prediction.label in DAMAGED_LABELS:  # type: ignore[union-attr]
        return photo.prediction.label  # type: ignore[union-attr]
    return max(DAMAGED_LABELS, key=lambda label: (probabilities.get(label, 0.0), -DAMAGED_LABELS.index(label)))


def _choose_label(findings: _PhotoFindings, text_types: Sequence[str]) -> DamageLabel | None:
    """The damage the decision rests on: what the photos show, preferring what the text also names."""
    if not findings.damaged:
        return "no_damage" if findings.intact else None
    scores: dict[str, float] = {}
    for photo in findings.damaged:
        label = _damage_label_of(photo)
        scores[label] = scores.get(label, 0.0) + photo.prediction.probabilities.get(label, 0.0)  # type: ignore[union-attr]
    named = [label for label in scores if label in text_types]
    candidates = named or list(scores)
    return cast(DamageLabel, max(candidates, key=lambda label: (scores[label], -DAMAGED_LABELS.index(label))))


def _order_reasons(evidence: Evidence, settings: Settings) -> list[str]:
    order = evidence.order
    if order is None:
        return ["unknown_order"]
    reasons = []
    if not evidence.order_email_matches:
        reasons.append("email_mismatch")
    delivered_at = _aware(order.delivered_at) if order.delivered_at else None
    now = _aware(evidence.now)
    if delivered_at is None or delivered_at > now:
        reasons.append("delivery_not_confirmed")
    elif now - delivered_at > timedelta(days=settings.claim_window_days):
        reasons.append("outside_claim_window")
    if order.value > settings.auto_approve_max_value:
        reasons.append("over_value_limit")
    if evidence.other_claims_on_order > 0:
        reasons.append("already_claimed")
    return reasons


def _evidence_reasons(findings: _PhotoFindings, text_types: Sequence[str]) -> list[str]:
    reasons = []
    if findings.uncertain:
        reasons.append("low_confidence")
    if findings.damaged and findings.intact:
        reasons.append("photos_disagree")
    text_damage = {label for label in text_types if label in DAMAGED_LABELS}
    text_denies = "no_damage" in text_types
    photo_damage = {_damage_label_of(photo) for photo in findings.damaged}
    if text_damage and not photo_damage:
        reasons.append("damage_not_in_photos")
    elif photo_damage and text_denies and not (text_damage & photo_damage):
        # "The box was crushed but the lamp is fine" with a crushed box in the photo is consistent;
        # "everything is fine" (or "the lamp is fine") with a broken lamp in the photo is not.
        reasons.append("photos_contradict_text")
    elif not photo_damage and not text_damage:
        reasons.append("no_damage_found")
    return reasons


def _resolve(evidence: Evidence, settings: Settings, label: DamageLabel | None, photo_issues: list[str]) -> Decision:
    # Reaching here means the order is known and at least one usable, confident photo shows damage.
    order = evidence.order
    if order is None or label is None or label == "no_damage":
        raise RuntimeError("decide() reached automatic resolution without an order and a damage label")
    intent = evidence.complaint.intent
    if intent == "unspecified":
        wanted = settings.default_resolution.get(label, "refund")
        reasons = ["default_for_label"]
    else:
        wanted = intent
        reasons = [f"intent_{intent}"]
    if wanted == "replacement" and not order.in_stock:
        wanted = "refund"
        reasons.append("out_of_stock_refund")
    status: ClaimStatus = "auto_replacement" if wanted == "replacement" else "auto_refund"
    return Decision(
        status=status, resolution=cast(Resolution, wanted), reasons=tuple(reasons + photo_issues), label=label
    )


def _aware(moment: datetime) -> datetime:
    """Naive datetimes in this project are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _dedupe(codes: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(codes))
