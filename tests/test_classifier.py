"""The damage classifier: shipped head, predictions over the taxonomy, batching, large photos, threads."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from vision_models import load_damage_classifier
from vision_models.backbone import imagenet_categories
from vision_models.classifier import DEFAULT_WEIGHTS, DamageClassifier, Head, open_for_model
from vision_models.features import FEATURE_DIM, TUNED_KIND, Tail
from vision_models.labels import BINARY_LABELS, DAMAGE_LABELS, DamagePrediction
from vision_models.synth import render_scene

pytestmark = pytest.mark.slow  # loads the real classifier


@pytest.fixture(scope="module")
def clf():
    return load_damage_classifier()


@pytest.fixture(scope="module")
def scenes():
    return [render_scene(label, 4242 + i, (320, 240)) for i, label in enumerate(DAMAGE_LABELS)]


def _jpeg_bytes(image: Image.Image, **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=85, **kwargs)
    return buf.getvalue()


def test_shipped_weights_are_committed_and_small():
    assert DEFAULT_WEIGHTS.is_file()
    assert DEFAULT_WEIGHTS.stat().st_size < 1_000_000
    assert DEFAULT_WEIGHTS.with_suffix(".json").is_file()


def test_classifier_is_cached_per_weights_path(clf):
    assert load_damage_classifier() is clf
    assert load_damage_classifier(DEFAULT_WEIGHTS) is clf


def test_prediction_covers_the_six_labels_and_is_consistent(clf, scenes):
    p = clf.predict(scenes[0])
    assert isinstance(p, DamagePrediction)
    assert set(p.probabilities) == set(DAMAGE_LABELS)
    assert sum(p.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert p.label == max(p.probabilities, key=p.probabilities.get)
    assert p.confidence == pytest.approx(p.probabilities[p.label])
    assert p.damaged_probability == pytest.approx(1 - p.probabilities["no_damage"], abs=1e-6)
    assert p.model_version == clf.version and clf.version


def test_prediction_names_what_the_photo_looks_like(clf, scenes):
    p = clf.predict(scenes[1])
    categories = set(imagenet_categories())
    assert len(p.looks_like) == 3
    assert all(name in categories and 0 <= prob <= 1 for name, prob in p.looks_like)
    assert [prob for _, prob in p.looks_like] == sorted((prob for _, prob in p.looks_like), reverse=True)


def test_batch_prediction_matches_single_predictions(clf, scenes):
    batch = clf.predict_batch(scenes)
    assert len(batch) == len(scenes)
    for image, pb in zip(scenes, batch):
        ps = clf.predict(image)
        assert pb.label == ps.label
        assert pb.damaged_probability == pytest.approx(ps.damaged_probability, abs=1e-4)
    assert clf.predict_batch([]) == []


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK", "I;16"])
def test_any_pil_mode_is_accepted(clf, scenes, mode):
    image = scenes[2].convert("L").convert(mode) if mode == "I;16" else scenes[2].convert(mode)
    assert clf.predict(image).label in DAMAGE_LABELS


def test_paths_and_bytes_are_accepted(clf, scenes, tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(_jpeg_bytes(scenes[3]))
    by_path = clf.predict(str(path))
    by_bytes = clf.predict(path.read_bytes())
    assert by_path.damaged_probability == pytest.approx(by_bytes.damaged_probability, abs=1e-5)


def test_large_jpeg_is_decoded_at_reduced_size(scenes):
    big = scenes[0].resize((4000, 3000), Image.Resampling.BILINEAR)
    image = open_for_model(_jpeg_bytes(big))
    assert image.info["original_size"] == (4000, 3000)
    assert image.size == (1000, 750)  # DCT-scaled to 1/4: both sides still at least DRAFT_SIDE (512)


def test_exif_rotation_is_applied(scenes):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees: the camera was held upright
    image = open_for_model(_jpeg_bytes(scenes[0].resize((800, 600)), exif=exif.tobytes()))
    assert image.size[0] < image.size[1]
    assert image.info["original_size"] == (600, 800)


def test_truncated_jpeg_fails_to_open(scenes):
    data = _jpeg_bytes(scenes[0])
    with pytest.raises(OSError):
        open_for_model(data[: len(data) // 2])


def test_concurrent_predictions_agree_with_sequential_ones(clf, scenes):
    expected = [clf.predict(image).damaged_probability for image in scenes]
    results: dict[int, list[float]] = {}

    def worker(k: int) -> None:
        results[k] = [clf.predict(image).damaged_probability for image in scenes]

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(4):
        assert results[k] == pytest.approx(expected, abs=1e-5)


def _binary_head(bias_damaged: float) -> Head:
    return Head(
        labels=BINARY_LABELS,
        weight=torch.zeros(2, FEATURE_DIM),
        bias=torch.tensor([0.0, bias_damaged]),
        feature_mean=torch.zeros(FEATURE_DIM),
        feature_std=torch.ones(FEATURE_DIM),
    )


@pytest.mark.parametrize("bias, expect_damaged", [(2.0, True), (-2.0, False)])
def test_binary_head_maps_onto_the_taxonomy(clf, scenes, bias, expect_damaged):
    taxonomy = Head.load(DEFAULT_WEIGHTS)
    binary = DamageClassifier(_binary_head(bias), clf.backbone, taxonomy)
    p = binary.predict(scenes[4])
    p_damaged = 1 / (1 + np.exp(-bias))
    assert p.damaged_probability == pytest.approx(p_damaged, abs=1e-5)
    assert sum(p.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert p.damaged is expect_damaged
    if expect_damaged:
        # the kind of damage follows the six-label head's view of the photo
        six = clf.predict(scenes[4]).probabilities
        assert p.label == max(DAMAGE_LABELS[1:], key=six.get)


def test_binary_head_without_taxonomy_splits_damage_evenly(clf, scenes):
    p = DamageClassifier(_binary_head(1.0), clf.backbone, None).predict(scenes[0])
    damaged = [p.probabilities[label] for label in DAMAGE_LABELS[1:]]
    assert max(damaged) == pytest.approx(min(damaged))


def test_head_rejects_inconsistent_weights():
    with pytest.raises(ValueError):
        Head(
            labels=("a", "b"),
            weight=torch.zeros(2, FEATURE_DIM),
            bias=torch.zeros(2),
            feature_mean=torch.zeros(FEATURE_DIM),
            feature_std=torch.ones(FEATURE_DIM),
        )
    with pytest.raises(ValueError):
        Head(
            labels=BINARY_LABELS,
            weight=torch.zeros(3, FEATURE_DIM),
            bias=torch.zeros(3),
            feature_mean=torch.zeros(FEATURE_DIM),
            feature_std=torch.ones(FEATURE_DIM),
        )
    with pytest.raises(ValueError):
        _binary_head(0.0).__class__(**{**_binary_head(0.0).__dict__, "temperature": 0.0})


def test_missing_weights_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_damage_classifier(tmp_path / "nope.pt")


def test_shipped_head_tells_generated_damage_from_intact(clf):
    intact = [render_scene("no_damage", 7000 + i, (320, 240)) for i in range(6)]
    damaged = [render_scene(label, 7100 + i, (320, 240)) for i, label in enumerate(DAMAGE_LABELS[1:] * 2)]
    p_intact = [p.damaged_probability for p in clf.predict_batch(intact)]
    p_damaged = [p.damaged_probability for p in clf.predict_batch(damaged)]
    correct = sum(p < 0.5 for p in p_intact) + sum(p >= 0.5 for p in p_damaged)
    assert correct >= 0.75 * (len(intact) + len(damaged))


def test_shipped_head_calls_an_unseen_real_product_photo_intact(clf):
    # scikit-image's coffee.png is a real photo of an intact cup the scene generator never uses.
    from skimage import data

    p = clf.predict(Image.fromarray(data.coffee()))
    assert p.label == "no_damage"
    assert dict(p.looks_like).get("espresso", 0) > 0.5


def test_heic_photos_from_phones_open(scenes):
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    scenes[0].save(buf, "HEIF", quality=80)
    image = open_for_model(buf.getvalue())
    assert image.info["original_size"] == scenes[0].size


def test_a_head_with_fine_tuned_blocks_round_trips_and_reads_the_tuned_features(clf, scenes, tmp_path):
    # An untouched copy of the last blocks must reproduce the frozen backbone exactly.
    shipped = Head.load(DEFAULT_WEIGHTS)
    tuned = Head(
        labels=shipped.labels,
        weight=shipped.weight,
        bias=shipped.bias,
        feature_mean=shipped.feature_mean,
        feature_std=shipped.feature_std,
        temperature=shipped.temperature,
        feature_kind=TUNED_KIND,
        tail=Tail(backbone=clf.backbone),
    )
    tuned.save(tmp_path / "tuned.pt")
    loaded = Head.load(tmp_path / "tuned.pt")
    assert loaded.feature_kind == TUNED_KIND and loaded.tail is not None
    same = DamageClassifier(loaded, clf.backbone)
    for image in scenes[:3]:
        assert same.predict(image).probabilities == pytest.approx(clf.predict(image).probabilities, abs=1e-4)
    # Changing the tuned blocks changes the prediction: the head really reads them.
    with torch.no_grad():
        loaded.tail.conv_head.bias.add_(0.5)
    assert DamageClassifier(loaded, clf.backbone).predict(scenes[0]).probabilities != pytest.approx(
        clf.predict(scenes[0]).probabilities, abs=1e-4
    )


def test_shipped_head_is_a_frozen_backbone_head():
    assert Head.load(DEFAULT_WEIGHTS).tail is None


def test_fine_tuned_blocks_and_feature_kind_must_agree(clf):
    with pytest.raises(ValueError, match="fine-tuned"):
        Head(
            labels=BINARY_LABELS,
            weight=torch.zeros(2, FEATURE_DIM),
            bias=torch.zeros(2),
            feature_mean=torch.zeros(FEATURE_DIM),
            feature_std=torch.ones(FEATURE_DIM),
            feature_kind=TUNED_KIND,
        )
    with pytest.raises(ValueError, match="fine-tuned"):
        Head(
            labels=BINARY_LABELS,
            weight=torch.zeros(2, FEATURE_DIM),
            bias=torch.zeros(2),
            feature_mean=torch.zeros(FEATURE_DIM),
            feature_std=torch.ones(FEATURE_DIM),
            tail=Tail(backbone=clf.backbone),
        )
