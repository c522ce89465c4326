"""What the damage head sees: pooled backbone features, and the augmentations used to train on them.

Serving, training and evaluation all go through `vision_models.decode.decode_image` (serving through
`claims.photos`, which calls the same steps) -> `backbone.preprocess` -> `image_features`, so the three can
never disagree about preprocessing.
"""

from __future__ import annotations

import copy
import io

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

from vision_models.backbone import EMBEDDING_DIM, EfficientNetLite0, fuse_batchnorm

# Mean- and max-pooled 1280-channel head map: the mean says what the photo shows, the max keeps a small
# local cue (a crack in one corner, a tear) that averaging over the whole photo would wash out.
FEATURE_DIM = 2 * EMBEDDING_DIM
FEATURE_KIND = "lite0-head-meanmax-v1"

# A head trained on a merchant's own photos may also fine-tune the backbone's last two MBConv blocks and its
# 1x1 head convolution (`Tail`); its features are the same mean+max pooling of the tuned head map. Training
# caches the input to block TUNED_FROM (192 x 7 x 7 per view), so the frozen part runs once per photo.
TUNED_FROM = 14
TUNED_KIND = "lite0-tuned14-meanmax-v1"
FEATURE_KINDS = (FEATURE_KIND, TUNED_KIND)


def pooled(fmap: torch.Tensor) -> torch.Tensor:
    """Mean- and max-pooled head map, (N, FEATURE_DIM)."""
    return torch.cat([fmap.mean(dim=(2, 3)), fmap.amax(dim=(2, 3))], dim=1)


def image_features(backbone: EfficientNetLite0, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(features (N, FEATURE_DIM), ImageNet logits (N, 1000)) for a preprocessed batch."""
    fmap = backbone.feature_map(batch)
    return pooled(fmap), backbone._fc(fmap.mean(dim=(2, 3)))


class Tail(torch.nn.Module):
    """The backbone's blocks from `start` on and its head convolution (BatchNorm folded), as a trainable copy."""

    def __init__(self, start: int = TUNED_FROM, backbone: EfficientNetLite0 | None = None):
        super().__init__()
        # Without a backbone to copy, an untrained skeleton of the right shapes (for load_state_dict).
        source = backbone if backbone is not None else fuse_batchnorm(EfficientNetLite0())
        self.start = start
        self.blocks = torch.nn.ModuleList(copy.deepcopy(list(source._blocks[start:])))
        self.conv_head = copy.deepcopy(source._conv_head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features (N, FEATURE_DIM) from the input to block `start`."""
        for block in self.blocks:
            x = block(x)
        return pooled(F.relu6(self.conv_head(x)))


def tuned_features(
    backbone: EfficientNetLite0, tail: Tail, batch: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(tuned features, ImageNet logits, frozen features) for a preprocessed batch: the frozen part runs once."""
    x = backbone.feature_map(batch, until_block=tail.start)
    fmap = backbone.tail(x, tail.start)
    return tail(x), backbone._fc(fmap.mean(dim=(2, 3))), pooled(fmap)


def augment(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A randomly varied copy of a photo, as another phone might have taken it: crop, mirror, tilt, colour, blur."""
    image = image.convert("RGB")
    w, h = image.size
    scale = rng.uniform(0.55, 1.0)
    aspect = np.exp(rng.uniform(np.log(0.75), np.log(1.33)))
    cw = int(min(w, w * np.sqrt(scale * aspect)))
    ch = int(min(h, h * np.sqrt(scale / aspect)))
    x0 = int(rng.integers(0, max(1, w - cw + 1)))
    y0 = int(rng.integers(0, max(1, h - ch + 1)))
    image = image.crop((x0, y0, x0 + cw, y0 + ch))
    if rng.random() < 0.5:
        image = ImageOps.mirror(image)
    if rng.random() < 0.3:
        image = image.rotate(float(rng.uniform(-15, 15)), resample=Image.Resampling.BILINEAR, expand=False)
    image = ImageEnhance.Brightness(image).enhance(float(rng.uniform(0.7, 1.3)))
    image = ImageEnhance.Contrast(image).enhance(float(rng.uniform(0.75, 1.25)))
    image = ImageEnhance.Color(image).enhance(float(rng.uniform(0.6, 1.4)))
    if rng.random() < 0.2:
        image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 1.5))))
    if rng.random() < 0.3:
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=int(rng.integers(40, 90)))
        buf.seek(0)
        image = Image.open(buf).convert("RGB")
    return image
