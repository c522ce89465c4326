"""Backbone features for training, computed once per photo and view and cached on disk.

A photo becomes its un-augmented view plus `views - 1` augmented copies; each view is run through the
frozen backbone, either to its pooled features (for fitting a linear head) or to the input of block
TUNED_FROM (for fine-tuning the blocks after it). Results are cached as float16 .npy files keyed by
content, view count, seed and feature kind, so a second run over the same photos takes seconds.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vision_models.backbone import PREPROCESSING, load_backbone, preprocess
from vision_models.features import FEATURE_DIM, FEATURE_KIND, TUNED_FROM, augment, image_features, pooled


class FeatureCache:
    """Backbone features of (image, view) pairs on disk, keyed by content, view, seed and feature kind."""

    def __init__(self, root: str | os.PathLike[str] | None, kind: str = FEATURE_KIND):
        self.root = Path(root) / kind if root else None
        if self.root:
            self.root.mkdir(parents=True, exist_ok=True)

    def get(self, key: str) -> np.ndarray | None:
        if not self.root:
            return None
        path = self.root / f"{key}.npy"
        try:
            return np.load(path) if path.exists() else None
        except (OSError, ValueError):
            return None

    def put(self, key: str, value: np.ndarray) -> None:
        if self.root:
            tmp = self.root / f"{key}.{os.getpid()}.tmp.npy"
            np.save(tmp, value.astype(np.float16))
            os.replace(tmp, self.root / f"{key}.npy")


def _views(image, views: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    return [image] + [augment(image, rng) for _ in range(views - 1)]


def _in_batches(items, batch_size: int, run) -> list[np.ndarray]:
    """`run(backbone, chunk)` over `items` in chunks of `batch_size`, without gradients, as numpy arrays."""
    backbone = load_backbone()
    with torch.inference_mode():
        return [run(backbone, items[i : i + batch_size]).numpy() for i in range(0, len(items), batch_size)]


def _preprocessed(images: list) -> torch.Tensor:
    return torch.stack([preprocess(img, PREPROCESSING) for img in images])


def embed(images: list, batch_size: int = 32) -> np.ndarray:
    out = _in_batches(images, batch_size, lambda backbone, chunk: image_features(backbone, _preprocessed(chunk))[0])
    return np.concatenate(out) if out else np.zeros((0, FEATURE_DIM), np.float32)


def block_inputs(images: list, batch_size: int = 32) -> np.ndarray:
    """The frozen backbone's input to block TUNED_FROM, (N, 192, 7, 7), for fine-tuning the blocks after it."""
    return np.concatenate(
        _in_batches(
            images,
            batch_size,
            lambda backbone, chunk: backbone.feature_map(_preprocessed(chunk), until_block=TUNED_FROM),
        )
    )


def frozen_features(maps: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Pooled features of the frozen backbone from cached block inputs (the same as `image_features`)."""
    out = _in_batches(
        maps,
        batch_size,
        lambda backbone, chunk: pooled(backbone.tail(torch.from_numpy(chunk.astype(np.float32)), TUNED_FROM)),
    )
    return np.concatenate(out) if out else np.zeros((0, FEATURE_DIM), np.float32)


def features_for(
    items: Sequence[tuple[str, Callable[[], Image.Image]]],
    views: int,
    seed: int,
    cache: FeatureCache,
    log,
    maps: bool = False,
    embed_images: Callable[[list], np.ndarray] | None = None,
) -> np.ndarray:
    """items: (cache key, zero-argument loader returning a PIL image). Returns (N, views, D), or the block
    inputs (N, views, 192, 7, 7) with `maps`. `embed_images` replaces `embed` for pooled features."""
    embed_images = embed_images or embed
    shape = (192, 7, 7) if maps else (FEATURE_DIM,)
    result = np.zeros((len(items), views, *shape), np.float32)
    todo = []
    for i, (key, _) in enumerate(items):
        hit = cache.get(f"{key}-v{views}-s{seed}")
        if hit is not None and hit.shape == (views, *shape):
            result[i] = hit
        else:
            todo.append(i)
    chunk = 16
    for start in range(0, len(todo), chunk):
        idx = todo[start : start + chunk]
        images = []
        for i in idx:
            key, loader = items[i]
            image = loader()
            images.extend(_views(image, views, seed ^ int(key[:8], 16)))
        feats = (block_inputs(images) if maps else embed_images(images)).reshape(len(idx), views, *shape)
        for j, i in enumerate(idx):
            result[i] = feats[j]
            cache.put(f"{items[i][0]}-v{views}-s{seed}", feats[j])
        log(f"  features {min(start + chunk, len(todo))}/{len(todo)} new images")
    return result
