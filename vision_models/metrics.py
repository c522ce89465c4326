"""Scores shared by training and evaluation: accuracy, per-class precision/recall, confusion, calibration."""

from __future__ import annotations

import numpy as np
import torch

from vision_models.labels import BINARY_LABELS, is_damaged


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """ECE of the top-label confidence over equal-width bins."""
    probs = np.asarray(probs, np.float64)
    if len(probs) == 0:
        return 0.0
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == np.asarray(labels)
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = (conf > lo) & (conf <= hi)
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - conf[mask].mean())
    return float(ece)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature T minimising the NLL of softmax(logits / T) (searched on a log grid, then refined)."""
    z = torch.from_numpy(np.asarray(logits, np.float64))
    y = torch.from_numpy(np.asarray(labels, np.int64))

    def nll(t: float) -> float:
        return float(torch.nn.functional.cross_entropy(z / t, y))

    grid = np.exp(np.linspace(np.log(0.05), np.log(20), 80))
    best = min(grid, key=nll)
    lo, hi = best / 1.1, best * 1.1
    for _ in range(40):  # golden-section refinement
        a, b = lo + (hi - lo) * 0.382, lo + (hi - lo) * 0.618
        if nll(a) < nll(b):
            hi = b
        else:
            lo = a
    return float((lo + hi) / 2)


def binary_view(label_names: tuple[str, ...], labels: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(true damaged flags, predicted damaged probability) for labels/probabilities over `label_names`."""
    damaged_cols = [i for i, name in enumerate(label_names) if is_damaged(name)]
    truth = np.asarray([is_damaged(label_names[i]) for i in labels])
    p_damaged = np.asarray(probs)[:, damaged_cols].sum(axis=1)
    return truth, p_damaged


def classification_report(labels: np.ndarray, probs: np.ndarray, label_names: tuple[str, ...]) -> dict:
    """Accuracy, per-class precision/recall, confusion matrix, ECE and the binary damaged/intact view."""
    labels = np.asarray(labels)
    probs = np.asarray(probs)
    pred = probs.argmax(axis=1)
    k = len(label_names)
    confusion = np.zeros((k, k), int)
    for t, p in zip(labels, pred):
        confusion[t, p] += 1
    per_class = {}
    for i, name in enumerate(label_names):
        tp = confusion[i, i]
        predicted, actual = confusion[:, i].sum(), confusion[i].sum()
        per_class[name] = {
            "precision": round(float(tp / predicted), 4) if predicted else None,
            "recall": round(float(tp / actual), 4) if actual else None,
            "support": int(actual),
        }
    truth, p_damaged = binary_view(label_names, labels, probs)
    binary_pred = p_damaged >= 0.5
    binary_probs = np.stack([1 - p_damaged, p_damaged], axis=1)
    return {
        "n": int(len(labels)),
        "labels": list(label_names),
        "accuracy": round(float((pred == labels).mean()), 4) if len(labels) else None,
        "per_class": per_class,
        "confusion": confusion.tolist(),
        "ece": round(expected_calibration_error(probs, labels), 4),
        "binary_accuracy": round(float((binary_pred == truth).mean()), 4) if len(labels) else None,
        "binary_ece": round(expected_calibration_error(binary_probs, truth.astype(int)), 4),
        "binary_labels": list(BINARY_LABELS),
    }
