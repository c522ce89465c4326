"""Fraud signals: evidence that a claim may rest on borrowed photos or on a pattern of claims.

Signals only send a claim to a person (see `claims.policy`); they never deny and are never shown to the
customer. Each signal carries a one-sentence `detail` and the `evidence` the review tab shows beside it
(for a re-used photo: the other claim and its photo, so the two can be compared side by side).

Pure functions: the service looks up the stored hashes and counts and passes them in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import imagehash
from PIL import Image

from claims.config import Settings
from claims.models import FraudSignal, Order, StoredPhoto

# Cameras write EXIF capture times in local time, usually without a UTC offset. Local time lies between
# UTC-12 and UTC+14, so a naive time only counts as "before delivery" when it is earlier by more than this
# margin: a photo taken minutes after delivery in another time zone must not look older than the parcel.
NAIVE_EXIF_MARGIN = timedelta(hours=14)


# The photo hash is a perceptual hash (DCT, 256 bits) of the whole frame followed by the same hash of five
# 90% crops (centre and four corners). Comparing one photo's whole frame with the other's crops makes a
# cropped re-upload land exactly on one of the stored crops. A single whole-frame hash matches 7% of 10%
# crops at the largest threshold that keeps distinct photos apart (bench/fraud_phash.py, README).
HASH_SIZE = 16
CROP_FRACTION = 0.9
_CROP_ANCHORS = ((0.5, 0.5), (0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0))
_PART_HEX = HASH_SIZE * HASH_SIZE // 4
PHOTO_HASH_HEX_LENGTH = _PART_HEX * (1 + len(_CROP_ANCHORS))
_WORKING_SIDE = 512  # the hash looks at 64x64 pixels; shrinking first keeps large photos cheap


def phash_of(image: Image.Image) -> str:
    """The photo hash as hex: the whole frame's perceptual hash, then those of its five 90% crops.

    Pass the image as the customer sees it (EXIF orientation applied, as `claims.photos` does).
    """
    grey = image.convert("L")
    grey.thumbnail((_WORKING_SIDE, _WORKING_SIDE), Image.Resampling.LANCZOS)
    width, height = grey.size
    crop_w, crop_h = round(width * CROP_FRACTION), round(height * CROP_FRACTION)
    parts = [grey]
    for ax, ay in _CROP_ANCHORS:
        left, top = round((width - crop_w) * ax), round((height - crop_h) * ay)
        parts.append(grey.crop((left, top, left + crop_w, top + crop_h)))
    return "".join(str(imagehash.phash(part, hash_size=HASH_SIZE)) for part in parts)


def hamming(a_hex: str, b_hex: str) -> int:
    """Distance between two photo hashes of the same kind: the fewest differing bits between one's whole
    frame and the other's whole frame or crops. For two plain hashes (no crops) it is their Hamming distance.
    """
    a, b = _PhotoHash.parse(a_hex), _PhotoHash.parse(b_hex)
    if a is None or b is None or not a.comparable(b):
        raise ValueError(f"cannot compare photo hashes of different kinds: {a_hex[:20]!r}..., {b_hex[:20]!r}...")
    return a.distance(b)


@dataclass(frozen=True)
class _PhotoHash:
    parts: tuple[int, ...]  # whole frame first, then crops (none for a plain hash)
    part_bits: int

    @classmethod
    def parse(cls, hex_hash: str | None) -> _PhotoHash | None:
        text = (hex_hash or "").strip().lower()
        if not text:
            return None
        size = _PART_HEX if len(text) == PHOTO_HASH_HEX_LENGTH else len(text)
        try:
            return cls(tuple(int(text[i : i + size], 16) for i in range(0, len(text), size)), size * 4)
        except ValueError:
            return None

    def comparable(self, other: _PhotoHash) -> bool:
        return self.part_bits == other.part_bits and len(self.parts) == len(other.parts)

    def distance(self, other: _PhotoHash) -> int:
        whole, other_whole = self.parts[0], other.parts[0]
        return min(
            [(whole ^ other_whole).bit_count()]
            + [(whole ^ crop).bit_count() for crop in other.parts[1:]]
            + [(crop ^ other_whole).bit_count() for crop in self.parts[1:]]
        )

    def limit(self, max_distance: int) -> int:
        """The threshold is set for 256-bit parts; a hash of another size (a plain 64-bit phash stored by an
        older intake) is held to the same fraction of its bits rather than matching almost everything."""
        return max_distance * self.part_bits // (HASH_SIZE * HASH_SIZE)


def _match_distance(
    sha_a: str, hash_a: _PhotoHash | None, sha_b: str, hash_b: _PhotoHash | None, max_distance: int
) -> int | None:
    """The distance between two photos when they match, else None. Identical files always match."""
    if sha_a == sha_b:
        return 0
    if hash_a is None or hash_b is None or not hash_a.comparable(hash_b):
        return None
    distance = hash_a.distance(hash_b)
    return distance if distance <= hash_a.limit(max_distance) else None


def detect_fraud(
    photos: Sequence[StoredPhoto],
    other_photos: Iterable[tuple[str, str, str]],
    recent_claims_by_email: int,
    recent_claims_on_order: int,
    resolved_claims_on_order: Sequence[str],
    order: Order | None,
    settings: Settings,
) -> list[FraudSignal]:
    """Every fraud signal for one claim.

    `other_photos` holds (claim_id, sha256, phash hex) of the stored photos of every OTHER claim; the counts
    exclude the current claim; `resolved_claims_on_order` names earlier claims on the order that ended in a
    refund or replacement.
    """
    signals = _duplicates(photos, other_photos, settings.phash_max_distance)
    signals += _same_photo_twice(photos, settings.phash_max_distance)
    signals += _velocity(recent_claims_by_email, recent_claims_on_order, settings)
    if resolved_claims_on_order:
        ids = ", ".join(resolved_claims_on_order)
        signals.append(
            FraudSignal(
                code="order_already_resolved",
                detail=f"This order was already refunded or replaced through claim {ids}.",
                evidence={"resolved_claim_ids": list(resolved_claims_on_order)},
            )
        )
    signals += _taken_before_delivery(photos, order)
    return signals


def _duplicates(
    photos: Sequence[StoredPhoto], other_photos: Iterable[tuple[str, str, str]], max_distance: int
) -> list[FraudSignal]:
    """The closest photo of each other claim that matches a photo of this claim."""
    mine = [(photo.sha256, _PhotoHash.parse(photo.phash)) for photo in photos]
    best: dict[tuple[str, str], tuple[int, str]] = {}  # (my sha, other claim) -> (distance, other sha)
    for other_claim, other_sha, other_phash in other_photos:
        other_hash = _PhotoHash.parse(other_phash)
        for my_sha, my_hash in mine:
            distance = _match_distance(my_sha, my_hash, other_sha, other_hash, max_distance)
            key = (my_sha, other_claim)
            if distance is not None and (key not in best or distance < best[key][0]):
                best[key] = (distance, other_sha)
    signals = []
    for (my_sha, other_claim), (distance, other_sha) in sorted(best.items(), key=lambda kv: (kv[1][0], kv[0])):
        how = "is the same file as" if my_sha == other_sha else f"looks the same as (hash distance {distance})"
        signals.append(
            FraudSignal(
                code="duplicate_photo",
                detail=f"Photo {my_sha[:10]} {how} photo {other_sha[:10]} of claim {other_claim}.",
                evidence={
                    "other_claim_id": other_claim,
                    "other_photo_sha256": other_sha,
                    "photo_sha256": my_sha,
                    "distance": distance,
                },
            )
        )
    return signals


def _same_photo_twice(photos: Sequence[StoredPhoto], max_distance: int) -> list[FraudSignal]:
    hashes = [_PhotoHash.parse(photo.phash) for photo in photos]
    signals = []
    for i, first in enumerate(photos):
        for j in range(i + 1, len(photos)):
            second = photos[j]
            distance = _match_distance(first.sha256, hashes[i], second.sha256, hashes[j], max_distance)
            if distance is not None:
                signals.append(
                    FraudSignal(
                        code="same_photo_twice",
                        detail=f"Photos {first.sha256[:10]} and {second.sha256[:10]} of this claim are the same "
                        f"picture (hash distance {distance}).",
                        evidence={
                            "photo_sha256": first.sha256,
                            "other_photo_sha256": second.sha256,
                            "distance": distance,
                        },
                    )
                )
    return signals


def _velocity(by_email: int, on_order: int, settings: Settings) -> list[FraudSignal]:
    window = f"{settings.velocity_window_hours:g} hours"
    signals = []
    if by_email >= settings.velocity_max_claims:
        signals.append(
            FraudSignal(
                code="claim_velocity_email",
                detail=f"This email filed {by_email} other claims in the last {window}.",
                evidence={
                    "recent_claims": by_email,
                    "limit": settings.velocity_max_claims,
                    "window_hours": settings.velocity_window_hours,
                },
            )
        )
    if on_order >= settings.velocity_max_claims:
        signals.append(
            FraudSignal(
                code="claim_velocity_order",
                detail=f"This order has {on_order} other claims in the last {window}.",
                evidence={
                    "recent_claims": on_order,
                    "limit": settings.velocity_max_claims,
                    "window_hours": settings.velocity_window_hours,
                },
            )
        )
    return signals


def _taken_before_delivery(photos: Sequence[StoredPhoto], order: Order | None) -> list[FraudSignal]:
    if order is None or order.delivered_at is None:
        return []
    delivered = _utc(order.delivered_at)
    signals = []
    for photo in photos:
        taken = photo.exif_taken_at
        if taken is None:
            continue
        # No earlier than the latest moment in UTC the camera time can stand for.
        latest_utc = _utc(taken) + (NAIVE_EXIF_MARGIN if taken.tzinfo is None else timedelta(0))
        if latest_utc < delivered:
            signals.append(
                FraudSignal(
                    code="photo_taken_before_delivery",
                    detail=f"Photo {photo.sha256[:10]} was taken {taken:%Y-%m-%d %H:%M} (camera time), before the "
                    f"delivery on {delivered:%Y-%m-%d %H:%M} UTC.",
                    evidence={
                        "photo_sha256": photo.sha256,
                        "taken_at": taken.isoformat(),
                        "delivered_at": delivered.isoformat(),
                        "timezone_known": taken.tzinfo is not None,
                    },
                )
            )
    return signals


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
