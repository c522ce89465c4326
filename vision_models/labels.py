"""The damage taxonomy and the prediction type, shared by the vision model, the text model and the policy.

Kept free of torch so that `claims` can import it without loading any model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DAMAGE_LABELS: tuple[str, ...] = (
    "no_damage",
    "crushed_packaging",
    "torn_packaging",
    "water_damage",
    "broken",
    "surface_damage",
)
DAMAGED_LABELS: tuple[str, ...] = tuple(label for label in DAMAGE_LABELS if label != "no_damage")

# An evaluation or training folder with exactly these class folders is scored in the binary view.
BINARY_LABELS: tuple[str, ...] = ("intact", "damaged")

LABEL_DESCRIPTIONS: dict[str, str] = {
    "no_damage": "product and packaging look intact",
    "crushed_packaging": "box or packaging crushed, dented, deformed",
    "torn_packaging": "packaging torn, punctured, opened, tape broken",
    "water_damage": "wet, soaked, water-stained, mould",
    "broken": "the item itself cracked, shattered, snapped, in pieces",
    "surface_damage": "scratches, scuffs, dents, stains on the item itself",
}


def is_damaged(label: str) -> bool:
    """Binary view of a label: everything but `no_damage` (or `intact`) is damaged."""
    if label not in DAMAGE_LABELS and label not in BINARY_LABELS:
        raise ValueError(f"unknown damage label {label!r}")
    return label not in ("no_damage", "intact")


@dataclass(frozen=True)
class DamagePrediction:
    """What the vision model says about one photo.

    `confidence` is the calibrated probability of `label`; `probabilities` covers every label of the
    taxonomy and sums to 1; `looks_like` holds the top ImageNet categories ("carton", "packet") so a
    reviewer can see what the backbone recognised.
    """

    label: str
    confidence: float
    probabilities: dict[str, float]
    damaged_probability: float
    looks_like: tuple[tuple[str, float], ...] = field(default_factory=tuple)
    model_version: str = "unknown"

    @property
    def damaged(self) -> bool:
        return is_damaged(self.label)

    def to_dict(self) -> dict:
        return {
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "probabilities": {k: round(v, 4) for k, v in self.probabilities.items()},
            "damaged_probability": round(self.damaged_probability, 4),
            "looks_like": [[name, round(p, 4)] for name, p in self.looks_like],
            "model_version": self.model_version,
        }

    @classmethod
    def from_dict(cls, data: dict) -> DamagePrediction:
        return cls(
            label=data["label"],
            confidence=float(data["confidence"]),
            probabilities={k: float(v) for k, v in data["probabilities"].items()},
            damaged_probability=float(data["damaged_probability"]),
            looks_like=tuple((str(n), float(p)) for n, p in data.get("looks_like", ())),
            model_version=data.get("model_version", "unknown"),
        )
