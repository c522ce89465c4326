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
            intent="replacement" if "replace" in text else "refund", damage_types=("broken",),
            wants_human="person" in text, summary="Item arrived broken.",
        )


def photo_bytes(seed: int) -> bytes:
    """A 640x480 JPEG of random blocks, different for each seed."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(40, 220, (60, 80, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").resize((640, 480), Image.Resampling.NEAREST).save(buffer, format="JPEG")
    return buffer.getvalue()
