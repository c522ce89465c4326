"""Generated training scenes for the six damage labels: the project owns every pixel.

A scene is a background (wood, tiles, carpet, concrete, doormat, studio sweep, real brick, grass and
gravel textures bundled with scikit-image), one main object (a corrugated shipping box, a printed retail
box, a mailer bag, a phone, a mug, a plate, a drinking glass, a bottle), soft shadows and lighting
gradients, and the damage of its label drawn on the object's own flat texture before it is warped into
the photo (creases and caved-in corners, tears that show the corrugation, open flaps, tide-lined water
stains, radial screen cracks, ceramics in pieces, scratches and scuffs). The "camera" then adds
perspective, defocus, sensor noise, a white-balance cast and JPEG compression.

    claimbot vision samples sample_images                          # the demo photos (ImageFolder layout)
    python -m vision_models.synth --out /tmp/scenes --per-class 300 # a training set

This module composes a scene and writes data sets; the drawing lives in `vision_models._synth` (canvas,
backdrops, surfaces, damage, packaging, products, camera). The order of random draws is the data: the
shipped head was trained on these exact scenes, and tests/test_synth.py pins the pixels of a few of them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from vision_models._synth.backdrops import scene_backdrop
from vision_models._synth.camera import apply_lighting, capture, composite_with_shadow
from vision_models._synth.canvas import fractal_noise, warp_onto
from vision_models._synth.damage import puddle
from vision_models._synth.packaging import CARDBOARD_COLOURS, box_layer, mailer_layer
from vision_models._synth.products import ceramic_layer, phone_layer, photo_layer
from vision_models.labels import DAMAGE_LABELS

__all__ = [
    "CARDBOARD_COLOURS",
    "CLUTTER_KINDS",
    "OBJECTS_FOR_LABEL",
    "fractal_noise",
    "generate_dataset",
    "main",
    "render_scene",
    "warp_onto",
]

# Which objects each label is drawn on (weights need not sum to one).
# "photo" is a printed surface or screen filling most of the frame, showing one of the real photographs that
# scikit-image bundles, with the label's damage drawn over it (or none). It keeps the head from learning that
# rich real-world texture means damage: intact photos are at least as textured as damaged ones.
OBJECTS_FOR_LABEL: dict[str, dict[str, float]] = {
    "no_damage": {
        "box": 3,
        "retail_box": 1.5,
        "mailer": 1,
        "phone": 2,
        "mug": 1,
        "plate": 1,
        "glass": 0.7,
        "bottle": 0.7,
        "photo": 3,
    },
    "crushed_packaging": {"box": 4, "retail_box": 2, "mailer": 1, "photo": 0.6},
    "torn_packaging": {"box": 4, "retail_box": 1, "mailer": 1.5, "photo": 0.6},
    "water_damage": {"box": 4, "retail_box": 1, "mailer": 1, "photo": 0.8},
    "broken": {"phone": 3, "mug": 1.5, "plate": 1.5, "glass": 1, "bottle": 1, "photo": 1.5},
    "surface_damage": {"phone": 3, "mug": 1, "plate": 1, "retail_box": 1, "bottle": 0.5, "photo": 1.5},
}
CLUTTER_KINDS = ("box", "retail_box", "mailer", "phone", "mug", "plate", "glass", "bottle")


def _object_layer(rng: np.random.Generator, W: int, H: int, kind: str, label: str) -> Image.Image:
    if kind == "photo":
        return photo_layer(rng, W, H, label)
    if kind in ("box", "retail_box"):
        return box_layer(rng, W, H, label, retail=kind == "retail_box")
    if kind == "mailer":
        return mailer_layer(rng, W, H, label)
    if kind == "phone":
        return phone_layer(rng, W, H, label)
    return ceramic_layer(rng, W, H, kind, label)


def _clutter_layer(rng: np.random.Generator, W: int, H: int) -> Image.Image:
    """A smaller intact object off to one side: photos of damage have other things in them too."""
    kind = CLUTTER_KINDS[int(rng.integers(len(CLUTTER_KINDS)))]
    layer = _object_layer(rng, W, H, kind, "no_damage")
    scale = rng.uniform(0.35, 0.6)
    side = rng.choice([-1, 1])
    tx, ty = side * W * rng.uniform(0.3, 0.42), H * rng.uniform(-0.3, 0.3)
    # inverse affine: output (x, y) samples input ((x - cx - tx) / scale + cx, (y - cy - ty) / scale + cy)
    cx, cy = W / 2, H / 2
    coeffs = (1 / scale, 0, cx - (cx + tx) / scale, 0, 1 / scale, cy - (cy + ty) / scale)
    return layer.transform((W, H), Image.Transform.AFFINE, coeffs, Image.Resampling.BILINEAR)


def render_scene(label: str, seed: int, size: tuple[int, int] = (320, 240), kind: str | None = None) -> Image.Image:
    """One photo-like RGB image of `label` (a taxonomy label), reproducible from `seed`."""
    if label not in DAMAGE_LABELS:
        raise ValueError(f"unknown damage label {label!r}")
    rng = np.random.default_rng(seed)
    out_w, out_h = size
    if rng.random() < 0.35:  # portrait phone photos
        out_w, out_h = out_h, out_w
    W, H = int(out_w * 1.2), int(out_h * 1.2)
    if kind is None:
        choices = OBJECTS_FOR_LABEL[label]
        names = list(choices)
        weights = np.asarray([choices[n] for n in names], np.float64)
        kind = names[int(rng.choice(len(names), p=weights / weights.sum()))]
    bg = scene_backdrop(rng, H, W)
    if kind != "photo" and rng.random() < 0.3:
        bg = composite_with_shadow(rng, bg, _clutter_layer(rng, W, H))
    layer = _object_layer(rng, W, H, kind, label)
    img = composite_with_shadow(rng, bg, layer)
    if label in ("water_damage",) and kind != "mailer" and rng.random() < 0.4:
        img = puddle(rng, img)
    img = apply_lighting(rng, img)
    return capture(rng, np.clip(img, 0, 1), (out_w, out_h))


def generate_dataset(
    out_dir: Path, per_class: int, *, size: tuple[int, int] = (320, 240), seed: int = 0, quality: int = 90
) -> list[Path]:
    """Write `per_class` scenes per label into `out_dir/<label>/NNNN.jpg` (ImageFolder layout)."""
    out_dir = Path(out_dir)
    paths = []
    for li, label in enumerate(DAMAGE_LABELS):
        folder = out_dir / label
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            path = folder / f"{label}_{i:04d}.jpg"
            if not path.exists():
                render_scene(label, seed * 1_000_003 + li * 100_003 + i, size).save(path, "JPEG", quality=quality)
            paths.append(path)
    return paths


def write_samples(out_dir: Path | str) -> list[Path]:
    """Write the small demo set of sample_images/ (6 photos per label, 640 px) into `out_dir/<label>/`."""
    return generate_dataset(Path(out_dir), 6, size=(640, 480), seed=20_261_127, quality=82)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vision_models.synth", description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=Path, help="write the small demo set (6 photos per label, 640 px) here")
    parser.add_argument("--out", type=Path, help="write a training set here")
    parser.add_argument("--per-class", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.samples and not args.out:
        parser.error("give --samples DIR or --out DIR")
    if args.samples:
        paths = write_samples(args.samples)
        print(f"wrote {len(paths)} demo photos under {args.samples}")
    if args.out:
        paths = generate_dataset(args.out, args.per_class, seed=args.seed)
        print(f"wrote {len(paths)} scenes under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
