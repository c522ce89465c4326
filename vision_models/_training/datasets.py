"""Training data as feature rows: a merchant's labelled photo folder, generated scenes, and the held-out split.

`Dataset` holds one row per (photo, view) with the photo's label and group, so all views of a photo stay on
one side of every split. `folder_dataset` decodes photos exactly as the serving intake does;
`synthetic_dataset` renders `vision_models.synth` scenes under cache keys tied to the generator's source
(`synth_version`); `stratified_split` picks the held-out photos per class.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vision_models import _synth, synth
from vision_models._training.feature_cache import FeatureCache, features_for
from vision_models.decode import DECODE_VERSION, decode_image
from vision_models.image_folder import scan_image_folder
from vision_models.labels import BINARY_LABELS, DAMAGE_LABELS, is_damaged


@dataclass
class Dataset:
    """Feature rows of photos and their augmented views: `features` (R, D); per row the photo's label index
    into `label_names`, the photo number `group` (views of a photo share it) and whether it is the photo as
    taken (`first`, the un-augmented view)."""

    features: np.ndarray
    labels: np.ndarray
    group: np.ndarray
    first: np.ndarray
    label_names: tuple[str, ...]
    real: bool = True

    @classmethod
    def from_views(cls, views: np.ndarray, labels: np.ndarray, label_names, real: bool) -> Dataset:
        n, v = views.shape[:2]
        return cls(
            features=views.reshape(n * v, *views.shape[2:]),
            labels=np.repeat(labels, v),
            group=np.repeat(np.arange(n), v),
            first=np.tile(np.arange(v) == 0, n),
            label_names=tuple(label_names),
            real=real,
        )

    def subset(self, photos: np.ndarray) -> Dataset:
        keep = np.isin(self.group, photos)
        return Dataset(
            self.features[keep], self.labels[keep], self.group[keep], self.first[keep], self.label_names, self.real
        )

    @staticmethod
    def concat(parts: list[Dataset]) -> Dataset:
        offset, groups = 0, []
        for p in parts:
            groups.append(p.group + offset)
            offset += int(p.group.max()) + 1 if len(p.group) else 0
        return Dataset(
            np.concatenate([p.features for p in parts]),
            np.concatenate([p.labels for p in parts]),
            np.concatenate(groups),
            np.concatenate([p.first for p in parts]),
            parts[0].label_names,
        )

    def with_features(self, features: np.ndarray) -> Dataset:
        return Dataset(features, self.labels, self.group, self.first, self.label_names, self.real)

    def photo_labels(self) -> tuple[np.ndarray, np.ndarray]:
        """(photo ids, their labels) from the first view of each photo."""
        return self.group[self.first], self.labels[self.first]


def folder_dataset(
    root,
    views: int,
    seed: int,
    cache: FeatureCache,
    log,
    maps: bool = False,
    embed_images: Callable[[list], np.ndarray] | None = None,
) -> Dataset:
    """Every photo under `root` as taken plus `views - 1` augmented copies: pooled features, or with `maps`
    the block inputs that fine-tuning starts from."""
    paths, labels, space = scan_image_folder(root)
    items = []
    for path in paths:
        # Photos are decoded exactly as the serving intake decodes an upload (vision_models.decode).
        digest = hashlib.sha256(path.read_bytes() + DECODE_VERSION.encode()).hexdigest()[:24]
        items.append((digest, lambda p=path: decode_image(p)))
    feats = features_for(items, views, seed, cache, log, maps=maps, embed_images=embed_images)
    y = np.asarray([space.index(lab) for lab in labels])
    return Dataset.from_views(feats, y, space, real=True)


def synth_version() -> str:
    """A digest of the scene generator's source: `vision_models.synth` and every module of `vision_models._synth`.
    Part of each scene's cache key and of the model card, so it must change whenever any scene might."""
    parts = sorted(info.name for info in pkgutil.iter_modules(_synth.__path__))
    modules = [synth, _synth] + [importlib.import_module(f"{_synth.__name__}.{name}") for name in parts]
    digest = hashlib.sha256()
    for module in modules:
        digest.update(inspect.getsource(module).encode())
    return digest.hexdigest()[:12]


def synthetic_dataset(n: int, seed: int, cache: FeatureCache, log, space=DAMAGE_LABELS) -> Dataset:
    """`n` generated scenes, balanced over the six labels (mapped to intact/damaged for a binary space)."""
    version = synth_version()
    items, labels = [], []
    per_label = max(1, n // len(DAMAGE_LABELS))
    for li, label in enumerate(DAMAGE_LABELS):
        # intact photos are a sixth of the scenes but half of the binary question: give them twice the share
        count = per_label * 2 if label == "no_damage" else per_label
        for i in range(count):
            scene_seed = seed * 1_000_003 + li * 100_003 + i
            items.append(
                (
                    f"synth{version}{label[:4]}{scene_seed:012d}",
                    lambda lab=label, s=scene_seed: synth.render_scene(lab, s),
                )
            )
            labels.append(label)
    # cache keys must start with hex for the view seed: prefix a digest
    items = [(hashlib.sha256(k.encode()).hexdigest()[:24], f) for k, f in items]
    # Every scene is already a random camera, light and framing: one view each.
    feats = features_for(items, 1, seed, cache, log)
    if space == BINARY_LABELS:
        y = np.asarray([BINARY_LABELS.index("damaged" if is_damaged(lab) else "intact") for lab in labels])
    else:
        y = np.asarray([DAMAGE_LABELS.index(lab) for lab in labels])
    return Dataset.from_views(feats, y, space, real=False)


def stratified_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    train: list[int] = []
    held: list[int] = []
    for c in np.unique(y):
        idx = rng.permutation(np.nonzero(y == c)[0])
        n_held = int(round(len(idx) * fraction)) if len(idx) > 1 else 0
        if fraction > 0 and len(idx) >= 2:
            n_held = max(1, n_held)
        held.extend(idx[:n_held])
        train.extend(idx[n_held:])
    return np.sort(np.asarray(train, int)), np.sort(np.asarray(held, int))
