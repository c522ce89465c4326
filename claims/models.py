"""Typed values that cross module boundaries: what a customer submits, what the models say, what was decided.

Validation messages are written for the customer who has to fix the input, not for a developer.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vision_models.labels import DAMAGE_LABELS, DamagePrediction

DamageLabel = Literal["no_damage", "crushed_packaging", "torn_packaging", "water_damage", "broken", "surface_damage"]
Intent = Literal["refund", "replacement", "unspecified"]
Resolution = Literal["refund", "replacement"]
Priority = Literal["high", "normal"]
ClaimStatus = Literal[
    "auto_refund",
    "auto_replacement",
    "needs_more_photos",
    "in_review",
    "approved_refund",
    "approved_replacement",
    "denied",
    "info_requested",
]
ReviewActionName = Literal["approve_refund", "approve_replacement", "deny", "request_info"]
Actor = str  # "customer", "system", or "reviewer:<name>"

CLAIM_STATUSES: tuple[str, ...] = ClaimStatus.__args__  # type: ignore[attr-defined]
REVIEW_ACTIONS: tuple[str, ...] = ReviewActionName.__args__  # type: ignore[attr-defined]

EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
ORDER_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,39}$")
# Control characters other than tab/newline/carriage return have no business in a complaint.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

if tuple(DamageLabel.__args__) != DAMAGE_LABELS:  # type: ignore[attr-defined]  # one taxonomy, two spellings
    raise ImportError("claims.models.DamageLabel disagrees with vision_models.labels.DAMAGE_LABELS")


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def normalize_order_id(value: str) -> str:
    value = (value or "").strip().upper()
    if not ORDER_ID_RE.match(value):
        raise ValueError(
            "Please enter your order number as it appears in your confirmation email "
            "(letters, digits and dashes, for example DEMO-1001)."
        )
    return value


def normalize_email(value: str) -> str:
    value = (value or "").strip()
    if len(value) > 254 or not EMAIL_RE.match(value):
        raise ValueError("Please enter the email address you used for the order, like name@example.com.")
    return value.lower()


def clean_text(value: str) -> str:
    """Strip control characters and surrounding space; keep every script and emoji."""
    return _CONTROL_RE.sub("", value or "").strip()


class ClaimSubmission(_Frozen):
    """The text part of a claim; photos travel separately as files (see `claims.photos`).

    Length limits come from settings and are checked by the service, which knows them.
    """

    order_id: str
    email: str
    description: str
    idempotency_key: str | None = Field(default=None, max_length=128)

    @field_validator("order_id")
    @classmethod
    def _order_id(cls, v: str) -> str:
        return normalize_order_id(v)

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        return normalize_email(v)

    @field_validator("description")
    @classmethod
    def _description(cls, v: str) -> str:
        v = clean_text(v)
        if not v:
            raise ValueError("Please tell us in a few words what happened to your delivery.")
        return v


class Order(_Frozen):
    order_id: str
    email: str
    customer_name: str = ""
    item_name: str
    sku: str = ""
    category: str = ""
    value: float = Field(ge=0)
    currency: str = "EUR"
    ordered_at: datetime | None = None
    delivered_at: datetime | None = None
    in_stock: bool = True
    stock_count: int = 0


class PhotoQuality(_Frozen):
    """Output of `vision_models.quality`: which usability checks a photo failed."""

    width: int
    height: int
    brightness: float = 0.0  # mean luma in [0, 255]
    sharpness: float = 0.0  # variance of the Laplacian on a normalised grey image
    issues: tuple[str, ...] = ()  # subset of: too_dark, too_blurry, too_small, nearly_uniform

    @property
    def usable(self) -> bool:
        return not self.issues


class StoredPhoto(_Frozen):
    """A photo accepted by `claims.photos`: stored once under its SHA-256."""

    sha256: str
    phash: str
    width: int
    height: int
    mime: str
    size_bytes: int
    original_name: str = ""
    exif_taken_at: datetime | None = None


class ComplaintAnalysis(_Frozen):
    intent: Intent = "unspecified"
    wants_human: bool = False
    sentiment: float = Field(default=0.0, ge=-1, le=1)
    frustrated: bool = False
    frustration_score: float = Field(default=0.0, ge=0, le=1)
    damage_types: tuple[DamageLabel, ...] = ()
    summary: str = ""
    evidence: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    model_version: str = "unknown"


class FraudSignal(_Frozen):
    code: str  # a reason code, e.g. "duplicate_photo"
    detail: str  # one sentence for the reviewer
    evidence: dict = Field(default_factory=dict)  # e.g. {"other_claim_id": ..., "other_photo": sha, "distance": 3}


class PhotoEvidence(_Frozen):
    sha256: str
    prediction: DamagePrediction | None = None
    quality: PhotoQuality | None = None


class Evidence(_Frozen):
    """Everything the policy looks at. Built by the service; the policy does no I/O."""

    photos: tuple[PhotoEvidence, ...] = ()
    complaint: ComplaintAnalysis = ComplaintAnalysis()
    order: Order | None = None
    order_email_matches: bool = True
    fraud_signals: tuple[FraudSignal, ...] = ()
    other_claims_on_order: int = 0  # earlier claims on the same order that are not this one
    human_requested: bool = False  # pressed "Talk to a person"
    now: datetime = Field(default_factory=utcnow)


class Decision(_Frozen):
    status: ClaimStatus
    resolution: Resolution | None = None
    priority: Priority | None = None  # set when a person must look
    reasons: tuple[str, ...] = ()
    customer_message: str = ""
    label: DamageLabel | None = None  # the damage the decision rests on


class ReviewAction(_Frozen):
    claim_id: str
    action: ReviewActionName
    reviewer: str
    note: str = ""

    @field_validator("note")
    @classmethod
    def _note(cls, v: str) -> str:
        return clean_text(v)


class ClaimRecord(_Frozen):
    """A stored claim as the store returns it. Times are ISO 8601 UTC strings (string order is time order).

    `version` grows by one with every status change; a decision commits only over the version it read.
    `status_actor` is the kind of actor that set the current status: customer, system or reviewer."""

    claim_id: str
    order_id: str
    email: str
    description: str
    token_hash: str
    status: ClaimStatus
    resolution: Resolution | None = None
    priority: Priority | None = None
    reasons: tuple[str, ...] = ()
    message: str = ""
    label: DamageLabel | None = None
    complaint: dict = Field(default_factory=dict)
    fraud_signals: tuple[dict, ...] = ()
    model_versions: dict = Field(default_factory=dict)
    human_requested: bool = False
    reviewed: bool = False
    sla_due_at: str | None = None
    decided_at: str | None = None
    created_at: str
    updated_at: str
    version: int = 1
    status_actor: Literal["customer", "system", "reviewer"] = "system"


class Event(_Frozen):
    claim_id: str
    actor: Actor
    kind: str  # e.g. "submitted", "decided", "human_requested", "review_opened", "reviewed", "label_corrected"
    at: datetime = Field(default_factory=utcnow)
    status: ClaimStatus | None = None
    reasons: tuple[str, ...] = ()
    detail: dict = Field(default_factory=dict)
    model_versions: dict[str, str] = Field(default_factory=dict)
