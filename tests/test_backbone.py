"""The pretrained backbone: loads the packaged ImageNet weights strictly and recognises real photos."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from vision_models.backbone import (
    EMBEDDING_DIM,
    PREPROCESSING,
    Conv2dSame,
    EfficientNetLite0,
    fresh_backbone,
    imagenet_categories,
    load_backbone,
    preprocess,
    weights_path,
)

pytestmark = pytest.mark.slow  # loads the real backbone weights


@pytest.fixture(scope="module")
def backbone():
    return load_backbone()


def _top5(model, array: np.ndarray) -> list[int]:
    with torch.inference_mode():
        logits = model(preprocess(Image.fromarray(array))[None])
    return logits[0].topk(5).indices.tolist()


def test_packaged_state_dict_loads_strictly_into_the_architecture():
    state = torch.load(weights_path(), map_location="cpu", weights_only=True)
    model = EfficientNetLite0()
    result = model.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys


def test_chelsea_is_classified_as_a_cat(backbone):
    assert _top5(backbone, data.chelsea())[0] in range(281, 286)


def test_coffee_is_classified_as_espresso(backbone):
    assert _top5(backbone, data.coffee())[0] == 967


def test_imagenet_categories_are_the_thousand_names():
    categories = imagenet_categories()
    assert len(categories) == 1000
    assert categories[967] == "espresso"
    assert "carton" in categories


def test_imagenet_categories_file_is_torchvisions_list():
    from torchvision.models import EfficientNet_B0_Weights

    assert imagenet_categories() == tuple(EfficientNet_B0_Weights.IMAGENET1K_V1.meta["categories"])


def test_loading_the_classifier_does_not_import_torchvision():
    import subprocess
    import sys

    code = (
        "import sys; from vision_models import load_damage_classifier; load_damage_classifier(); "
        "print('torchvision' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_embedding_has_1280_dimensions(backbone):
    with torch.inference_mode():
        emb = backbone.embed(torch.zeros(2, 3, 224, 224))
    assert emb.shape == (2, EMBEDDING_DIM)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "CMYK", "I;16", "I", "F", "1"])
def test_preprocess_accepts_every_pil_mode(mode):
    image = Image.fromarray(data.coffee()).resize((100, 60))
    if mode in ("I;16", "I", "F"):
        image = image.convert("L").convert(mode)
    else:
        image = image.convert(mode)
    tensor = preprocess(image)
    assert tensor.shape == (3, PREPROCESSING.size, PREPROCESSING.size)
    assert tensor.dtype == torch.float32
    assert float(tensor.min()) >= -1.0 and float(tensor.max()) <= 1.0


def test_transparent_pixels_become_white():
    image = Image.new("RGBA", (50, 50), (0, 0, 0, 0))
    assert float(preprocess(image).min()) == pytest.approx(1.0)


@pytest.mark.parametrize("size", [223, 224, 225, 97])
def test_same_padding_halves_the_map_like_tensorflow(size):
    conv = Conv2dSame(3, 4, 3, stride=2, bias=False)
    out = conv(torch.zeros(1, 3, size, size))
    assert out.shape[-1] == -(-size // 2)


def test_model_rejects_a_batch_that_is_not_rgb(backbone):
    with pytest.raises(ValueError):
        backbone(torch.zeros(1, 1, 224, 224))


def test_fresh_backbone_is_a_separate_copy_with_the_same_outputs(backbone):
    # the shared inference copy has its BatchNorm folded into the convolutions; the outputs must not change
    other = fresh_backbone()
    assert other is not backbone
    x = preprocess(Image.fromarray(data.coffee()))[None]
    with torch.inference_mode():
        assert torch.allclose(other(x), backbone(x), atol=1e-3)
