"""One photo decode: serving intake, evaluation and training turn the same file into the same model input,
and serving never imports the training code."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from claims.config import Settings
from claims.photos import read_photos
from vision_models import decode, evaluate, train
from vision_models.backbone import preprocess
from vision_models.classifier import DEFAULT_WEIGHTS, DamageClassifier, Head
from vision_models.features import FEATURE_DIM
from vision_models.synth import render_scene

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def phone_photo(tmp_path_factory) -> Path:
    """A 4000x3000 JPEG from a phone held upright (EXIF orientation 6), in an ImageFolder layout."""
    scene = render_scene("broken", 3, (640, 480)).resize((4000, 3000), Image.Resampling.BICUBIC)
    rng = np.random.default_rng(0)  # sensor noise, so the reduced decode has real detail to lose or keep
    noisy = np.clip(np.asarray(scene, np.int16) + rng.integers(-10, 11, (3000, 4000, 1)), 0, 255).astype(np.uint8)
    exif = Image.Exif()
    exif[decode.TAG_ORIENTATION] = 6
    path = tmp_path_factory.mktemp("folder") / "broken" / "phone.jpg"
    path.parent.mkdir()
    Image.fromarray(noisy).save(path, "JPEG", quality=90, exif=exif)
    return path


@pytest.fixture(scope="module")
def model_input():
    """The classifier's own step from a PIL image to its input tensor (DamageClassifier.predict_batch)."""
    prep = Head.load(DEFAULT_WEIGHTS).preprocessing
    return lambda image: preprocess(image, prep)


def _served(path: Path) -> Image.Image:
    settings = Settings(max_image_pixels=50_000_000, max_photo_bytes=20 * 1024 * 1024)
    (photo,) = read_photos([path], settings)
    assert (photo.width, photo.height) == (3000, 4000)  # the original, upright
    return photo.image


def _evaluated(path: Path, monkeypatch) -> Image.Image:
    seen = []
    real = DamageClassifier.predict_batch
    monkeypatch.setattr(
        DamageClassifier, "predict_batch", lambda self, images: seen.extend(images) or real(self, images)
    )
    report = evaluate.evaluate_folder(path.parent.parent)
    assert report["n"] == 1 and len(seen) == 1
    return seen[0]


def _trained(path: Path, monkeypatch) -> Image.Image:
    seen = []
    monkeypatch.setattr(
        train,
        "_embed",
        lambda images, batch_size=32: seen.extend(images) or np.zeros((len(images), FEATURE_DIM), np.float32),
    )
    train.folder_dataset(path.parent.parent, views=1, seed=0, cache=train.FeatureCache(None), log=lambda *_: None)
    assert len(seen) == 1
    return seen[0]


def test_serving_evaluation_and_training_give_the_model_the_same_input(phone_photo, model_input, monkeypatch):
    served = _served(phone_photo)
    evaluated = _evaluated(phone_photo, monkeypatch)
    trained = _trained(phone_photo, monkeypatch)
    # upright, decoded at reduced scale, RGB
    assert served.size == (750, 1000) and served.mode == "RGB"
    for image in (evaluated, trained):
        assert (image.size, image.mode) == (served.size, served.mode)
        assert image.tobytes() == served.tobytes()
    tensor = model_input(served)
    assert tensor.shape == (3, 224, 224)
    assert torch.equal(model_input(evaluated), tensor)
    assert torch.equal(model_input(trained), tensor)


def test_decode_image_is_the_serving_decode(phone_photo):
    image = decode.decode_image(phone_photo)
    assert image.tobytes() == _served(phone_photo).tobytes()
    assert image.info["original_size"] == (3000, 4000)


def test_a_large_jpeg_is_decoded_at_reduced_scale_with_both_sides_at_least_the_draft_side(phone_photo):
    image = decode.decode_image(phone_photo.read_bytes())
    assert min(image.size) >= decode.DRAFT_SIDE
    assert max(image.size) <= decode.WORKING_SIDE


def test_a_large_png_is_shrunk_to_the_working_side():
    buffer = io.BytesIO()
    Image.new("RGB", (2400, 1200), (10, 200, 30)).save(buffer, "PNG")
    image = decode.decode_image(buffer.getvalue())
    assert image.size == (decode.WORKING_SIDE, decode.WORKING_SIDE // 2)
    assert image.info["original_size"] == (2400, 1200)


@pytest.mark.parametrize(
    "mode, fill, expected",
    [
        ("RGBA", (0, 0, 0, 0), (255, 255, 255)),  # transparent pixels are shown on white
        ("L", 90, (90, 90, 90)),
        ("P", 3, None),
    ],
)
def test_every_mode_becomes_rgb(mode, fill, expected):
    buffer = io.BytesIO()
    Image.new(mode, (40, 30), fill).save(buffer, "PNG")
    image = decode.decode_image(buffer.getvalue())
    assert image.mode == "RGB"
    if expected is not None:
        assert image.getpixel((5, 5)) == expected


def test_sixteen_bit_grey_is_scaled_rather_than_clipped_to_white():
    ramp = np.linspace(0, 65535, 64 * 48).reshape(48, 64).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(ramp).save(buffer, "PNG")
    pixels = np.asarray(decode.decode_image(buffer.getvalue()))
    assert pixels.min() == 0 and pixels.max() == 255 and 100 < pixels.mean() < 155


def test_heic_support_is_registered_once_and_heic_photos_decode():
    pytest.importorskip("pillow_heif")
    assert decode.register_heif() is True
    assert decode.register_heif() is True
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 30, 30)).save(buffer, "HEIF", quality=90)
    image = decode.decode_image(buffer.getvalue())
    assert image.mode == "RGB" and image.info["original_size"] == (320, 240)


def test_a_truncated_file_fails_to_decode(phone_photo):
    data = phone_photo.read_bytes()
    with pytest.raises(OSError):
        decode.decode_image(data[: len(data) // 3])


def test_open_image_restricted_to_one_format_refuses_another():
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20)).save(buffer, "PNG")
    with pytest.raises(OSError):
        decode.open_image(buffer.getvalue(), formats=["JPEG"])


TRAINING_ONLY = ("vision_models.train", "vision_models.synth", "vision_models.evaluate", "torchvision", "skimage")


def _modules_after_import(*modules: str) -> set[str]:
    code = f"import json, sys\nimport {', '.join(modules)}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300, check=True
    )
    return set(json.loads(result.stdout))


def _training_modules(loaded: set[str]) -> list[str]:
    return sorted(m for m in loaded if any(m == t or m.startswith(t + ".") for t in TRAINING_ONLY))


def test_serving_imports_no_training_code():
    loaded = _modules_after_import("vision_models.classifier", "claims.photos")
    assert "vision_models.decode" in loaded
    assert _training_modules(loaded) == []


def test_the_serving_intake_and_the_decode_do_not_import_torch():
    loaded = _modules_after_import("claims.photos", "vision_models.decode")
    assert "torch" not in loaded
    assert _training_modules(loaded) == []
