"""Small linear heads on [sentence embedding, lexical features], fitted and applied with numpy only.

One multinomial logistic regression per signal. Weights are stored as plain arrays in an .npz file with the
feature standardisation beside them, so serving needs numpy and nothing else.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

INTENTS = ("refund", "replacement", "unspecified")
SENTIMENTS = ("neg", "neu", "pos")
DAMAGE_HEADS = ("crushed_packaging", "torn_packaging", "water_damage", "broken", "surface_damage", "no_damage")

# Each head: name -> class names (a binary head has two classes, the positive one last).
HEAD_CLASSES: dict[str, tuple[str, ...]] = {
    "intent": INTENTS,
    "sentiment": SENTIMENTS,
    "wants_human": ("no", "yes"),
    "frustrated": ("no", "yes"),
    **{f"damage_{label}": ("no", "yes") for label in DAMAGE_HEADS},
}


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_softmax(
    x: np.ndarray, y: np.ndarray, n_classes: int, l2: float = 1e-2, steps: int = 600, lr: float = 0.05,
    class_weight: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression by full-batch Adam; `x` is already standardised."""
    x = x.astype(np.float32)
    n, d = x.shape
    w = np.zeros((d, n_classes), dtype=np.float32)
    b = np.zeros(n_classes, dtype=np.float32)
    onehot = np.eye(n_classes, dtype=np.float32)[y]
    sample_w = np.ones(n, dtype=np.float32) if class_weight is None else class_weight[y].astype(np.float32)
    sample_w = sample_w / sample_w.sum()
    m_w, v_w, m_b, v_b = (np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b))
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for t in range(1, steps + 1):
        p = _softmax(x @ w + b)
        g = (p - onehot) * sample_w[:, None]
        g_w = x.T @ g + l2 * w
        g_b = g.sum(axis=0)
        m_w = beta1 * m_w + (1 - beta1) * g_w
        v_w = beta2 * v_w + (1 - beta2) * g_w**2
        m_b = beta1 * m_b + (1 - beta1) * g_b
        v_b = beta2 * v_b + (1 - beta2) * g_b**2
        c1, c2 = 1 - beta1**t, 1 - beta2**t
        w -= lr * (m_w / c1) / (np.sqrt(v_w / c2) + eps)
        b -= lr * (m_b / c1) / (np.sqrt(v_b / c2) + eps)
    return w, b


@dataclass
class Heads:
    mean: np.ndarray
    std: np.ndarray
    weights: dict[str, tuple[np.ndarray, np.ndarray]]

    def standardize(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.std

    def predict(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Class probabilities per head, each of shape (n, n_classes)."""
        z = self.standardize(x)
        return {name: _softmax(z @ w + b) for name, (w, b) in self.weights.items()}

    def save(self, path: Path) -> None:
        arrays = {"mean": self.mean.astype(np.float32), "std": self.std.astype(np.float32)}
        for name, (w, b) in self.weights.items():
            arrays[f"{name}__w"] = w.astype(np.float32)
            arrays[f"{name}__b"] = b.astype(np.float32)
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path: Path) -> "Heads":
        with np.load(path) as data:
            weights = {
                name: (data[f"{name}__w"].astype(np.float32), data[f"{name}__b"].astype(np.float32))
                for name in HEAD_CLASSES if f"{name}__w" in data
            }
            return cls(mean=data["mean"], std=data["std"], weights=weights)

    @classmethod
    def fit(cls, x: np.ndarray, labels: dict[str, np.ndarray], l2: float = 1e-2) -> "Heads":
        mean = x.mean(axis=0)
        std = x.std(axis=0) + 1e-6
        z = (x - mean) / std
        weights = {}
        for name, y in labels.items():
            n_classes = len(HEAD_CLASSES[name])
            counts = np.bincount(y, minlength=n_classes).astype(float)
            # Balance the classes so rare signals (a request for a person) are not drowned out.
            class_weight = np.where(counts > 0, len(y) / (n_classes * np.maximum(counts, 1)), 0.0)
            weights[name] = fit_softmax(z, y, n_classes, l2=l2, class_weight=class_weight)
        return cls(mean=mean, std=std, weights=weights)
