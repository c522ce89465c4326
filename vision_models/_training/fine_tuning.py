"""Fine-tuning the backbone's last blocks together with the head, on cached block inputs.

The linear probe on frozen features (`head_fitting.fit_head`) supplies the starting head, its feature
normalisation, its L2 penalty and its temperature; `fine_tune` then trains the backbone's tail (blocks
TUNED_FROM onwards and the head conv) and the linear head jointly with AdamW and a one-cycle schedule.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from vision_models._training.datasets import Dataset
from vision_models._training.feature_cache import frozen_features
from vision_models._training.head_fitting import Fit, class_weights, fit_head
from vision_models.backbone import load_backbone
from vision_models.classifier import Head
from vision_models.features import TUNED_FROM, TUNED_KIND, Tail

# Fine-tuning the last blocks on cached block inputs (measured on generated merchant photos: 8 epochs at 3e-4
# beat 6 epochs, one block, or a 1e-3 rate; see README).
TUNE_EPOCHS = 8
TUNE_LR = 3e-4
TUNE_HEAD_LR = 1e-3
TUNE_BATCH = 32
TUNE_DROPOUT = 0.2
MAPS_KIND = f"lite0-block{TUNED_FROM}-input-v1"


def fine_tune(
    maps: np.ndarray,
    labels: np.ndarray,
    probe: Head,
    l2: float,
    *,
    seed: int = 0,
    epochs: int = TUNE_EPOCHS,
    lr: float = TUNE_LR,
    log=lambda *_: None,
) -> Head:
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
    cw = torch.from_numpy(class_weights(labels, len(probe.labels), probe.labels).astype(np.float32))
    mean, std = probe.feature_mean, probe.feature_std
    weight = probe.weight.clone().requires_grad_(True)
    bias = probe.bias.clone().requires_grad_(True)
    opt = torch.optim.AdamW(
        [
            {"params": list(tail.parameters()), "lr": lr, "weight_decay": 0.0},
            {"params": [weight, bias], "lr": TUNE_HEAD_LR, "weight_decay": 0.0},
        ]
    )
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
    return Head(
        labels=probe.labels,
        weight=weight.detach(),
        bias=bias.detach(),
        feature_mean=mean,
        feature_std=std,
        temperature=probe.temperature,
        feature_kind=TUNED_KIND,
        tail=tail,
    )


def fit_tuned(data: Dataset, *, seed: int = 0, l2: float | None = None, log=lambda *_: None) -> tuple[Fit, Fit]:
    """(fine-tuned fit, linear-probe fit) on a dataset of block inputs: L2 and temperature from the linear probe
    on the frozen features (cross-validated unless `l2` is given), then `fine_tune`."""
    frozen = data.with_features(frozen_features(data.features))
    if l2 is not None:
        probe = fit_head(frozen, seed=seed, log=log, l2_grid=(l2,), folds=1)
    else:
        probe = fit_head(frozen, seed=seed, log=log)
    head = fine_tune(data.features, data.labels, probe.head, probe.l2, seed=seed, log=log)
    return Fit(head, probe.l2), probe
