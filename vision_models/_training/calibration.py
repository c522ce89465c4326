"""Scoring and calibrating the fitted head on the held-out photos.

The head arrives with the temperature fitted on cross-validated logits of the training photos. With at least
MIN_PHOTOS_FOR_HELDOUT_TEMPERATURE held-out photos the temperature is refitted on them (temperature scaling as
Guo et al., 2017, do it: one parameter on held-out data); either way the held-out photos are then scored
(accuracy, binary accuracy, calibration error before and after temperature), and a fine-tuned head is
compared with the linear probe on the frozen backbone over the same split.
"""

from __future__ import annotations

import torch

from vision_models._training.datasets import Dataset
from vision_models._training.feature_cache import frozen_features
from vision_models._training.head_fitting import Fit, head_logits
from vision_models.metrics import classification_report, expected_calibration_error, fit_temperature

MIN_PHOTOS_FOR_HELDOUT_TEMPERATURE = 30


def calibrate_and_score(fit: Fit, probe: Fit | None, held_data: Dataset, space: tuple[str, ...]) -> dict:
    """Held-out metrics of `fit` on the photos as taken in `held_data`; sets `fit.head.temperature` when there
    are enough held-out photos to fit it on. `probe`, when given, is the frozen-backbone head to compare with."""
    x_held = held_data.features[held_data.first]
    y_held = held_data.labels[held_data.first]
    logits = head_logits(fit.head, x_held)
    cv_probs = torch.softmax(logits / fit.head.temperature, dim=1).numpy()
    if len(y_held) >= MIN_PHOTOS_FOR_HELDOUT_TEMPERATURE:
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
    metrics["heldout_source"] = "own photos" if held_data.real else "synthetic scenes"
    if probe is not None:
        # the same split scored by the linear head on the frozen backbone, for comparison
        frozen_logits = head_logits(probe.head, frozen_features(x_held))
        frozen_report = classification_report(y_held, torch.softmax(frozen_logits, dim=1).numpy(), space)
        metrics["frozen_backbone"] = {k: frozen_report[k] for k in ("accuracy", "binary_accuracy")}
    return metrics
