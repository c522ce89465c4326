"""Photo quality checks: calibrated so generated phone-like photos pass and bad ones are caught."""

from __future__ import annotations

import pytest
from PIL import Image, ImageEnhance, ImageFilter

from vision_models.labels import DAMAGE_LABELS
from vision_models.quality import check_quality
from vision_models.synth import render_scene


@pytest.fixture(scope="module")
def photos():
    return [render_scene(DAMAGE_LABELS[i % 6], 900 + i, (640, 480)) for i in range(12)]


def test_sharp_well_lit_generated_photos_have_no_issues(photos):
    for photo in photos:
        assert check_quality(photo)["issues"] == []


def test_blurred_photos_are_too_blurry(photos):
    for photo in photos:
        assert "too_blurry" in check_quality(photo.filter(ImageFilter.GaussianBlur(3)))["issues"]


def test_dark_photos_are_too_dark(photos):
    for photo in photos:
        assert "too_dark" in check_quality(ImageEnhance.Brightness(photo).enhance(0.12))["issues"]


def test_small_photos_are_too_small():
    assert "too_small" in check_quality(render_scene("no_damage", 1, (200, 150)))["issues"]


def test_uniform_photo_is_nearly_uniform_not_blurry():
    result = check_quality(Image.new("RGB", (800, 600), (120, 120, 120)))
    assert "nearly_uniform" in result["issues"]
    assert "too_blurry" not in result["issues"]


def test_sharpness_does_not_depend_on_resolution(photos):
    photo = photos[1]
    big = photo.resize((1920, 1440), Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(1.5))
    small = check_quality(photo)["sharpness"]
    large = check_quality(big)["sharpness"]
    assert large == pytest.approx(small, rel=0.5)


def test_width_and_height_are_of_the_original_when_given(photos):
    result = check_quality(photos[0].resize((160, 120)), original_size=(4000, 3000))
    assert (result["width"], result["height"]) == (4000, 3000)
    assert "too_small" not in result["issues"]


def test_thresholds_are_keyword_arguments(photos):
    result = check_quality(photos[0], dark_brightness=250.0, blur_sharpness=1e9, min_side=10_000)
    assert {"too_dark", "too_blurry", "too_small"} <= set(result["issues"])


def test_result_reports_measurements(photos):
    result = check_quality(photos[0].convert("L"))
    assert set(result) >= {"width", "height", "brightness", "sharpness", "issues"}
    assert 0 <= result["brightness"] <= 255


def test_rejects_what_is_not_an_image():
    with pytest.raises(TypeError):
        check_quality(b"not an image")


def test_draft_decoded_photo_reports_its_original_size(photos):
    import io

    from vision_models.decode import decode_image

    buf = io.BytesIO()
    photos[0].resize((3200, 2400)).save(buf, "JPEG", quality=85)
    image = decode_image(buf.getvalue())
    assert image.size != (3200, 2400)
    result = check_quality(image)
    assert (result["width"], result["height"]) == (3200, 2400)
    assert result["issues"] == []
