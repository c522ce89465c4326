"""How well perceptual hashes tell a re-used photo from a different photo of a similar box.

    python -m bench.fraud_phash [--n 300] [--seed 7] [--synth 120] [--baseline]

Generates `n` scenes (cardboard boxes of varied shapes, colours and positions on textured floors, lit
unevenly, some with a second box, dents or tears), adds the real photographs bundled with scikit-image
and, when `vision_models.synth` is present, `--synth` of its box scenes, then measures with
`claims.fraud.phash_of`:
- the match rate of each re-upload transformation (JPEG quality 60, half size, 10% crop, brightness +20%)
  and of all four, at each threshold;
- the false-match rate over every pair of distinct images, at each threshold.
Prints one JSON object; the recommended threshold is the largest one with no false match, capped where
the transformations are all matched. README quotes the numbers; `claims/config.py` uses the threshold.
"""

from __future__ import annotations

import argparse
import io
import json
import math
from collections.abc import Callable

import imagehash
import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from claims.fraud import CROP_FRACTION, HASH_SIZE, hamming, phash_of

WIDTH, HEIGHT = 640, 480
THRESHOLDS = range(0, 65)


# --- scenes ---------------------------------------------------------------------------------------


def _floor(rng: np.random.Generator) -> np.ndarray:
    """A textured background: wood planks, tiles, carpet or concrete, in a random muted colour."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    base = rng.uniform(70, 190) + rng.uniform(-25, 25, size=3)  # greyish, slightly tinted
    kind = rng.integers(4)
    if kind == 0:  # planks with grain
        plank = rng.uniform(50, 110)
        angle = rng.uniform(-0.3, 0.3)
        u = x * math.cos(angle) + y * math.sin(angle)
        v = -x * math.sin(angle) + y * math.cos(angle)
        index = np.floor(v / plank)
        shade = (np.sin(index * 12.9898) * 43758.5453) % 1 * 40 - 20
        grain = 12 * np.sin(u / rng.uniform(3, 9) + 4 * np.sin(v / rng.uniform(8, 20)))
        seam = (np.abs(v % plank) < 2) * -40
        texture = shade + grain + seam
    elif kind == 1:  # tiles
        tile = rng.uniform(40, 120)
        grout = ((x % tile) < 3) | ((y % tile) < 3)
        texture = np.where(grout, -50.0, 0.0) + rng.normal(0, 4, size=(HEIGHT, WIDTH))
    elif kind == 2:  # carpet
        texture = rng.normal(0, 18, size=(HEIGHT, WIDTH)).astype(np.float32)
    else:  # concrete: smooth blotches
        small = Image.fromarray(rng.normal(0, 25, size=(HEIGHT // 16, WIDTH // 16)).astype(np.float32), mode="F")
        smooth = np.asarray(small.resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC), dtype=np.float32)
        texture = smooth + rng.normal(0, 6, size=(HEIGHT, WIDTH))
    image = base[None, None, :] + texture[:, :, None] * rng.uniform(0.6, 1.2, size=3)[None, None, :]
    return image


def _box(draw: ImageDraw.ImageDraw, rng: np.random.Generator, scale: float) -> None:
    """A cuboid seen from above and to one side: front, top and side faces, tape, a label, maybe damage."""
    w = rng.uniform(140, 320) * scale
    h = rng.uniform(90, 220) * scale
    depth = rng.uniform(40, 140) * scale
    slant = rng.uniform(-0.8, 0.8)
    x0 = rng.uniform(20, WIDTH - w - depth - 20)
    y0 = rng.uniform(depth * 0.7 + 10, HEIGHT - h - 20)
    hue = rng.integers(5)
    colour = [
        rng.uniform([150, 105, 60], [205, 150, 100]),  # kraft cardboard
        rng.uniform([215, 210, 200], [245, 240, 235]),  # white
        rng.uniform([120, 80, 50], [160, 110, 75]),  # dark kraft
        rng.uniform([60, 60, 140], [120, 120, 220]),  # printed blue
        rng.uniform([150, 40, 40], [210, 90, 80]),  # printed red
    ][hue]
    front = tuple(int(c) for c in colour)
    top = tuple(int(min(255, c * 1.18)) for c in colour)
    side = tuple(int(c * 0.72) for c in colour)
    dx, dy = depth * slant, -depth * 0.7
    draw.polygon([(x0, y0), (x0 + w, y0), (x0 + w, y0 + h), (x0, y0 + h)], fill=front)
    draw.polygon([(x0, y0), (x0 + w, y0), (x0 + w + dx, y0 + dy), (x0 + dx, y0 + dy)], fill=top)
    edge = x0 + w if dx >= 0 else x0
    draw.polygon([(edge, y0), (edge + dx, y0 + dy), (edge + dx, y0 + dy + h), (edge, y0 + h)], fill=side)
    tape = tuple(int(v) for v in rng.uniform([170, 150, 110], [230, 210, 170]))
    t = rng.uniform(0.08, 0.16) * w
    mid = x0 + w / 2
    draw.polygon(
        [(mid - t / 2, y0), (mid + t / 2, y0), (mid + t / 2 + dx, y0 + dy), (mid - t / 2 + dx, y0 + dy)], fill=tape
    )
    if rng.random() < 0.7:
        lw, lh = w * rng.uniform(0.2, 0.4), h * rng.uniform(0.15, 0.3)
        lx, ly = x0 + rng.uniform(0.05, 0.9 - lw / w) * w, y0 + rng.uniform(0.1, 0.8 - lh / h) * h
        draw.rectangle([lx, ly, lx + lw, ly + lh], fill=(245, 245, 240))
        for k in range(3):
            yy = ly + lh * (0.25 + 0.25 * k)
            draw.line([(lx + 5, yy), (lx + lw * rng.uniform(0.4, 0.9), yy)], fill=(40, 40, 40), width=2)
    for _ in range(rng.integers(0, 4)):  # dents and creases
        cx, cy = x0 + rng.uniform(0, w), y0 + rng.uniform(0, h)
        points = [(cx + rng.normal(0, 25 * scale), cy + rng.normal(0, 25 * scale)) for _ in range(4)]
        draw.line(points, fill=tuple(int(c * 0.5) for c in front), width=int(rng.integers(2, 6)))
    if rng.random() < 0.3:  # a tear showing the inside
        cx, cy = x0 + rng.uniform(0.1, 0.8) * w, y0 + rng.uniform(0.1, 0.8) * h
        r = rng.uniform(10, 35) * scale
        poly = [
            (cx + r * math.cos(a) * rng.uniform(0.5, 1.3), cy + r * math.sin(a) * rng.uniform(0.5, 1.3))
            for a in np.linspace(0, 2 * math.pi, 9)[:-1]
        ]
        draw.polygon(poly, fill=(70, 55, 40))


def make_scene(rng: np.random.Generator) -> Image.Image:
    """One photo-like scene of one or two boxes on a floor."""
    floor = _floor(rng)
    # Uneven light: a soft gradient from a random direction.
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    light = 1 + rng.uniform(0.1, 0.35) * ((x / WIDTH - 0.5) * math.cos(angle) + (y / HEIGHT - 0.5) * math.sin(angle))
    image = Image.fromarray(np.clip(floor, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(1 if rng.random() < 0.7 else 2):
        _box(draw, rng, scale=rng.uniform(0.7, 1.3))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    pixels = np.asarray(image, dtype=np.float32) * light[:, :, None] + rng.normal(0, 3, size=(HEIGHT, WIDTH, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def make_scenes(n: int, seed: int = 7) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    return [make_scene(rng) for _ in range(n)]


# --- re-upload transformations ---------------------------------------------------------------------


def jpeg_60(image: Image.Image) -> Image.Image:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=60)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def half_size(image: Image.Image) -> Image.Image:
    return image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS)


def crop_10(image: Image.Image) -> Image.Image:
    """Remove 10% of the width and of the height, split between the two sides (a centred crop)."""
    dx, dy = round(image.width * 0.05), round(image.height * 0.05)
    return image.crop((dx, dy, image.width - dx, image.height - dy))


def crop_10_corner(image: Image.Image) -> Image.Image:
    """Remove 10% of the width and of the height from one corner (the harder crop)."""
    return image.crop((round(image.width * 0.10), round(image.height * 0.10), image.width, image.height))


def brighter_20(image: Image.Image) -> Image.Image:
    return ImageEnhance.Brightness(image).enhance(1.2)


TRANSFORMS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "jpeg_q60": jpeg_60,
    "half_size": half_size,
    "crop_10pct": crop_10,
    "brightness_+20pct": brighter_20,
}
EXTRA_TRANSFORMS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "crop_10pct_one_corner": crop_10_corner,
    "all_four_combined": lambda image: brighter_20(crop_10(half_size(jpeg_60(image)))),
}


# --- measurement ----------------------------------------------------------------------------------

SKIMAGE_PHOTOS = (
    "astronaut",
    "camera",
    "chelsea",
    "coffee",
    "coins",
    "horse",
    "hubble_deep_field",
    "immunohistochemistry",
    "moon",
    "page",
    "rocket",
    "text",
    "brick",
    "grass",
    "gravel",
    "clock",
    "cell",
    "retina",
)


def skimage_photos() -> list[Image.Image]:
    """The real photographs bundled with scikit-image (no download)."""
    from skimage import data

    return [Image.fromarray(getattr(data, name)()).convert("RGB") for name in SKIMAGE_PHOTOS]


def vision_synth_scenes(n: int, seed: int) -> list[Image.Image]:
    """Scenes from the vision model's own generator (boxes and mailers of every label), when it is there."""
    try:
        from vision_models.synth import render_scene
    except ImportError:
        return []
    labels = ("no_damage", "crushed_packaging", "torn_packaging", "water_damage")
    return [render_scene(labels[i % len(labels)], seed=seed * 100_000 + i, size=(640, 480)) for i in range(n)]


def plain_phash(image: Image.Image) -> str:
    """The baseline: one 64-bit perceptual hash of the whole frame (what imagehash gives by default)."""
    return str(imagehash.phash(image))


def measure(n: int = 300, seed: int = 7, synth: int = 120, baseline: bool = False) -> dict:
    hash_of = plain_phash if baseline else phash_of
    groups = {
        "generated_boxes": make_scenes(n, seed),
        "scikit_image_photos": skimage_photos(),
        "vision_models_synth": vision_synth_scenes(synth, seed),
    }
    images = [image for group in groups.values() for image in group]
    hashes = [hash_of(image) for image in images]
    count = len(images)
    pair_distances = np.array([hamming(hashes[i], hashes[j]) for i in range(count) for j in range(i + 1, count)])
    transform_distances = {
        name: np.array([hamming(h, hash_of(fn(image))) for h, image in zip(hashes, images)])
        for name, fn in {**TRANSFORMS, **EXTRA_TRANSFORMS}.items()
    }
    required = np.concatenate([transform_distances[name] for name in TRANSFORMS])
    per_threshold = []
    for t in THRESHOLDS:
        per_threshold.append(
            {
                "threshold": t,
                "false_match_rate": float(np.mean(pair_distances <= t)),
                "false_matches": int(np.sum(pair_distances <= t)),
                "match_rate_four_transforms": float(np.mean(required <= t)),
                **{f"match_rate_{name}": float(np.mean(d <= t)) for name, d in transform_distances.items()},
            }
        )
    no_false = [row["threshold"] for row in per_threshold if row["false_matches"] == 0]
    all_matched = [row["threshold"] for row in per_threshold if row["match_rate_four_transforms"] == 1.0]
    safe = max(no_false) if no_false else 0
    needed = min(all_matched) if all_matched else None
    # Between "every re-upload matched" and "no distinct pair matched", take the middle: margin both ways.
    recommended = (needed + safe) // 2 if needed is not None and needed <= safe else safe
    return {
        "hash": "plain 64-bit phash of the whole frame"
        if baseline
        else f"phash {HASH_SIZE}x{HASH_SIZE} of the whole frame + five {CROP_FRACTION:.0%} crops",
        "images": {name: len(group) for name, group in groups.items()},
        "seed": seed,
        "distinct_pairs": int(pair_distances.size),
        "distinct_pair_distance": _summary(pair_distances),
        "transform_distance": {name: _summary(d) for name, d in transform_distances.items()},
        "largest_threshold_without_false_match": safe,
        "smallest_threshold_matching_all_four": needed,
        "recommended_threshold": recommended,
        "at_recommended": per_threshold[recommended],
        "per_threshold": per_threshold,
    }


def _summary(values: np.ndarray) -> dict:
    return {
        "min": int(values.min()),
        "median": float(np.median(values)),
        "max": int(values.max()),
        "p99": float(np.percentile(values, 99)) if values.size else None,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="number of generated scenes")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--synth", type=int, default=120, help="scenes from vision_models.synth, when present")
    parser.add_argument("--baseline", action="store_true", help="measure a plain 64-bit whole-frame phash instead")
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.n, args.seed, args.synth, args.baseline), indent=2))


if __name__ == "__main__":
    main()
