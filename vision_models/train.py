"""Train the damage head on labelled photos and/or generated scenes; calibrate it; write weights + model card.

    python -m vision_models.train DIR --out out/head.pt             # a merchant's own photos
    python -m vision_models.train --synthetic --out vision_models/weights/damage_head.pt   # the shipped head

DIR is an ImageFolder layout: one folder per label, named after the taxonomy labels (`no_damage`,
`crushed_packaging`, ...) or `intact` and `damaged` (which trains a binary head). The backbone stays
frozen; its pooled features are computed once per photo and per augmented view and cached on disk, so
a second run over the same photos takes seconds. A stratified split of the photos is held out: the head
is fitted on the rest (regularisation chosen by grouped cross-validation), its temperature is fitted on
the held-out photos (on the out-of-fold logits when fewer than 30 are held out), it is scored on the
held-out photos, and finally refitted on every photo with the same regularisation and temperature.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import inspect
import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from vision_models import synth
from vision_models.backbone import BACKBONE_NAME, PREPROCESSING, load_backbone, preprocess
from vision_models.classifier import Head
from vision_models.decode import DECODE_VERSION, decode_image
from vision_models.features import FEATURE_DIM, FEATURE_KIND, TUNED_FROM, TUNED_KIND, Tail, augment, image_features, pooled
from vision_models.image_folder import scan_image_folder
from vision_models.labels import BINARY_LABELS, DAMAGE_LABELS, is_damaged
from vision_models.metrics import classification_report, expected_calibration_error, fit_temperature

DEFAULT_CACHE = Path(os.environ.get("CLAIMBOT_FEATURE_CACHE", "/tmp/claimbot-features"))
DEFAULT_SYNTHETIC = 1800
L2_GRID = (3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0)
MIN_PHOTOS_FOR_HELDOUT_TEMPERATURE = 30
# Fine-tuning the last blocks on cached block inputs (measured on generated merchant photos: 8 epochs at 3e-4
# beat 6 epochs, one block, or a 1e-3 rate; see README).
TUNE_EPOCHS = 8
TUNE_LR = 3e-4
TUNE_HEAD_LR = 1e-3
TUNE_BATCH = 32
TUNE_DROPOUT = 0.2
MAPS_KIND = f"lite0-block{TUNED_FROM}-input-v1"


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
    def from_views(cls, views: np.ndarray, labels: np.ndarray, label_names, real: bool) -> "Dataset":
        n, v = views.shape[:2]
        return cls(
            features=views.reshape(n * v, *views.shape[2:]),
            labels=np.repeat(labels, v),
            group=np.repeat(np.arange(n), v),
            first=np.tile(np.arange(v) == 0, n),
            label_names=tuple(label_names),
            real=real,
        )

    def subset(self, photos: np.ndarray) -> "Dataset":
        keep = np.isin(self.group, photos)
        return Dataset(self.features[keep], self.labels[keep], self.group[keep], self.first[keep], self.label_names, self.real)

    @staticmethod
    def concat(parts: list["Dataset"]) -> "Dataset":
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

    def with_features(self, features: np.ndarray) -> "Dataset":
        return Dataset(features, self.labels, self.group, self.first, self.label_names, self.real)

    def photo_labels(self) -> tuple[np.ndarray, np.ndarray]:
        """(photo ids, their labels) from the first view of each photo."""
        return self.group[self.first], self.labels[self.first]


# ----------------------------------------------------------------------------------------------------------
# data


class FeatureCache:
    """Backbone features of (image, view) pairs on disk, keyed by content, view, seed and feature kind."""

    def __init__(self, root: Path | None, kind: str = FEATURE_KIND):
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
        return [run(backbone, items[i:i + batch_size]).numpy() for i in range(0, len(items), batch_size)]


def _preprocessed(images: list) -> torch.Tensor:
    return torch.stack([preprocess(img, PREPROCESSING) for img in images])


def _embed(images: list, batch_size: int = 32) -> np.ndarray:
    out = _in_batches(images, batch_size, lambda backbone, chunk: image_features(backbone, _preprocessed(chunk))[0])
    return np.concatenate(out) if out else np.zeros((0, FEATURE_DIM), np.float32)


def _block_inputs(images: list, batch_size: int = 32) -> np.ndarray:
    """The frozen backbone's input to block TUNED_FROM, (N, 192, 7, 7), for fine-tuning the blocks after it."""
    return np.concatenate(_in_batches(
        images, batch_size, lambda backbone, chunk: backbone.feature_map(_preprocessed(chunk), until_block=TUNED_FROM)))


def frozen_features(maps: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Pooled features of the frozen backbone from cached block inputs (the same as `image_features`)."""
    out = _in_batches(maps, batch_size, lambda backbone, chunk: pooled(
        backbone.tail(torch.from_numpy(chunk.astype(np.float32)), TUNED_FROM)))
    return np.concatenate(out) if out else np.zeros((0, FEATURE_DIM), np.float32)


def _features_for(items: list[tuple[str, object]], views: int, seed: int, cache: FeatureCache, log,
                  maps: bool = False) -> np.ndarray:
    """items: (cache key, zero-argument loader returning a PIL image). Returns (N, views, D), or the block
    inputs (N, views, 192, 7, 7) with `maps`."""
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
        idx = todo[start:start + chunk]
        images = []
        for i in idx:
            key, loader = items[i]
            image = loader()
            images.extend(_views(image, views, seed ^ int(key[:8], 16)))
        feats = (_block_inputs(images) if maps else _embed(images)).reshape(len(idx), views, *shape)
        for j, i in enumerate(idx):
            result[i] = feats[j]
            cache.put(f"{items[i][0]}-v{views}-s{seed}", feats[j])
        log(f"  features {min(start + chunk, len(todo))}/{len(todo)} new images")
    return result


def folder_dataset(root, views: int, seed: int, cache: FeatureCache, log, maps: bool = False) -> Dataset:
    """Every photo under `root` as taken plus `views - 1` augmented copies: pooled features, or with `maps`
    the block inputs that fine-tuning starts from."""
    paths, labels, space = scan_image_folder(root)
    items = []
    for path in paths:
        # Photos are decoded exactly as the serving intake decodes an upload (vision_models.decode).
        digest = hashlib.sha256(path.read_bytes() + DECODE_VERSION.encode()).hexdigest()[:24]
        items.append((digest, lambda p=path: decode_image(p)))
    feats = _features_for(items, views, seed, cache, log, maps=maps)
    y = np.asarray([space.index(lab) for lab in labels])
    return Dataset.from_views(feats, y, space, real=True)


def _synth_version() -> str:
    return hashlib.sha256(inspect.getsource(synth).encode()).hexdigest()[:12]


def synthetic_dataset(n: int, seed: int, cache: FeatureCache, log, space=DAMAGE_LABELS) -> Dataset:
    """`n` generated scenes, balanced over the six labels (mapped to intact/damaged for a binary space)."""
    version = _synth_version()
    items, labels = [], []
    per_label = max(1, n // len(DAMAGE_LABELS))
    for li, label in enumerate(DAMAGE_LABELS):
        # intact photos are a sixth of the scenes but half of the binary question: give them twice the share
        count = per_label * 2 if label == "no_damage" else per_label
        for i in range(count):
            scene_seed = seed * 1_000_003 + li * 100_003 + i
            items.append((f"synth{version}{label[:4]}{scene_seed:012d}",
                          lambda lab=label, s=scene_seed: synth.render_scene(lab, s)))
            labels.append(label)
    # cache keys must start with hex for the view seed: prefix a digest
    items = [(hashlib.sha256(k.encode()).hexdigest()[:24], f) for k, f in items]
    # Every scene is already a random camera, light and framing: one view each.
    feats = _features_for(items, 1, seed, cache, log)
    if space == BINARY_LABELS:
        y = np.asarray([BINARY_LABELS.index("damaged" if is_damaged(lab) else "intact") for lab in labels])
    else:
        y = np.asarray([DAMAGE_LABELS.index(lab) for lab in labels])
    return Dataset.from_views(feats, y, space, real=False)


# ----------------------------------------------------------------------------------------------------------
# fitting


def _class_weights(y: np.ndarray, k: int, label_names: tuple[str, ...] = ()) -> np.ndarray:
    """Per-class sample weights. The binary question matters most downstream, so with the six labels
    `no_damage` carries half the total weight and the damage labels share the other half."""
    counts = np.bincount(y, minlength=k).astype(np.float64)
    present = counts > 0
    share = np.where(present, 1.0, 0.0)
    if label_names == DAMAGE_LABELS and present[0] and present[1:].any():
        share[0] = present[1:].sum()
    share /= share.sum()
    w = np.zeros(k)
    w[present] = share[present] * counts.sum() / counts[present]
    return w


def fit_linear(x: np.ndarray, y: np.ndarray, k: int, l2: float, sample_weight: np.ndarray | None = None,
               max_iter: int = 150) -> tuple[torch.Tensor, torch.Tensor]:
    """Weighted multinomial logistic regression on standardised features (full-batch L-BFGS)."""
    torch.manual_seed(0)
    xt = torch.from_numpy(x.astype(np.float32))
    yt = torch.from_numpy(y.astype(np.int64))
    sw = torch.from_numpy((sample_weight if sample_weight is not None else np.ones(len(y))).astype(np.float32))
    sw = sw / sw.mean()
    weight = torch.zeros(k, x.shape[1], requires_grad=True)
    bias = torch.zeros(k, requires_grad=True)
    opt = torch.optim.LBFGS([weight, bias], lr=1, max_iter=max_iter, history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        logits = xt @ weight.T + bias
        loss = (torch.nn.functional.cross_entropy(logits, yt, reduction="none") * sw).mean()
        loss = loss + l2 * (weight.pow(2).sum() + 0.01 * bias.pow(2).sum())
        loss.backward()
        return loss

    opt.step(closure)
    return weight.detach(), bias.detach()


def stratified_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    train, held = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.nonzero(y == c)[0])
        n_held = int(round(len(idx) * fraction)) if len(idx) > 1 else 0
        if fraction > 0 and len(idx) >= 2:
            n_held = max(1, n_held)
        held.extend(idx[:n_held])
        train.extend(idx[n_held:])
    return np.sort(np.asarray(train, int)), np.sort(np.asarray(held, int))


def _folds(y: np.ndarray, k: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed + 1)
    folds = [[] for _ in range(k)]
    for c in np.unique(y):
        idx = rng.permutation(np.nonzero(y == c)[0])
        for j, i in enumerate(idx):
            folds[j % k].append(i)
    return [np.asarray(sorted(f), int) for f in folds]


@dataclass
class Fit:
    head: Head
    l2: float


def fit_head(data: Dataset, *, seed: int = 0, l2_grid=L2_GRID, folds: int = 3, log=lambda *_: None) -> Fit:
    """Choose L2 by k-fold cross-validation over photos (all views of a photo stay in one fold), fit the
    temperature on the out-of-fold logits of the photos as taken, then fit on everything."""
    names = data.label_names
    k = len(names)
    mean = data.features.mean(axis=0)
    std = data.features.std(axis=0) + 1e-3
    z = ((data.features - mean) / std).astype(np.float32)
    cw = _class_weights(data.labels, k, names)
    photos, photo_y = data.photo_labels()
    fold_idx = _folds(photo_y, folds, seed) if folds >= 2 and len(photos) >= 2 * folds else []
    fold_idx = [photos[f] for f in fold_idx if len(f)]
    if len(fold_idx) < 2:
        fold_idx = []
    best = None
    for l2 in l2_grid if fold_idx else (l2_grid[len(l2_grid) // 2],):
        oof_logits, oof_y = [], []
        for held in fold_idx:
            tr = ~np.isin(data.group, held)
            te = np.isin(data.group, held) & data.first
            w, b = fit_linear(z[tr], data.labels[tr], k, l2, cw[data.labels[tr]])
            oof_logits.append((torch.from_numpy(z[te]) @ w.T + b).numpy())
            oof_y.append(data.labels[te])
        if fold_idx:
            logits, ys = np.concatenate(oof_logits), np.concatenate(oof_y)
            loss = _weighted_nll(logits, ys, cw)
            log(f"  l2={l2:g}: cross-validated loss {loss:.4f}")
        else:
            loss, logits, ys = 0.0, None, None
        if best is None or loss < best[0]:
            best = (loss, l2, logits, ys)
    _, l2, logits, ys = best
    temperature = fit_temperature(logits, ys) if logits is not None else 1.0
    w, b = fit_linear(z, data.labels, k, l2, cw[data.labels])
    head = Head(labels=names, weight=w, bias=b, feature_mean=torch.from_numpy(mean.astype(np.float32)),
                feature_std=torch.from_numpy(std.astype(np.float32)), temperature=temperature)
    return Fit(head, l2)


def fine_tune(maps: np.ndarray, labels: np.ndarray, probe: Head, l2: float, *, seed: int = 0,
              epochs: int = TUNE_EPOCHS, lr: float = TUNE_LR, log=lambda *_: None) -> Head:
    """Fine-tune the backbone's last blocks and head conv (`Tail`) together with the linear head, starting from
    the frozen backbone and the linear probe `probe` (its feature normalisation stays fixed). Rows of `maps` are
    cached block inputs of photos and their augmented views. Returns a TUNED_KIND head with the probe's temperature."""
    torch.manual_seed(seed)
    tail = Tail(TUNED_FROM, load_backbone())
    for parameter in tail.parameters():
        parameter.requires_grad_(True)
    tail.train()
    x = torch.from_numpy(maps.astype(np.float32))
    y = torch.from_numpy(labels.astype(np.int64))
    cw = torch.from_numpy(_class_weights(labels, len(probe.labels), probe.labels).astype(np.float32))
    mean, std = probe.feature_mean, probe.feature_std
    weight = probe.weight.clone().requires_grad_(True)
    bias = probe.bias.clone().requires_grad_(True)
    opt = torch.optim.AdamW([{"params": list(tail.parameters()), "lr": lr, "weight_decay": 0.0},
                             {"params": [weight, bias], "lr": TUNE_HEAD_LR, "weight_decay": 0.0}])
    steps = max(1, epochs * math.ceil(len(x) / TUNE_BATCH))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[lr, TUNE_HEAD_LR], total_steps=steps, pct_start=0.15)
    generator = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        for idx in torch.randperm(len(x), generator=generator).split(TUNE_BATCH):
            z = F.dropout((tail(x[idx]) - mean) / std, TUNE_DROPOUT, training=True)
            loss = (F.cross_entropy(z @ weight.T + bias, y[idx], reduction="none") * cw[y[idx]]).mean()
            loss = loss + l2 * weight.pow(2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        log(f"  fine-tuning the last blocks: epoch {epoch + 1}/{epochs}")
    tail.eval()
    return Head(labels=probe.labels, weight=weight.detach(), bias=bias.detach(), feature_mean=mean, feature_std=std,
                temperature=probe.temperature, feature_kind=TUNED_KIND, tail=tail)


def fit_tuned(data: Dataset, *, seed: int = 0, l2: float | None = None, log=lambda *_: None) -> tuple[Fit, Fit]:
    """(fine-tuned fit, linear-probe fit) on a dataset of block inputs: L2 and temperature from the linear probe
    on the frozen features (cross-validated unless `l2` is given), then `fine_tune`."""
    frozen = data.with_features(frozen_features(data.features))
    probe = fit_head(frozen, seed=seed, log=log, **({"l2_grid": (l2,), "folds": 1} if l2 is not None else {}))
    head = fine_tune(data.features, data.labels, probe.head, probe.l2, seed=seed, log=log)
    return Fit(head, probe.l2), probe


def head_logits(head: Head, features: np.ndarray, batch_size: int = 256) -> torch.Tensor:
    """Uncalibrated logits for rows of pooled features, or of block inputs for a fine-tuned head."""
    out = []
    with torch.inference_mode():
        for i in range(0, len(features), batch_size):
            x = torch.from_numpy(features[i:i + batch_size].astype(np.float32))
            out.append(head.logits(head.tail(x) if head.tail is not None else x))
    return torch.cat(out) if out else torch.zeros((0, len(head.labels)))


def _weighted_nll(logits: np.ndarray, labels: np.ndarray, cw: np.ndarray) -> float:
    logp = torch.log_softmax(torch.from_numpy(logits), dim=1).numpy()
    return float(-(logp[np.arange(len(labels)), labels] * cw[labels]).sum() / cw[labels].sum())


# ----------------------------------------------------------------------------------------------------------
# the command


def _quiet(message: str) -> None:
    pass


def train(image_dir: str | os.PathLike | None = None, out: str | os.PathLike = "out/damage_head.pt", *,
          synthetic: int = 0, views: int = 4, holdout: float = 0.2, seed: int = 0,
          cache_dir: str | os.PathLike | None = DEFAULT_CACHE, tune: bool | None = None,
          log: Callable[[str], object] = _quiet, command: str | None = None) -> dict:
    """Train, evaluate on a held-out split, refit on everything, write `out` and `out` with .json. Returns the card.

    `tune` (default: on for an image folder without synthetic scenes) also fine-tunes the backbone's last
    blocks on the photos; otherwise the backbone stays frozen and only the linear head is fitted. Progress
    lines go to `log` (silent by default); `command` is recorded in the card as the command that ran.
    Raises FileNotFoundError for a missing folder and ValueError for a layout or an option it cannot use."""
    started = time.perf_counter()
    if image_dir is None and not synthetic:
        raise ValueError("give an image folder, or synthetic scenes (--synthetic), or both")
    if views < 1:
        raise ValueError("views must be at least 1")
    if not 0 <= holdout < 1:
        raise ValueError("holdout must be in [0, 1)")
    if tune is None:
        tune = image_dir is not None and not synthetic
    if tune and (image_dir is None or synthetic):
        raise ValueError("fine-tuning the last blocks needs an image folder and no synthetic scenes")
    cache = FeatureCache(cache_dir, MAPS_KIND if tune else FEATURE_KIND)
    parts: list[Dataset] = []
    space = DAMAGE_LABELS
    if image_dir is not None:
        log(f"reading {image_dir}")
        parts.append(folder_dataset(image_dir, views, seed, cache, log, maps=tune))
        space = parts[0].label_names
    if synthetic:
        log(f"generating {synthetic} synthetic scenes")
        parts.append(synthetic_dataset(synthetic, seed, cache, log, space))
    # Held-out photos come from the merchant's own photos when there are any: that is what matters to them.
    pool = parts[0]
    pool_photos, pool_y = pool.photo_labels()
    _, held_local = stratified_split(pool_y, holdout, seed)
    held = pool_photos[held_local]
    parts_train = [pool.subset(np.setdiff1d(pool_photos, held))] + parts[1:]
    data_train = Dataset.concat(parts_train)
    n_train = int(data_train.first.sum())
    log(f"fitting on {n_train} photos ({len(data_train.labels)} views), holding out {len(held)}")
    if tune:
        fit, probe = fit_tuned(data_train, seed=seed, log=log)
    else:
        fit, probe = fit_head(data_train, seed=seed, log=log), None
    metrics = {}
    if len(held):
        held_data = pool.subset(held)
        x_held = held_data.features[held_data.first]
        y_held = held_data.labels[held_data.first]
        logits = head_logits(fit.head, x_held)
        cv_probs = torch.softmax(logits / fit.head.temperature, dim=1).numpy()
        if len(held) >= MIN_PHOTOS_FOR_HELDOUT_TEMPERATURE:
            # Temperature scaling as Guo et al. (2017) do it: one parameter fitted on the held-out photos.
            fit.head.temperature = fit_temperature(logits.numpy(), y_held)
            temperature_source = "held-out photos"
        else:
            temperature_source = "cross-validation on the training photos"
        probs = torch.softmax(logits / fit.head.temperature, dim=1).numpy()
        raw = torch.softmax(logits, dim=1).numpy()
        metrics = classification_report(y_held, probs, space)
        metrics["ece_before_temperature"] = round(expected_calibration_error(raw, y_held), 4)
        metrics["ece_with_cv_temperature"] = round(expected_calibration_error(cv_probs, y_held), 4)
        metrics["temperature_fitted_on"] = temperature_source
        metrics["heldout_source"] = "own photos" if pool.real else "synthetic scenes"
        if probe is not None:
            # the same split scored by the linear head on the frozen backbone, for comparison
            frozen_logits = head_logits(probe.head, frozen_features(x_held))
            frozen_report = classification_report(y_held, torch.softmax(frozen_logits, dim=1).numpy(), space)
            metrics["frozen_backbone"] = {k: frozen_report[k] for k in ("accuracy", "binary_accuracy")}
        log(f"held-out: accuracy {metrics['accuracy']:.3f}, binary accuracy {metrics['binary_accuracy']:.3f}, "
            f"ECE {metrics['ece']:.3f} (before temperature {metrics['ece_before_temperature']:.3f})")
    own = sum(int(p.first.sum()) for p in parts if p.real)
    scenes = sum(int(p.first.sum()) for p in parts if not p.real)
    all_data = Dataset.concat(parts)
    # Final head: every photo, same regularisation and temperature.
    if tune:
        final, _ = fit_tuned(all_data, seed=seed, l2=fit.l2, log=log)
    else:
        final = fit_head(all_data, seed=seed, l2_grid=(fit.l2,), folds=1)
    final.head.temperature = fit.head.temperature
    out = Path(out)
    version = f"{out.stem}-{_dt.datetime.now(_dt.timezone.utc).strftime('%Y%m%d%H%M')}"
    final.head.version = version
    final.head.save(out)
    card = {
        "version": version,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "labels": list(space),
        "binary": space == BINARY_LABELS,
        "backbone": BACKBONE_NAME,
        "feature_kind": final.head.feature_kind,
        "preprocessing": PREPROCESSING.to_dict(),
        "decode": DECODE_VERSION,
        "data": {
            "image_dir": str(image_dir) if image_dir is not None else None,
            "own_photos": own,
            "synthetic_scenes": scenes,
            "synth_version": _synth_version() if synthetic else None,
            "per_class": {name: int((all_data.labels[all_data.first] == i).sum()) for i, name in enumerate(space)},
            "views_per_photo": views,
        },
        "training": {
            "heldout_fraction": holdout,
            "heldout_photos": int(len(held)),
            "l2": fit.l2,
            "fine_tuned": {"blocks": f"{TUNED_FROM}-15 and the head conv", "epochs": TUNE_EPOCHS, "lr": TUNE_LR,
                           "batch": TUNE_BATCH, "dropout": TUNE_DROPOUT} if tune else None,
            "temperature": round(fit.head.temperature, 4),
            "seed": seed,
            "seconds": round(time.perf_counter() - started, 1),
            "command": command,
        },
        "metrics_heldout": metrics,
    }
    out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    log(f"wrote {out} and {out.with_suffix('.json')} in {card['training']['seconds']} s")
    return card


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vision_models.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("image_dir", nargs="?", type=Path, help="ImageFolder directory (taxonomy or intact/damaged folders)")
    parser.add_argument("--out", type=Path, required=True, help="where to write the head weights (.pt; the card goes beside it as .json)")
    parser.add_argument("--synthetic", nargs="?", type=int, const=DEFAULT_SYNTHETIC, default=0, metavar="N",
                        help=f"also train on N generated scenes (default {DEFAULT_SYNTHETIC} when the flag is given)")
    parser.add_argument("--views", type=int, default=4, help="augmented views per photo (first is the photo itself)")
    parser.add_argument("--holdout", type=float, default=0.2, help="fraction of photos held out for metrics")
    parser.add_argument("--tune", action=argparse.BooleanOptionalAction, default=None,
                        help="also fine-tune the backbone's last two blocks (default: on for an image folder alone, "
                             "off with --synthetic)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="feature cache directory")
    parser.add_argument("--no-cache", action="store_true")
    args = parser.parse_args(argv)
    if args.image_dir is None and not args.synthetic:
        parser.error("give an image folder, --synthetic, or both")
    if not 0 <= args.holdout < 1:
        parser.error("--holdout must be in [0, 1)")
    command = " ".join(["python -m vision_models.train", *(argv if argv is not None else sys.argv[1:])])
    try:
        train(args.image_dir, args.out, synthetic=args.synthetic, views=args.views, holdout=args.holdout,
              seed=args.seed, cache_dir=None if args.no_cache else args.cache, tune=args.tune, log=print,
              command=command)
    except (OSError, ValueError) as exc:  # a missing folder or file, an unreadable photo, a bad layout
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
