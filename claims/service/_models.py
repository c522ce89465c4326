"""The models a claim is read with, loaded on first use (once, under a lock) and shared by threads."""

from __future__ import annotations

import threading
from typing import Protocol

from claims import policy
from claims.config import Settings
from claims.models import ComplaintAnalysis
from vision_models.labels import DamagePrediction


class VisionModel(Protocol):
    version: str

    def predict_batch(self, images: list) -> list[DamagePrediction]: ...


class TextModel(Protocol):
    version: str

    def analyze(self, text: str) -> ComplaintAnalysis: ...


class ComplaintReader:
    """The shipped text model behind the `TextModel` protocol."""

    def __init__(self) -> None:
        from claims import complaint

        self._complaint = complaint
        self.version = complaint.MODEL_VERSION

    def analyze(self, text: str) -> ComplaintAnalysis:
        return self._complaint.analyze_complaint(text)


class Models:
    """Vision and text models for one service; either may be given (tests pass doubles)."""

    def __init__(self, settings: Settings, vision: VisionModel | None = None, text: TextModel | None = None):
        self.settings = settings
        self._vision = vision
        self._text = text
        self._lock = threading.Lock()

    @property
    def vision(self) -> VisionModel:
        if self._vision is None:
            with self._lock:
                if self._vision is None:
                    if self.settings.torch_threads:
                        import torch

                        torch.set_num_threads(self.settings.torch_threads)
                    from vision_models import load_damage_classifier

                    self._vision = load_damage_classifier(self.settings.vision_weights or None)
        return self._vision

    @property
    def text(self) -> TextModel:
        if self._text is None:
            with self._lock:
                if self._text is None:
                    self._text = ComplaintReader()
        return self._text

    def versions(self) -> dict[str, str]:
        """Versions of the models that took part (a vision model not yet needed is not loaded for this)."""
        return {
            "vision": str(getattr(self._vision, "version", "unknown")) if self._vision is not None else "not_used",
            "text": str(getattr(self.text, "version", "unknown")),
            "policy": str(getattr(policy, "POLICY_VERSION", "1")),
        }
