"""Model doubles shared by the workflow and outbox tests: the workflows do not care what the models say."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from claims.models import ComplaintAnalysis
from vision_models.labels import DAMAGE_LABELS, DamagePrediction


class BrokenEverywhere:
    """Vision double: every photo is confidently `broken`."""

    version = "test-vision"

    def predict_batch(self, images):
        probs = {name: (0.95 if name == "broken" else 0.01) for name in DAMAGE_LABELS}
        return [DamagePrediction("broken", 0.95, probs, 0.99, model_version=self.version) for _ in images]


class ReadsIntent:
    """Text double: asks for a replacement if the text says 'replace', for a person if it says 'person'."""

    version = "test-text"

    def analyze(self, text):
        return ComplaintAnalysis(
            intent="replacement" if "replace" in text else "refund",
            damage_types=("broken",),
            wants_human="person" in text,
            summary="Item arrived broken.",
        )


class FakeVision:
    """Says `label` for every photo, or the next of `script` when given."""

    version = "fake-vision-1"

    def __init__(self, label="broken", confidence=0.95, script=None):
        self.label, self.confidence, self.script = label, confidence, list(script or [])
        self.batches: list[int] = []

    def predict_batch(self, images):
        self.batches.append(len(images))
        out = []
        for image in images:
            assert isinstance(image, Image.Image)
            label = self.script.pop(0) if self.script else self.label
            rest = (1 - self.confidence) / (len(DAMAGE_LABELS) - 1)
            probs = {name: (self.confidence if name == label else rest) for name in DAMAGE_LABELS}
            damaged = 1 - probs["no_damage"]
            out.append(DamagePrediction(label, self.confidence, probs, damaged, model_version=self.version))
        return out


class FakeText:
    version = "fake-text-1"

    def __init__(self, **fields):
        fields.setdefault("intent", "refund")
        fields.setdefault("damage_types", ("broken",))
        fields.setdefault("summary", "Item arrived broken; wants a refund.")
        self.analysis = ComplaintAnalysis(**fields)
        self.texts: list[str] = []

    def analyze(self, text):
        self.texts.append(text)
        return self.analysis


def photo_bytes(seed: int, fmt="JPEG", size=(640, 480), brightness=None) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(40, 220, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
    image = Image.fromarray(pixels, "RGB").resize(size, Image.Resampling.NEAREST)
    if brightness is not None:
        image = Image.new("RGB", size, (brightness,) * 3)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()
