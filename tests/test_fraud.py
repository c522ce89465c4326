"""Fraud signals: re-used photos, claim velocity, resolved orders, photos older than the delivery."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta, timezone

import pytest
from PIL import Image

from bench.fraud_phash import EXTRA_TRANSFORMS, TRANSFORMS, make_scenes
from claims.config import Settings
from claims.fraud import PHOTO_HASH_HEX_LENGTH, detect_fraud, hamming, phash_of
from claims.models import Evidence, Order, StoredPhoto
from claims.policy import FRAUD_REASONS, decide

SETTINGS = Settings()
DELIVERED = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
ORDER = Order(order_id="DEMO-1001", email="demo@example.com", item_name="desk lamp", value=39.9, delivered_at=DELIVERED)


@pytest.fixture(scope="module")
def scenes() -> list[Image.Image]:
    return make_scenes(24, seed=3)


@pytest.fixture(scope="module")
def scene_hashes(scenes) -> list[str]:
    return [phash_of(image) for image in scenes]


def stored(
    image: Image.Image | None = None, *, name: str = "", phash: str | None = None, taken: datetime | None = None
) -> StoredPhoto:
    if image is not None:
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        sha = hashlib.sha256(buffer.getvalue()).hexdigest()
        phash = phash_of(image)
    else:
        sha = hashlib.sha256(name.encode()).hexdigest()
    return StoredPhoto(
        sha256=sha,
        phash=phash or "0" * PHOTO_HASH_HEX_LENGTH,
        width=640,
        height=480,
        mime="image/png",
        size_bytes=1000,
        exif_taken_at=taken,
    )


def detect(photos=(), other_photos=(), by_email=0, on_order=0, resolved=(), order=ORDER, settings=SETTINGS):
    return detect_fraud(photos, other_photos, by_email, on_order, list(resolved), order, settings)


def codes(signals) -> list[str]:
    return [signal.code for signal in signals]


# --- perceptual hash ------------------------------------------------------------------------------


def test_photo_hash_is_fixed_length_hex_and_deterministic(scenes):
    first = phash_of(scenes[0])
    assert len(first) == PHOTO_HASH_HEX_LENGTH
    int(first, 16)
    assert phash_of(scenes[0].copy()) == first
    assert hamming(first, first) == 0


@pytest.mark.parametrize("mode", ["L", "RGBA", "P"])
def test_photo_hash_ignores_the_image_mode(scenes, mode):
    assert hamming(phash_of(scenes[1]), phash_of(scenes[1].convert(mode))) <= 4


@pytest.mark.parametrize("name", list(TRANSFORMS) + ["all_four_combined", "crop_10pct_one_corner"])
def test_reuploaded_photo_is_matched(scenes, scene_hashes, name):
    transform = {**TRANSFORMS, **EXTRA_TRANSFORMS}[name]
    distances = [hamming(h, phash_of(transform(image))) for h, image in zip(scene_hashes, scenes)]
    assert max(distances) <= SETTINGS.phash_max_distance, distances


def test_distinct_photos_of_similar_boxes_are_not_matched(scene_hashes):
    distances = [hamming(a, b) for i, a in enumerate(scene_hashes) for b in scene_hashes[i + 1 :]]
    assert len(distances) == 24 * 23 // 2
    assert min(distances) > SETTINGS.phash_max_distance


def test_hashes_of_different_kinds_cannot_be_compared(scene_hashes):
    with pytest.raises(ValueError):
        hamming(scene_hashes[0], "ffee000011112222")
    with pytest.raises(ValueError):
        hamming("not hex at all", "ffee000011112222")


def test_plain_hashes_compare_bit_by_bit():
    assert hamming("ff00ff00ff00ff00", "ff00ff00ff00ff0f") == 4


@pytest.mark.parametrize("differing_bits,matched", [(12, True), (13, False)])
def test_plain_64_bit_hashes_are_held_to_the_same_fraction_of_bits(differing_bits, matched):
    # 49 of 256 bits -> 12 of 64: an older intake's plain phash must not match almost everything.
    settings = Settings(phash_max_distance=49)
    mine = StoredPhoto(sha256="a" * 64, phash="0" * 16, width=1, height=1, mime="image/png", size_bytes=1)
    other = format((1 << differing_bits) - 1, "016x")
    signals = detect([mine], [("CLM-OTHER", "b" * 64, other)], settings=settings)
    assert codes(signals) == (["duplicate_photo"] if matched else [])


# --- duplicate photos across claims ---------------------------------------------------------------


def test_reused_photo_names_the_other_claim_and_photo(scenes):
    original = stored(scenes[0])
    reupload = stored(TRANSFORMS["crop_10pct"](TRANSFORMS["jpeg_q60"](scenes[0])))
    others = [
        ("CLM-EARLIER", original.sha256, original.phash),
        ("CLM-EARLIER", "c" * 64, phash_of(scenes[5])),
        ("CLM-UNRELATED", "d" * 64, phash_of(scenes[6])),
    ]
    signals = detect([reupload, stored(scenes[7])], others)
    assert codes(signals) == ["duplicate_photo"]
    evidence = signals[0].evidence
    assert evidence["other_claim_id"] == "CLM-EARLIER"
    assert evidence["other_photo_sha256"] == original.sha256
    assert evidence["photo_sha256"] == reupload.sha256
    assert 0 < evidence["distance"] <= SETTINGS.phash_max_distance
    assert "CLM-EARLIER" in signals[0].detail


def test_one_signal_per_other_claim_with_its_closest_photo(scenes):
    photo = stored(scenes[0])
    brighter = TRANSFORMS["brightness_+20pct"](scenes[0])
    others = [
        ("CLM-A", "1" * 64, phash_of(brighter)),
        ("CLM-A", photo.sha256, photo.phash),
        ("CLM-B", "2" * 64, phash_of(TRANSFORMS["half_size"](scenes[0]))),
    ]
    signals = detect([photo], others)
    assert sorted(s.evidence["other_claim_id"] for s in signals) == ["CLM-A", "CLM-B"]
    closest_a = next(s for s in signals if s.evidence["other_claim_id"] == "CLM-A")
    assert closest_a.evidence["distance"] == 0 and closest_a.evidence["other_photo_sha256"] == photo.sha256


def test_the_same_file_matches_even_when_its_hash_is_missing():
    photo = stored(name="x", phash="")
    signals = detect([photo], [("CLM-A", photo.sha256, "")])
    assert codes(signals) == ["duplicate_photo"] and signals[0].evidence["distance"] == 0


def test_distinct_photos_raise_no_signal(scenes, scene_hashes):
    others = [(f"CLM-{i}", f"{i:064x}", h) for i, h in enumerate(scene_hashes[1:])]
    assert detect([stored(scenes[0])], others) == []


# --- the same photo twice in one claim ------------------------------------------------------------


def test_same_photo_twice_in_one_claim(scenes):
    photo = stored(scenes[2])
    copy = stored(TRANSFORMS["jpeg_q60"](scenes[2]))
    signals = detect([photo, stored(scenes[3]), copy])
    assert codes(signals) == ["same_photo_twice"]
    assert {signals[0].evidence["photo_sha256"], signals[0].evidence["other_photo_sha256"]} == {
        photo.sha256,
        copy.sha256,
    }


def test_identical_files_twice_in_one_claim(scenes):
    photo = stored(scenes[2])
    assert codes(detect([photo, photo])) == ["same_photo_twice"]


# --- velocity and resolved orders -----------------------------------------------------------------


@pytest.mark.parametrize("count,fires", [(0, False), (2, False), (3, True), (7, True)])
def test_claim_velocity_per_email_fires_at_its_threshold(count, fires):
    signals = detect(by_email=count, settings=Settings(velocity_max_claims=3))
    assert codes(signals) == (["claim_velocity_email"] if fires else [])
    if fires:
        assert signals[0].evidence["recent_claims"] == count and "72 hours" in signals[0].detail


@pytest.mark.parametrize("count,fires", [(1, False), (2, True)])
def test_claim_velocity_per_order_fires_at_its_threshold(count, fires):
    signals = detect(on_order=count, settings=Settings(velocity_max_claims=2))
    assert codes(signals) == (["claim_velocity_order"] if fires else [])


def test_second_claim_on_a_resolved_order_names_the_earlier_claims():
    signals = detect(resolved=["CLM-1", "CLM-2"])
    assert codes(signals) == ["order_already_resolved"]
    assert signals[0].evidence["resolved_claim_ids"] == ["CLM-1", "CLM-2"]
    assert "CLM-1" in signals[0].detail
    assert detect(resolved=[]) == []


# --- EXIF capture time ----------------------------------------------------------------------------

NAIVE_DELIVERED = DELIVERED.replace(tzinfo=None)
EXIF_CASES = [
    ("aware_one_second_before_delivery", DELIVERED - timedelta(seconds=1), DELIVERED, True),
    ("aware_at_delivery", DELIVERED, DELIVERED, False),
    (
        "aware_in_another_zone_before",
        (DELIVERED - timedelta(minutes=5)).astimezone(timezone(timedelta(hours=-5))),
        DELIVERED,
        True,
    ),
    (
        "aware_in_another_zone_after",
        (DELIVERED + timedelta(minutes=5)).astimezone(timezone(timedelta(hours=9))),
        DELIVERED,
        False,
    ),
    ("naive_camera_time_beyond_the_14_hour_margin", NAIVE_DELIVERED - timedelta(hours=14, seconds=1), DELIVERED, True),
    ("naive_camera_time_within_the_margin", NAIVE_DELIVERED - timedelta(hours=14), DELIVERED, False),
    ("naive_delivery_time_is_utc", DELIVERED - timedelta(seconds=1), NAIVE_DELIVERED, True),
    ("both_naive", NAIVE_DELIVERED - timedelta(days=3), NAIVE_DELIVERED, True),
]


@pytest.mark.parametrize("taken,delivered,fires", [c[1:] for c in EXIF_CASES], ids=[c[0] for c in EXIF_CASES])
def test_photo_taken_before_delivery_fires_at_the_delivery_time(taken, delivered, fires):
    order = ORDER.model_copy(update={"delivered_at": delivered})
    signals = detect([stored(name="p", taken=taken)], order=order)
    assert codes(signals) == (["photo_taken_before_delivery"] if fires else [])
    if fires:
        assert signals[0].evidence["photo_sha256"] == stored(name="p").sha256


@pytest.mark.parametrize("order", [None, ORDER.model_copy(update={"delivered_at": None})])
def test_no_exif_signal_without_a_delivery_date(order):
    assert detect([stored(name="p", taken=DELIVERED - timedelta(days=9))], order=order) == []


def test_photo_without_exif_time_raises_nothing():
    assert detect([stored(name="p")]) == []


# --- signals for the reviewer, never a denial ------------------------------------------------------


def test_every_signal_is_a_known_reason_with_one_readable_sentence(scenes):
    photo = stored(scenes[0], taken=DELIVERED - timedelta(days=30))
    signals = detect([photo, photo], [("CLM-A", photo.sha256, photo.phash)], by_email=5, on_order=5, resolved=["CLM-A"])
    assert sorted(set(codes(signals))) == sorted(FRAUD_REASONS)
    for signal in signals:
        assert signal.detail.endswith(".") and signal.detail.count(". ") == 0
        assert signal.evidence


def test_fraud_signals_send_the_claim_to_a_person_not_to_a_denial(scenes):
    from tests.test_policy import evidence as clean_evidence

    photo = stored(scenes[0])
    signals = detect([photo], [("CLM-A", photo.sha256, photo.phash)])
    decision = decide(clean_evidence(fraud_signals=tuple(signals)), SETTINGS)
    assert decision.status == "in_review" and "duplicate_photo" in decision.reasons
    assert isinstance(clean_evidence(), Evidence)
