"""Benchmark inputs: 12-megapixel phone-size JPEGs and a paragraph of complaint text.

The photos are the project's own demo scenes (sample_images/) enlarged to 4000x3000 with sensor-like
noise, so they decode, hash and classify like real phone photos of the same size.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

REPO = Path(__file__).resolve().parents[1]
PHONE_SIZE = (4000, 3000)

PARAGRAPH = (
    "Hello, my order arrived this morning and the box was badly crushed on one corner. When I opened it "
    "the ceramic mug inside was cracked right through the handle and there were small pieces in the "
    "packing paper. I would like a replacement please, it was meant to be a birthday present on Saturday. "
    "Photos attached of the box and the mug."
)


def _scene(seed: int) -> Image.Image:
    samples = sorted(p for p in (REPO / "sample_images").rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if samples:
        return Image.open(samples[seed % len(samples)]).convert("RGB")
    rng = random.Random(seed)
    return Image.new("RGB", (640, 480), tuple(rng.randrange(60, 200) for _ in range(3)))


def phone_jpeg(folder: Path, seed: int) -> Path:
    """A distinct 4000x3000 JPEG (quality 90, like a phone camera) written once and reused."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"phone_{seed:03d}.jpg"
    if path.exists():
        return path
    img = _scene(seed).resize(PHONE_SIZE, Image.BICUBIC).filter(ImageFilter.GaussianBlur(1.2))
    noise = np.random.default_rng(seed).normal(0, 6, (PHONE_SIZE[1], PHONE_SIZE[0], 1))
    arr = np.clip(np.asarray(img, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
    Image.fromarray(arr).save(path, "JPEG", quality=90)
    return path


def phone_jpegs(folder: Path, count: int, offset: int = 0) -> list[Path]:
    return [phone_jpeg(folder, offset + i) for i in range(count)]
