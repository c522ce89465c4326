"""Fitting the linear damage head on frozen features: class weights, L2 by grouped cross-validation, temperature.

`fit_head` standardises the features, chooses the L2 penalty by k-fold cross-validation over photos (all
views of a photo in one fold), fits the softmax temperature on the out-of-fold logits of the photos as
taken, and refits on everything. `head_logits` scores rows of features (or block inputs for a fine-tuned
head) in batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from vision_models._training.datasets import Dataset
from vision_models.classifier import Head
from vision_models.labels import DAMAGE_LABELS
from vision_models.metrics import fit_temperature

L2_GRID = (3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0)


def class_weights(y: np.ndarray, k: int, label_names: tuple[str, ...] = ()) -> np.ndarray:
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


def fit_linear(
    x: np.ndarray, y: np.ndarray, k: int, l2: float, sample_weight: np.ndarray | None = None, max_iter: int = 150
) -> tuple[torch.Tensor, torch.Tensor]:
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


def _folds(y: np.ndarray, k: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed + 1)
    folds: list[list[int]] = [[] for _ in range(k)]
    for c in np.unique(y):
        idx = rng.permutation(np.nonzero(y == c)[0])
        for j, i in enumerate(idx):
            folds[j % k].append(i)
    return [np.asarray(sorted(f), int) for f in folds]


@dataclass
class Fit:
    head: Head
    l2: float


def fit_head(
    data: Dataset, *, seed: int = 0, l2_grid: Sequence[float] = L2_GRID, folds: int = 3, log=lambda *_: None
) -> Fit:
    """Choose L2 by k-fold cross-validation over photos (all views of a photo stay in one fold), fit the
    temperature on the out-of-fold logits of the photos as taken, then fit on everything."""
    names = data.label_names
    k = len(names)
    mean = data.features.mean(axis=0)
    std = data.features.std(axis=0) + 1e-3
    z = ((data.features - mean) / std).astype(np.float32)
    cw = class_weights(data.labels, k, names)
    photos, photo_y = data.photo_labels()
    fold_idx = _folds(photo_y, folds, seed) if folds >= 2 and len(photos) >= 2 * folds else []
    fold_idx = [photos[f] for f in fold_idx if len(f)]
    if len(fold_idx) < 2:
        fold_idx = []
    # (cross-validated loss, L2, out-of-fold (logits, labels) when there were folds)
    best: tuple[float, float, tuple[np.ndarray, np.ndarray] | None] | None = None
    oof: tuple[np.ndarray, np.ndarray] | None
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
            oof = (logits, ys)
        else:
            loss, oof = 0.0, None
        if best is None or loss < best[0]:
            best = (loss, l2, oof)
    if best is None:
        raise ValueError("fit_head needs at least one L2 value to try (l2_grid is empty)")
    _, l2, oof = best
    temperature = fit_temperature(*oof) if oof is not None else 1.0
    w, b = fit_linear(z, data.labels, k, l2, cw[data.labels])
    head = Head(
        labels=names,
        weight=w,
        bias=b,
        feature_mean=torch.from_numpy(mean.astype(np.float32)),
        feature_std=torch.from_numpy(std.astype(np.float32)),
        temperature=temperature,
    )
    return Fit(head, l2)


def head_logits(head: Head, features: np.ndarray, batch_size: int = 256) -> torch.Tensor:
    """Uncalibrated logits for rows of pooled features, or of block inputs for a fine-tuned head."""
    out = []
    with torch.inference_mode():
        for i in range(0, len(features), batch_size):
            x = torch.from_numpy(features[i : i + batch_size].astype(np.float32))
            out.append(head.logits(head.tail(x) if head.tail is not None else x))
    return torch.cat(out) if out else torch.zeros((0, len(head.labels)))


def _weighted_nll(logits: np.ndarray, labels: np.ndarray, cw: np.ndarray) -> float:
    logp = torch.log_softmax(torch.from_numpy(logits), dim=1).numpy()
    return float(-(logp[np.arange(len(labels)), labels] * cw[labels]).sum() / cw[labels].sum())
