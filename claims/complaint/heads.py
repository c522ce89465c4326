"""Small linear heads on [sentence embedding, lexical features], fitted and applied with numpy only.

One multinomial logistic regression per signal. Weights are stored as plain arrays in an .npz file with the
feature standardisation beside them, so serving needs numpy and nothing else. Fitting them is
`claims.complaint.training.fit_heads`, which serving never imports.
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


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


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
        return {name: softmax(z @ w + b) for name, (w, b) in self.weights.items()}

    def save(self, path: Path) -> None:
        arrays = {"mean": self.mean.astype(np.float32), "std": self.std.astype(np.float32)}
        for name, (w, b) in self.weights.items():
            arrays[f"{name}__w"] = w.astype(np.float32)
            arrays[f"{name}__b"] = b.astype(np.float32)
        # Plain float32 arrays never need pickling (and `load` refuses pickles); naming the flag also keeps
        # mypy from matching **arrays against it.
        np.savez_compressed(path, allow_pickle=False, **arrays)

    @classmethod
    def load(cls, path: Path) -> Heads:
        with np.load(path) as data:
            weights = {
                name: (data[f"{name}__w"].astype(np.float32), data[f"{name}__b"].astype(np.float32))
                for name in HEAD_CLASSES
                if f"{name}__w" in data
            }
            return cls(mean=data["mean"], std=data["std"], weights=weights)
