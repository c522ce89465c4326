"""Generated training scenes: every label renders, reproducibly, in ImageFolder layout."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from vision_models.labels import DAMAGE_LABELS
from vision_models.synth import OBJECTS_FOR_LABEL, generate_dataset, main, render_scene


@pytest.mark.parametrize("label", DAMAGE_LABELS)
def test_every_label_renders_a_photo_like_rgb_image(label):
    image = render_scene(label, 3, (160, 120))
    assert image.mode == "RGB"
    assert sorted(image.size) == [120, 160]
    array = np.asarray(image, dtype=np.float32)
    assert array.std() > 5  # not a blank frame


def test_same_seed_renders_the_same_scene():
    a = np.asarray(render_scene("broken", 11, (120, 90)))
    b = np.asarray(render_scene("broken", 11, (120, 90)))
    c = np.asarray(render_scene("broken", 12, (120, 90)))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("label", ["crushed_packaging", "torn_packaging", "water_damage"])
def test_damage_is_drawn_on_the_same_objects_as_intact_photos(label):
    # The intact class covers every object a damaged class uses, so "box" alone never means "damaged".
    assert set(OBJECTS_FOR_LABEL[label]) <= set(OBJECTS_FOR_LABEL["no_damage"])


def test_every_object_kind_renders(tmp_path):
    kinds = {k for objects in OBJECTS_FOR_LABEL.values() for k in objects}
    for kind in kinds:
        assert render_scene("no_damage", 5, (120, 90), kind=kind).size in ((120, 90), (90, 120))


def test_unknown_label_is_refused():
    with pytest.raises(ValueError):
        render_scene("dented", 1)


def test_generate_dataset_writes_imagefolder_layout(tmp_path):
    paths = generate_dataset(tmp_path, 1, size=(96, 72))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(DAMAGE_LABELS)
    assert len(paths) == len(DAMAGE_LABELS)
    for path in paths:
        with Image.open(path) as image:
            assert image.format == "JPEG"


def test_samples_command_writes_demo_photos(tmp_path):
    assert main(["--samples", str(tmp_path / "s")]) == 0
    files = list((tmp_path / "s").rglob("*.jpg"))
    assert len(files) == 6 * len(DAMAGE_LABELS)
    with Image.open(files[0]) as image:
        assert max(image.size) == 640
