"""The damage classifier. Importing this package loads no model and does not import torch."""

from __future__ import annotations

from vision_models.labels import DAMAGE_LABELS, DAMAGED_LABELS, DamagePrediction, is_damaged

__all__ = ["DAMAGE_LABELS", "DAMAGED_LABELS", "DamagePrediction", "is_damaged", "load_damage_classifier"]


def load_damage_classifier(weights=None, **kwargs):
    """Load the damage classifier (shipped head weights unless `weights` names a trained file).

    Cached per process and per weights path; see `vision_models.classifier`.
    """
    from vision_models.classifier import load_damage_classifier as _load

    return _load(weights, **kwargs)
