"""The damage classifier: the pretrained backbone, a small trained head, temperature-calibrated output.

    from vision_models import load_damage_classifier
    clf = load_damage_classifier()            # the shipped head, vision_models/weights/damage_head.pt
    clf.predict(image)                        # -> DamagePrediction

A head file written by `python -m vision_models.train` holds everything needed to use it: its labels
(the six taxonomy labels, or the binary `intact`/`damaged`), the feature normalisation, the temperature,
the preprocessing and the backbone it was trained on.

A binary head (trained on `damaged`/`intact` folders) says only whether a photo shows damage. Its
probabilities are mapped onto the taxonomy like this: `no_damage` gets P(intact); the damaged mass
P(damaged) is shared among the five damage labels in proportion to what the shipped six-label head says
about the same photo (so the label is still informative: "broken" vs "torn_packaging"), falling back to
an even split if the shipped head is missing.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import torch

from vision_models.backbone import (
    BACKBONE_NAME,
    PREPROCESSING,
    EfficientNetLite0,
    Preprocessing,
    imagenet_categories,
    load_backbone,
    preprocess,
)
from vision_models.decode import decode_image
from vision_models.features import (
    FEATURE_DIM,
    FEATURE_KIND,
    FEATURE_KINDS,
    TUNED_KIND,
    Tail,
    image_features,
    tuned_features,
)
from vision_models.labels import BINARY_LABELS, DAMAGE_LABELS, DAMAGED_LABELS, DamagePrediction

__all__ = ["DamageClassifier", "Head", "load_damage_classifier", "open_for_model", "DEFAULT_WEIGHTS", "LOOKS_LIKE_TOP"]

DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "weights" / "damage_head.pt"
LOOKS_LIKE_TOP = 3

# A photo file as the model reads it: the one decode of `vision_models.decode`, kept under its older name here.
open_for_model = decode_image


@dataclass
class Head:
    """A linear head over normalised backbone features, with its calibration and provenance."""

    labels: tuple[str, ...]
    weight: torch.Tensor  # (K, FEATURE_DIM)
    bias: torch.Tensor  # (K,)
    feature_mean: torch.Tensor  # (FEATURE_DIM,)
    feature_std: torch.Tensor  # (FEATURE_DIM,)
    temperature: float = 1.0
    preprocessing: Preprocessing = PREPROCESSING
    feature_kind: str = FEATURE_KIND
    version: str = "unversioned"
    # Fine-tuned last blocks of the backbone for feature_kind TUNED_KIND; None for a head on frozen features.
    tail: Tail | None = None

    def __post_init__(self) -> None:
        if self.labels not in (DAMAGE_LABELS, BINARY_LABELS):
            raise ValueError(f"head labels must be {DAMAGE_LABELS} or {BINARY_LABELS}, got {self.labels}")
        if tuple(self.weight.shape) != (len(self.labels), FEATURE_DIM):
            raise ValueError(
                f"head weight has shape {tuple(self.weight.shape)}, expected {(len(self.labels), FEATURE_DIM)}"
            )
        if self.temperature <= 0:
            raise ValueError("temperature must be positive")
        if self.feature_kind not in FEATURE_KINDS:
            raise ValueError(f"head was trained on features {self.feature_kind!r}, this code computes {FEATURE_KINDS}")
        if (self.feature_kind == TUNED_KIND) != (self.tail is not None):
            raise ValueError(f"a head has fine-tuned blocks exactly when its features are {TUNED_KIND!r}")
        if self.tail is not None:
            for parameter in self.tail.parameters():
                parameter.requires_grad_(False)
            self.tail.eval()

    @property
    def binary(self) -> bool:
        return self.labels == BINARY_LABELS

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        """Uncalibrated logits."""
        z = (features - self.feature_mean) / self.feature_std
        return z @ self.weight.T + self.bias

    def probabilities(self, features: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(features) / self.temperature, dim=-1)

    def to_state(self) -> dict:
        return {
            "format": 1,
            "labels": list(self.labels),
            "weight": self.weight.detach().float().contiguous(),
            "bias": self.bias.detach().float().contiguous(),
            "feature_mean": self.feature_mean.float(),
            "feature_std": self.feature_std.float(),
            "temperature": float(self.temperature),
            "preprocessing": self.preprocessing.to_dict(),
            "feature_kind": self.feature_kind,
            "backbone": BACKBONE_NAME,
            "version": self.version,
            **(
                {"tail": {k: v.detach().float().contiguous() for k, v in self.tail.state_dict().items()}}
                if self.tail
                else {}
            ),
        }

    def save(self, path: str | os.PathLike) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        torch.save(self.to_state(), buf)
        path.write_bytes(buf.getvalue())

    @classmethod
    def load(cls, path: str | os.PathLike) -> Head:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no head weights at {path}")
        data = path.read_bytes()
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        prep = state.get("preprocessing", {})
        preprocessing = Preprocessing(
            size=int(prep.get("size", PREPROCESSING.size)),
            mean=tuple(prep.get("mean", PREPROCESSING.mean)),
            std=tuple(prep.get("std", PREPROCESSING.std)),
            interpolation=prep.get("interpolation", PREPROCESSING.interpolation),
            crop=prep.get("crop", PREPROCESSING.crop),
        )
        version = state.get("version") or "head"
        return cls(
            labels=tuple(state["labels"]),
            weight=state["weight"],
            bias=state["bias"],
            feature_mean=state["feature_mean"],
            feature_std=state["feature_std"],
            temperature=float(state["temperature"]),
            preprocessing=preprocessing,
            feature_kind=state.get("feature_kind", FEATURE_KIND),
            version=f"{version}+{hashlib.sha256(data).hexdigest()[:8]}",
            tail=_load_tail(state["tail"]) if "tail" in state else None,
        )


def _load_tail(state: dict) -> Tail:
    tail = Tail()
    tail.load_state_dict(state, strict=True)
    return tail


class DamageClassifier:
    """Backbone + head. Thread-safe: predictions run under `torch.inference_mode` on a module nobody mutates."""

    def __init__(self, head: Head, backbone: EfficientNetLite0 | None = None, taxonomy_head: Head | None = None):
        self.head = head
        self.backbone = backbone if backbone is not None else load_backbone()
        # For a binary head: the six-label head that splits the damaged mass among the damage labels.
        self.taxonomy_head = taxonomy_head
        self.version = f"lite0/{head.version}"
        self._categories = imagenet_categories()

    def predict(self, image) -> DamagePrediction:
        """Classify one photo: a PIL image in any mode, or a path or encoded bytes (decoded by `decode_image`)."""
        return self.predict_batch([image])[0]

    def predict_batch(self, images: list) -> list[DamagePrediction]:
        """Classify several photos in one forward pass."""
        if not images:
            return []
        pil = [img if hasattr(img, "mode") else decode_image(img) for img in images]
        batch = torch.stack([preprocess(img, self.head.preprocessing) for img in pil])
        with torch.inference_mode():
            if self.head.tail is not None:
                features, imagenet_logits, frozen = tuned_features(self.backbone, self.head.tail, batch)
            else:
                features, imagenet_logits = image_features(self.backbone, batch)
                frozen = features
            probs = self._taxonomy_probabilities(features, frozen)
            top = torch.topk(torch.softmax(imagenet_logits, dim=-1), LOOKS_LIKE_TOP)
        # Tensors become Python numbers once per batch, not element by element per photo.
        return [self._prediction(p, v, i) for p, v, i in zip(probs.tolist(), top.values.tolist(), top.indices.tolist())]

    def _taxonomy_probabilities(self, features: torch.Tensor, frozen: torch.Tensor) -> torch.Tensor:
        probs = self.head.probabilities(features)
        if not self.head.binary:
            return probs
        p_intact = probs[:, BINARY_LABELS.index("intact")]
        p_damaged = probs[:, BINARY_LABELS.index("damaged")]
        if self.taxonomy_head is not None:
            six = self.taxonomy_head.probabilities(frozen)[:, 1:]  # the shipped head reads the frozen features
            share = six / six.sum(dim=1, keepdim=True).clamp_min(1e-12)
        else:
            share = torch.full((features.shape[0], len(DAMAGED_LABELS)), 1.0 / len(DAMAGED_LABELS))
        return torch.cat([p_intact[:, None], p_damaged[:, None] * share], dim=1)

    def _prediction(self, probs: list[float], top_values: list[float], top_indices: list[int]) -> DamagePrediction:
        probabilities = dict(zip(DAMAGE_LABELS, probs))
        damaged = 1.0 - probabilities["no_damage"]
        if self.head.binary:
            # The calibrated decision is binary: the label is no_damage or the most likely kind of damage.
            if damaged >= 0.5:
                label = max(DAMAGED_LABELS, key=probabilities.__getitem__)
                confidence = damaged
            else:
                label, confidence = "no_damage", probabilities["no_damage"]
        else:
            label = max(probabilities, key=probabilities.__getitem__)
            confidence = probabilities[label]
        looks_like = tuple((self._categories[i], v) for v, i in zip(top_values, top_indices))
        return DamagePrediction(
            label=label,
            confidence=float(confidence),
            probabilities=probabilities,
            damaged_probability=float(damaged),
            looks_like=looks_like,
            model_version=self.version,
        )


_CACHE: dict[str, DamageClassifier] = {}
_CACHE_LOCK = threading.Lock()


def load_damage_classifier(weights: str | os.PathLike | None = None) -> DamageClassifier:
    """The classifier for `weights` (default: the shipped head), built once per process per weights path."""
    path = Path(weights).resolve() if weights else DEFAULT_WEIGHTS
    key = str(path)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is None:
            head = Head.load(path)
            taxonomy = None
            if head.binary and DEFAULT_WEIGHTS.is_file():
                taxonomy = Head.load(DEFAULT_WEIGHTS)
                if taxonomy.binary or taxonomy.tail is not None:
                    taxonomy = None
            cached = DamageClassifier(head, load_backbone(), taxonomy)
            _CACHE[key] = cached
        return cached
