"""What an object lies on: floors, tables and walls, and the real photographs they may borrow from.

Procedural floors (wood, tiles, carpet, concrete, studio sweep, counter, doormat), grey brick, grass and
gravel photographs and colour photographs bundled with scikit-image (loaded lazily and cached), and the
backdrop of a scene: a floor, sometimes with a wall or a front door behind it. `photo_patch` also supplies
the printed artwork and phone wallpapers of `products` and `packaging`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage

from vision_models._synth.canvas import Array, fractal_noise


@lru_cache(maxsize=1)
def real_textures() -> tuple[Array, ...]:
    """Grey photographs of brick, grass and gravel that scikit-image bundles (empty if unavailable)."""
    try:
        from skimage import data

        return tuple(np.asarray(getattr(data, name)(), np.float32) / 255.0 for name in ("brick", "grass", "gravel"))
    except Exception:
        return ()


@lru_cache(maxsize=1)
def _real_photos() -> tuple[Array, ...]:
    """Colour photographs bundled with scikit-image, used as printed artwork and phone wallpapers."""
    try:
        from skimage import data

        photos = []
        # coffee.png is left out on purpose: it is a real product shot the tests use as an unseen probe.
        for name in ("astronaut", "chelsea", "rocket", "hubble_deep_field", "retina", "camera", "coins"):
            try:
                array = np.asarray(getattr(data, name)(), np.float32) / 255.0
            except Exception:
                continue
            if array.ndim == 2:
                array = np.repeat(array[..., None], 3, axis=2) * np.asarray([1.0, 0.95, 0.85], np.float32)
            photos.append(array[..., :3])
        return tuple(photos)
    except Exception:
        return ()


def photo_patch(rng: np.random.Generator, h: int, w: int) -> Array | None:
    photos = _real_photos()
    if not photos or h < 2 or w < 2:
        return None
    photo = photos[int(rng.integers(len(photos)))]
    ph, pw = photo.shape[:2]
    scale = rng.uniform(0.4, 1.0)
    ch, cw = max(2, int(ph * scale)), max(2, int(pw * scale))
    y0, x0 = int(rng.integers(0, ph - ch + 1)), int(rng.integers(0, pw - cw + 1))
    crop = Image.fromarray((photo[y0 : y0 + ch, x0 : x0 + cw] * 255).astype(np.uint8))
    return np.asarray(crop.resize((w, h), Image.Resampling.BILINEAR), np.float32) / 255.0


def _background(rng: np.random.Generator, h: int, w: int) -> Array:
    kind = rng.choice(
        ["wood", "tiles", "carpet", "concrete", "studio", "real", "counter", "doormat", "photo"],
        p=[0.18, 0.11, 0.11, 0.11, 0.15, 0.1, 0.09, 0.07, 0.08],
    )
    if kind == "real" and not real_textures():
        kind = "concrete"
    if kind == "photo":
        patch = photo_patch(rng, h, w)
        if patch is not None:
            blurred = Image.fromarray((patch * 255).astype(np.uint8)).filter(
                ImageFilter.GaussianBlur(rng.uniform(1, 6))
            )
            return np.asarray(blurred, np.float32) / 255.0
        kind = "concrete"
    if kind == "wood":
        base = np.array(rng.choice([(0.55, 0.38, 0.22), (0.70, 0.52, 0.33), (0.42, 0.28, 0.18), (0.80, 0.66, 0.48)]))
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        warp = fractal_noise(rng, h, w, base=3, octaves=3) * rng.uniform(6, 20)
        freq = rng.uniform(0.08, 0.25)
        along = xx if rng.random() < 0.5 else yy
        grain = 0.5 + 0.5 * np.sin((along + warp * 8) * freq)
        fine = fractal_noise(rng, h, w, base=48, octaves=2)
        g = 0.82 + 0.12 * grain + 0.08 * fine
        plank = rng.uniform(70, 180)
        across = yy if along is xx else xx
        g *= np.where((across % plank) < 1.5, 0.7, 1.0)
        img = base[None, None] * g[..., None]
    elif kind == "tiles":
        base = np.array(rng.choice([(0.85, 0.84, 0.80), (0.70, 0.68, 0.64), (0.55, 0.52, 0.50), (0.80, 0.75, 0.68)]))
        size = rng.uniform(60, 160)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        grout = ((xx % size) < 3) | ((yy % size) < 3)
        g = 0.95 + 0.06 * fractal_noise(rng, h, w, base=16, octaves=3)
        g = np.where(grout, 0.72, g)
        img = base[None, None] * g[..., None]
    elif kind == "carpet":
        base = np.array(rng.choice([(0.45, 0.42, 0.40), (0.60, 0.55, 0.48), (0.30, 0.33, 0.40), (0.55, 0.30, 0.28)]))
        g = 0.85 + 0.2 * rng.random((h, w), dtype=np.float32) + 0.1 * fractal_noise(rng, h, w, base=8, octaves=3)
        g = ndimage.uniform_filter(g, 2)
        img = base[None, None] * g[..., None]
    elif kind == "concrete":
        base = np.array(rng.choice([(0.62, 0.61, 0.58), (0.50, 0.50, 0.49), (0.70, 0.68, 0.63)]))
        g = 0.8 + 0.25 * fractal_noise(rng, h, w, base=6, octaves=6) + 0.08 * rng.random((h, w), dtype=np.float32)
        img = base[None, None] * g[..., None]
    elif kind == "studio":
        top = rng.uniform(0.85, 1.0)
        yy = np.linspace(0, 1, h, dtype=np.float32)[:, None]
        g = top - rng.uniform(0.02, 0.15) * yy + 0.01 * fractal_noise(rng, h, w, base=4, octaves=2)
        tint = np.array([1.0, rng.uniform(0.97, 1.0), rng.uniform(0.94, 1.0)])
        img = np.repeat(g[..., None], 3, axis=2) * tint
    elif kind == "counter":
        base = np.array(rng.choice([(0.92, 0.92, 0.90), (0.20, 0.20, 0.22), (0.75, 0.72, 0.66), (0.35, 0.40, 0.45)]))
        g = 0.92 + 0.08 * fractal_noise(rng, h, w, base=10, octaves=4)
        speck = (rng.random((h, w)) < 0.01) * rng.uniform(-0.2, 0.2)
        img = base[None, None] * (g + speck)[..., None]
    elif kind == "doormat":
        base = np.array(rng.choice([(0.40, 0.30, 0.20), (0.25, 0.22, 0.20), (0.55, 0.45, 0.30)]))
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        weave = 0.5 + 0.25 * np.sin(xx * 1.3) * np.sin(yy * 1.3)
        g = 0.75 + 0.3 * weave + 0.15 * rng.random((h, w), dtype=np.float32)
        img = base[None, None] * g[..., None]
    else:
        tex = real_textures()[rng.integers(len(real_textures()))]
        scale = rng.uniform(0.6, 1.6)
        tw, th = int(w * scale), int(h * scale)
        crop = Image.fromarray((tex * 255).astype(np.uint8)).resize(
            (max(tw, 64), max(th, 64)), Image.Resampling.BILINEAR
        )
        g = np.asarray(crop.resize((w, h), Image.Resampling.BILINEAR), np.float32) / 255.0
        tint = np.array(rng.choice([(0.75, 0.55, 0.45), (0.45, 0.60, 0.35), (0.65, 0.63, 0.60), (0.7, 0.66, 0.58)]))
        img = (0.35 + 0.85 * g[..., None]) * tint
    return np.clip(img, 0, 1).astype(np.float32)


def scene_backdrop(rng: np.random.Generator, h: int, w: int) -> Array:
    """A floor or table; a third of the time with a wall (or a front door) behind it, as on a doorstep."""
    floor = _background(rng, h, w)
    if rng.random() > 0.35:
        return floor
    horizon = int(h * rng.uniform(0.12, 0.4))
    wall_colour = np.asarray(
        rng.choice([(0.92, 0.9, 0.85), (0.8, 0.78, 0.72), (0.6, 0.65, 0.7), (0.85, 0.8, 0.7)]), np.float32
    )
    wall = wall_colour[None, None] * (0.93 + 0.07 * fractal_noise(rng, horizon, w, base=8, octaves=4))[..., None]
    if real_textures() and rng.random() < 0.3:
        brick = real_textures()[0]
        tile = np.asarray(Image.fromarray((brick * 255).astype(np.uint8)).resize((w, horizon)), np.float32) / 255.0
        wall = np.asarray([0.7, 0.45, 0.35], np.float32) * (0.4 + 0.8 * tile[..., None])
    elif rng.random() < 0.3:
        x0 = int(rng.uniform(0.1, 0.6) * w)
        door = np.asarray(rng.choice([(0.35, 0.22, 0.14), (0.15, 0.2, 0.3), (0.85, 0.85, 0.85)]), np.float32)
        wall[:, x0 : x0 + int(w * 0.35)] = (
            door
            * (0.9 + 0.1 * fractal_noise(rng, horizon, len(range(w)[x0 : x0 + int(w * 0.35)]), base=4, octaves=2))[
                ..., None
            ]
        )
    out = floor.copy()
    out[:horizon] = wall
    skirting = max(2, int(h * 0.015))
    out[horizon : horizon + skirting] = out[horizon : horizon + skirting] * 0.75
    out[:horizon] *= np.linspace(0.9, 1.0, horizon, dtype=np.float32)[:, None, None]
    return out
