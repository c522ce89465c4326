"""Generated training scenes for the six damage labels: the project owns every pixel.

A scene is a background (wood, tiles, carpet, concrete, doormat, studio sweep, real brick, grass and
gravel textures bundled with scikit-image), one main object (a corrugated shipping box, a printed retail
box, a mailer bag, a phone, a mug, a plate, a drinking glass, a bottle), soft shadows and lighting
gradients, and the damage of its label drawn on the object's own flat texture before it is warped into
the photo (creases and caved-in corners, tears that show the corrugation, open flaps, tide-lined water
stains, radial screen cracks, ceramics in pieces, scratches and scuffs). The "camera" then adds
perspective, defocus, sensor noise, a white-balance cast and JPEG compression.

    python -m vision_models.synth --samples sample_images          # the demo photos (ImageFolder layout)
    python -m vision_models.synth --out /tmp/scenes --per-class 300 # a training set
"""
from __future__ import annotations

import argparse
import io
import math
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from scipy import ndimage

from vision_models.labels import DAMAGE_LABELS

Array = np.ndarray

# Which objects each label is drawn on (weights need not sum to one).
# "photo" is a printed surface or screen filling most of the frame, showing one of the real photographs that
# scikit-image bundles, with the label's damage drawn over it (or none). It keeps the head from learning that
# rich real-world texture means damage: intact photos are at least as textured as damaged ones.
OBJECTS_FOR_LABEL: dict[str, dict[str, float]] = {
    "no_damage": {"box": 3, "retail_box": 1.5, "mailer": 1, "phone": 2, "mug": 1, "plate": 1, "glass": 0.7, "bottle": 0.7,
                  "photo": 3},
    "crushed_packaging": {"box": 4, "retail_box": 2, "mailer": 1, "photo": 0.6},
    "torn_packaging": {"box": 4, "retail_box": 1, "mailer": 1.5, "photo": 0.6},
    "water_damage": {"box": 4, "retail_box": 1, "mailer": 1, "photo": 0.8},
    "broken": {"phone": 3, "mug": 1.5, "plate": 1.5, "glass": 1, "bottle": 1, "photo": 1.5},
    "surface_damage": {"phone": 3, "mug": 1, "plate": 1, "retail_box": 1, "bottle": 0.5, "photo": 1.5},
}
CLUTTER_KINDS = ("box", "retail_box", "mailer", "phone", "mug", "plate", "glass", "bottle")

CARDBOARD_COLOURS = [(0.72, 0.55, 0.37), (0.66, 0.50, 0.33), (0.78, 0.62, 0.44), (0.60, 0.45, 0.30), (0.85, 0.80, 0.72)]


# ----------------------------------------------------------------------------------------------------------
# small numerical helpers


def _resize_float(a: Array, w: int, h: int) -> Array:
    return np.asarray(Image.fromarray(a.astype(np.float32), "F").resize((w, h), Image.Resampling.BICUBIC))


def fractal_noise(rng: np.random.Generator, h: int, w: int, *, base: int = 4, octaves: int = 5, persistence: float = 0.55) -> Array:
    """Smooth multi-scale noise in about [0, 1]."""
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    cells = base
    for _ in range(octaves):
        small = rng.random((max(2, cells * h // max(h, w) + 1), max(2, cells * w // max(h, w) + 1)), dtype=np.float32)
        out += amp * _resize_float(small, w, h)
        total += amp
        amp *= persistence
        cells *= 2
    out /= total
    lo, hi = np.percentile(out, 1), np.percentile(out, 99)
    return np.clip((out - lo) / max(hi - lo, 1e-6), 0, 1)


def _to_img(rgb: Array, alpha: Array | None = None) -> Image.Image:
    rgb8 = (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)
    if alpha is None:
        return Image.fromarray(rgb8, "RGB")
    a8 = (np.clip(alpha, 0, 1) * 255 + 0.5).astype(np.uint8)
    return Image.fromarray(np.dstack([rgb8, a8]), "RGBA")


def _from_img(img: Image.Image) -> tuple[Array, Array]:
    a = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255.0
    return a[..., :3].copy(), a[..., 3].copy()


def _mask(size: tuple[int, int], draw_fn, blur: float = 0.0) -> Array:
    """A float mask (h, w) drawn by `draw_fn(ImageDraw)` on an L image of `size` (w, h)."""
    m = Image.new("L", size, 0)
    draw_fn(ImageDraw.Draw(m))
    if blur:
        m = m.filter(ImageFilter.GaussianBlur(blur))
    return np.asarray(m, dtype=np.float32) / 255.0


def _perspective_coeffs(dst: list[tuple[float, float]], src: list[tuple[float, float]]) -> list[float]:
    rows, rhs = [], []
    for (x, y), (u, v) in zip(dst, src):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rhs.append(u)
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs.append(v)
    return list(np.linalg.solve(np.asarray(rows, np.float64), np.asarray(rhs, np.float64)))


def warp_onto(face: Image.Image, quad: list[tuple[float, float]], canvas: tuple[int, int]) -> Image.Image:
    """Warp a flat RGBA texture so its corners land on `quad` (tl, tr, br, bl) of a transparent canvas."""
    w, h = face.size
    coeffs = _perspective_coeffs(quad, [(0, 0), (w, 0), (w, h), (0, h)])
    warped = face.transform(canvas, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR)
    # Beyond the quad's horizon a perspective map folds back into the texture: keep only the quad itself.
    inside = Image.new("L", canvas, 0)
    ImageDraw.Draw(inside).polygon(quad, fill=255)
    r, g, b, a = warped.split()
    a = Image.fromarray(np.minimum(np.asarray(a), np.asarray(inside)))
    return Image.merge("RGBA", (r, g, b, a))


def _convex(quad: list[tuple[float, float]]) -> bool:
    signs = []
    for i in range(4):
        (x0, y0), (x1, y1), (x2, y2) = quad[i], quad[(i + 1) % 4], quad[(i + 2) % 4]
        signs.append((x1 - x0) * (y2 - y1) - (y1 - y0) * (x2 - x1) > 0)
    return all(signs) or not any(signs)


def _jagged_polyline(rng, p0, p1, n: int = 12, rough: float = 0.05) -> list[tuple[float, float]]:
    (x0, y0), (x1, y1) = p0, p1
    length = math.hypot(x1 - x0, y1 - y0)
    nx, ny = -(y1 - y0) / max(length, 1e-6), (x1 - x0) / max(length, 1e-6)
    pts = []
    for i in range(n + 1):
        t = i / n
        off = 0.0 if i in (0, n) else rng.normal(0, rough * length)
        pts.append((x0 + t * (x1 - x0) + nx * off, y0 + t * (y1 - y0) + ny * off))
    return pts


def _ragged_blob(rng, cx, cy, rx, ry, n: int = 28, rough: float = 0.25) -> list[tuple[float, float]]:
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radius = 1 + rough * (rng.random(n) - 0.5) * 2
    radius = ndimage.uniform_filter1d(radius, 3, mode="wrap") * (1 + 0.5 * rough * (rng.random(n) - 0.5))
    return [(cx + rx * r * math.cos(a), cy + ry * r * math.sin(a)) for a, r in zip(angles, radius)]


# ----------------------------------------------------------------------------------------------------------
# backgrounds


@lru_cache(maxsize=1)
def _real_textures() -> tuple[Array, ...]:
    """Grey photographs of brick, grass and gravel that scikit-image bundles (empty if unavailable)."""
    try:
        from skimage import data

        return tuple(np.asarray(getattr(data, name)(), np.float32) / 255.0 for name in ("brick", "grass", "gravel"))
    except Exception:  # noqa: BLE001 - optional extra realism; procedural textures remain
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
            except Exception:  # noqa: BLE001 - some scikit-image versions lack a file; others remain
                continue
            if array.ndim == 2:
                array = np.repeat(array[..., None], 3, axis=2) * np.asarray([1.0, 0.95, 0.85], np.float32)
            photos.append(array[..., :3])
        return tuple(photos)
    except Exception:  # noqa: BLE001 - optional realism
        return ()


def _photo_patch(rng: np.random.Generator, h: int, w: int) -> Array | None:
    photos = _real_photos()
    if not photos or h < 2 or w < 2:
        return None
    photo = photos[int(rng.integers(len(photos)))]
    ph, pw = photo.shape[:2]
    scale = rng.uniform(0.4, 1.0)
    ch, cw = max(2, int(ph * scale)), max(2, int(pw * scale))
    y0, x0 = int(rng.integers(0, ph - ch + 1)), int(rng.integers(0, pw - cw + 1))
    crop = Image.fromarray((photo[y0:y0 + ch, x0:x0 + cw] * 255).astype(np.uint8))
    return np.asarray(crop.resize((w, h), Image.Resampling.BILINEAR), np.float32) / 255.0


def _background(rng: np.random.Generator, h: int, w: int) -> Array:
    kind = rng.choice(["wood", "tiles", "carpet", "concrete", "studio", "real", "counter", "doormat", "photo"],
                      p=[0.18, 0.11, 0.11, 0.11, 0.15, 0.1, 0.09, 0.07, 0.08])
    if kind == "real" and not _real_textures():
        kind = "concrete"
    if kind == "photo":
        patch = _photo_patch(rng, h, w)
        if patch is not None:
            blurred = Image.fromarray((patch * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(rng.uniform(1, 6)))
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
        tex = _real_textures()[rng.integers(len(_real_textures()))]
        scale = rng.uniform(0.6, 1.6)
        tw, th = int(w * scale), int(h * scale)
        crop = Image.fromarray((tex * 255).astype(np.uint8)).resize((max(tw, 64), max(th, 64)), Image.Resampling.BILINEAR)
        g = np.asarray(crop.resize((w, h), Image.Resampling.BILINEAR), np.float32) / 255.0
        tint = np.array(rng.choice([(0.75, 0.55, 0.45), (0.45, 0.60, 0.35), (0.65, 0.63, 0.60), (0.7, 0.66, 0.58)]))
        img = (0.35 + 0.85 * g[..., None]) * tint
    return np.clip(img, 0, 1).astype(np.float32)


def _scene_backdrop(rng: np.random.Generator, h: int, w: int) -> Array:
    """A floor or table; a third of the time with a wall (or a front door) behind it, as on a doorstep."""
    floor = _background(rng, h, w)
    if rng.random() > 0.35:
        return floor
    horizon = int(h * rng.uniform(0.12, 0.4))
    wall_colour = np.asarray(rng.choice([(0.92, 0.9, 0.85), (0.8, 0.78, 0.72), (0.6, 0.65, 0.7), (0.85, 0.8, 0.7)]), np.float32)
    wall = wall_colour[None, None] * (0.93 + 0.07 * fractal_noise(rng, horizon, w, base=8, octaves=4))[..., None]
    if _real_textures() and rng.random() < 0.3:
        brick = _real_textures()[0]
        tile = np.asarray(Image.fromarray((brick * 255).astype(np.uint8)).resize((w, horizon)), np.float32) / 255.0
        wall = np.asarray([0.7, 0.45, 0.35], np.float32) * (0.4 + 0.8 * tile[..., None])
    elif rng.random() < 0.3:
        x0 = int(rng.uniform(0.1, 0.6) * w)
        door = np.asarray(rng.choice([(0.35, 0.22, 0.14), (0.15, 0.2, 0.3), (0.85, 0.85, 0.85)]), np.float32)
        wall[:, x0:x0 + int(w * 0.35)] = door * (0.9 + 0.1 * fractal_noise(rng, horizon, len(range(w)[x0:x0 + int(w * 0.35)]), base=4, octaves=2))[..., None]
    out = floor.copy()
    out[:horizon] = wall
    skirting = max(2, int(h * 0.015))
    out[horizon:horizon + skirting] = out[horizon:horizon + skirting] * 0.75
    out[:horizon] *= np.linspace(0.9, 1.0, horizon, dtype=np.float32)[:, None, None]
    return out


def _apply_lighting(rng: np.random.Generator, img: Array) -> Array:
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * (xx / w - 0.5) + np.sin(angle) * (yy / h - 0.5))
    light = 1.0 + rng.uniform(0.1, 0.5) * ramp
    r2 = ((xx / w - 0.5) ** 2 + (yy / h - 0.5) ** 2) * 2
    light *= 1.0 - rng.uniform(0.0, 0.35) * r2
    warm = rng.uniform(-0.08, 0.1)
    wb = np.array([1 + warm, 1.0, 1 - warm * 1.2], np.float32) * rng.uniform(0.75, 1.15)
    return img * light[..., None] * wb


# ----------------------------------------------------------------------------------------------------------
# flat textures (each object's faces are painted flat, damaged flat, then warped into the scene)


def _cardboard(rng: np.random.Generator, w: int, h: int, colour, shade: float) -> Array:
    base = np.asarray(colour, np.float32) * shade
    mottling = fractal_noise(rng, h, w, base=3, octaves=3)
    fibres = ndimage.uniform_filter1d(rng.random((h, w), dtype=np.float32), 5, axis=int(rng.integers(2)))
    g = 0.92 + 0.1 * mottling + 0.06 * fibres
    grad = np.linspace(1 + rng.uniform(-0.08, 0.08), 1 + rng.uniform(-0.08, 0.08), h, dtype=np.float32)[:, None]
    return np.clip(base[None, None] * (g * grad)[..., None], 0, 1)


def _crumple(rng: np.random.Generator, face: Array, strength: float) -> None:
    """Uneven surface shading (a bump map from smooth noise): faint on a good box, strong on a crushed one."""
    h, w = face.shape[:2]
    bumps = fractal_noise(rng, h, w, base=int(rng.integers(2, 5)), octaves=2, persistence=0.4)
    gy, gx = np.gradient(bumps)
    angle = rng.uniform(0, 2 * np.pi)
    relief = (gx * math.cos(angle) + gy * math.sin(angle)) * max(h, w) / 6
    face[...] = face * np.clip(1 + strength * 0.18 * relief, 0.4, 1.6)[..., None]


def _print_marks(rng: np.random.Generator, face: Array) -> None:
    """Carton printing: a maker's logo box, text lines, 'this side up' arrows."""
    h, w = face.shape[:2]
    ink = np.asarray(rng.choice([(0.1, 0.1, 0.1), (0.15, 0.2, 0.45), (0.5, 0.1, 0.1)]), np.float32)
    layer = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(layer)
    x0, y0 = rng.uniform(0.05, 0.5) * w, rng.uniform(0.05, 0.5) * h
    if rng.random() < 0.6:
        d.rectangle([x0, y0, x0 + w * 0.35, y0 + h * 0.22], outline=255, width=3)
        for k in range(3):
            d.rectangle([x0 + w * 0.03, y0 + h * (0.04 + 0.06 * k), x0 + w * rng.uniform(0.15, 0.32), y0 + h * (0.07 + 0.06 * k)], fill=255)
    if rng.random() < 0.5:
        ax, ay = rng.uniform(0.55, 0.85) * w, rng.uniform(0.1, 0.5) * h
        for k in range(2):
            bx = ax + k * w * 0.07
            d.polygon([(bx, ay), (bx - w * 0.025, ay + h * 0.06), (bx + w * 0.025, ay + h * 0.06)], fill=255)
            d.rectangle([bx - w * 0.008, ay + h * 0.06, bx + w * 0.008, ay + h * 0.14], fill=255)
    m = np.asarray(layer, np.float32)[..., None] / 255.0 * rng.uniform(0.5, 0.85)
    face[...] = face * (1 - m) + ink * m


def _draw_label(rng: np.random.Generator, face: Array) -> None:
    """A white shipping label with a barcode and lines of small print, drawn onto a flat face."""
    h, w = face.shape[:2]
    lw, lh = int(w * rng.uniform(0.3, 0.55)), int(h * rng.uniform(0.25, 0.45))
    x0, y0 = int(rng.uniform(0.05, 0.95) * (w - lw)), int(rng.uniform(0.05, 0.95) * (h - lh))
    paper = rng.uniform(0.9, 1.0)
    face[y0:y0 + lh, x0:x0 + lw] = paper
    label = face[y0:y0 + lh, x0:x0 + lw]
    # small print
    y = int(lh * 0.08)
    while y < lh * 0.55:
        line_w = int(lw * rng.uniform(0.3, 0.85))
        th = max(1, int(lh * 0.035))
        xs = int(lw * 0.06)
        for x in range(xs, xs + line_w, max(2, th * 2)):
            if rng.random() < 0.8:
                label[y:y + th, x:x + max(1, th * 2 - 1)] = rng.uniform(0.05, 0.3)
        y += th * 3
    # barcode
    bx, by = int(lw * 0.08), int(lh * 0.62)
    bw, bh = int(lw * 0.84), int(lh * 0.28)
    x = bx
    while x < bx + bw:
        sw = int(rng.integers(1, 4))
        if rng.random() < 0.55:
            label[by:by + bh, x:x + sw] = 0.05
        x += sw


def _draw_tape(rng: np.random.Generator, face: Array, vertical: bool, broken: bool = False) -> None:
    h, w = face.shape[:2]
    colour = np.asarray(rng.choice([(0.62, 0.46, 0.28), (0.85, 0.75, 0.55), (0.93, 0.93, 0.90), (0.75, 0.60, 0.40)]), np.float32)
    alpha = rng.uniform(0.55, 0.9)
    width = rng.uniform(0.14, 0.24)
    lo, hi = 0.5 - width / 2, 0.5 + width / 2
    if vertical:
        sl = (slice(None), slice(int(lo * w), int(hi * w)))
    else:
        sl = (slice(int(lo * h), int(hi * h)), slice(None))
    region = face[sl]
    gloss = 1 + 0.15 * fractal_noise(rng, region.shape[0], region.shape[1], base=3, octaves=2)[..., None]
    region[...] = (region * (1 - alpha) + colour * alpha) * gloss
    if broken:
        # A slit along the tape: the two halves lift and show the gap between the flaps.
        cut = _mask((region.shape[1], region.shape[0]), lambda d: d.line(
            _jagged_polyline(rng, (0, region.shape[0] / 2), (region.shape[1], region.shape[0] / 2), 10, 0.02)
            if not vertical else _jagged_polyline(rng, (region.shape[1] / 2, 0), (region.shape[1] / 2, region.shape[0]), 10, 0.02),
            fill=255, width=max(2, int(min(region.shape[:2]) * 0.12))), blur=0.8)
        region[...] = region * (1 - cut[..., None] * 0.85)


def _ribbon(rng: np.random.Generator, face: Array, vertical: bool) -> None:
    h, w = face.shape[:2]
    colour = np.asarray(rng.choice([(0.85, 0.85, 0.88), (0.8, 0.1, 0.15), (0.9, 0.75, 0.2)]), np.float32)
    lo, hi = 0.44, 0.56
    region = face[:, int(lo * w):int(hi * w)] if vertical else face[int(lo * h):int(hi * h)]
    n = region.shape[0] if vertical else region.shape[1]
    sheen = 0.75 + 0.35 * np.abs(np.sin(np.linspace(0, rng.uniform(3, 9), n)))
    sheen = sheen[:, None, None] if vertical else sheen[None, :, None]
    region[...] = colour * sheen


def _crease(rng: np.random.Generator, face: Array, strength: float = 1.0) -> None:
    """A fold: a dark line with a light ridge beside it, like cardboard bent under load."""
    h, w = face.shape[:2]
    p0 = (rng.uniform(-0.1, 1.1) * w, rng.uniform(-0.1, 0.5) * h)
    p1 = (rng.uniform(-0.1, 1.1) * w, rng.uniform(0.5, 1.1) * h)
    if rng.random() < 0.5:
        p0, p1 = (p0[1] / h * w, p0[0] / w * h), (p1[1] / h * w, p1[0] / w * h)
    pts = _jagged_polyline(rng, p0, p1, 8, 0.04)
    width = max(2, int(min(w, h) * rng.uniform(0.01, 0.03)))
    dark = _mask((w, h), lambda d: d.line(pts, fill=255, width=width, joint="curve"), blur=width * 0.6)
    off = [(x + width * 1.2, y + width * 0.6) for x, y in pts]
    light = _mask((w, h), lambda d: d.line(off, fill=255, width=width * 2, joint="curve"), blur=width * 1.5)
    face[...] = face * (1 - 0.45 * strength * dark[..., None]) + 0.18 * strength * light[..., None] * (1 - dark[..., None])
    # the panel on one side of the fold faces the light differently
    side = _mask((w, h), lambda d: d.polygon(pts + [(w * 2, h * 2), (w * 2, -h)] if rng.random() < 0.5 else pts + [(-w, h * 2), (-w, -h)], fill=255), blur=width)
    face[...] = face * (1 - rng.uniform(0.05, 0.18) * side[..., None])


def _tear(rng: np.random.Generator, face: Array, alpha: Array | None = None) -> None:
    """A ragged hole or rip that shows the fluted inner layer of corrugated board and its torn fibres."""
    h, w = face.shape[:2]
    cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    rx, ry = rng.uniform(0.1, 0.3) * w, rng.uniform(0.08, 0.25) * h
    if rng.random() < 0.4:  # a long rip
        rx, ry = (rx * 1.8, ry * 0.35) if rng.random() < 0.5 else (rx * 0.35, ry * 1.8)
    poly = _ragged_blob(rng, cx, cy, rx, ry, n=40, rough=0.35)
    hole = _mask((w, h), lambda d: d.polygon(poly, fill=255), blur=0.7)
    fringe = _mask((w, h), lambda d: d.line(poly + poly[:1], fill=255, width=max(2, int(min(w, h) * 0.025))), blur=1.2)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    flute = 0.5 + 0.5 * np.sin(xx * rng.uniform(0.6, 1.2))
    inner_colour = np.asarray(rng.choice([(0.80, 0.66, 0.46), (0.35, 0.25, 0.16), (0.12, 0.10, 0.08)]), np.float32)
    inner = inner_colour[None, None] * (0.75 + 0.3 * flute)[..., None]
    shadow = ndimage.shift(hole, (rng.uniform(2, 6), rng.uniform(-3, 3)), order=1)
    inner = inner * (1 - 0.5 * np.clip(hole - shadow, 0, 1))[..., None]
    face[...] = face * (1 - hole[..., None]) + inner * hole[..., None]
    edge = fringe * (1 - hole * 0.7)
    face[...] = face * (1 - edge[..., None] * 0.7) + np.array([0.93, 0.88, 0.80]) * edge[..., None] * 0.7
    if alpha is not None and inner_colour[0] < 0.2 and rng.random() < 0.3:
        alpha[...] = alpha * (1 - hole * 0.0)


def _water_stain(rng: np.random.Generator, face: Array) -> None:
    """Darkened wet patches with the tide lines that water leaves on paper, sometimes mould spots."""
    h, w = face.shape[:2]
    noise = fractal_noise(rng, h, w, base=2, octaves=4, persistence=0.45)
    yy = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    bias = rng.uniform(0.0, 0.5) * yy if rng.random() < 0.6 else 0
    field = noise + bias
    level = np.quantile(field, 1 - rng.uniform(0.2, 0.6))
    wet = np.clip((field - level) * 12, 0, 1)
    wet = ndimage.gaussian_filter(wet, 1.0)
    darken = rng.uniform(0.6, 0.85)
    face[...] = face * (1 - (1 - darken) * wet[..., None])
    # tide line: a thin dark ring at the edge of the wet area, plus older fainter rings further out
    for k, strength in ((0.0, 0.45), (rng.uniform(0.03, 0.08), 0.12)):
        ring = np.exp(-((field - (level - k)) ** 2) / (2 * 0.006 ** 2))
        tide = np.asarray([0.45, 0.32, 0.18], np.float32)
        face[...] = face * (1 - strength * ring[..., None]) + tide * strength * ring[..., None] * 0.4
    face[...] *= 1 + 0.08 * (fractal_noise(rng, h, w, base=24, octaves=2) - 0.5)[..., None] * wet[..., None]
    if rng.random() < 0.3:
        for _ in range(int(rng.integers(10, 60))):
            x, y = rng.uniform(0, w), rng.uniform(0, h) if rng.random() < 0.5 else rng.uniform(0.6, 1) * h
            r = rng.uniform(1, 4)
            spot = _mask((w, h), lambda d: d.ellipse([x - r, y - r, x + r, y + r], fill=255), blur=r * 0.5)
            face[...] = face * (1 - 0.6 * spot[..., None]) + np.array([0.25, 0.3, 0.2]) * 0.6 * spot[..., None]


def _scuffs_and_scratches(rng: np.random.Generator, face: Array, n_scratches: int, scuffs: int) -> None:
    h, w = face.shape[:2]
    s = min(w, h)
    lum = face.mean()
    scratch = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(scratch)
    for _ in range(n_scratches):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        angle = rng.uniform(0, np.pi) if rng.random() < 0.5 else rng.normal(0.6, 0.2)
        length = rng.uniform(0.1, 0.6) * s
        pts = [(x, y)]
        for _ in range(6):
            angle += rng.normal(0, 0.08)
            x += math.cos(angle) * length / 6
            y += math.sin(angle) * length / 6
            pts.append((x, y))
        d.line(pts, fill=int(rng.integers(120, 256)), width=int(rng.integers(1, 3)))
    m = np.asarray(scratch.filter(ImageFilter.GaussianBlur(0.5)), np.float32)[..., None] / 255.0
    colour = 0.95 if lum < 0.55 else 0.2
    face[...] = face * (1 - 0.8 * m) + colour * 0.8 * m
    for _ in range(scuffs):
        cx, cy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h
        poly = _ragged_blob(rng, cx, cy, rng.uniform(0.05, 0.15) * s, rng.uniform(0.03, 0.1) * s, rough=0.5)
        blot = _mask((w, h), lambda dd: dd.polygon(poly, fill=255), blur=rng.uniform(2, 6))
        blot *= fractal_noise(rng, h, w, base=12, octaves=3)
        tone = 0.85 if lum < 0.55 else 0.35
        face[...] = face * (1 - 0.6 * blot[..., None]) + tone * 0.6 * blot[..., None]


# ----------------------------------------------------------------------------------------------------------
# objects: each returns an RGBA layer the size of the canvas


def _box_layer(rng: np.random.Generator, W: int, H: int, label: str, retail: bool) -> Image.Image:
    """A cuboid seen from above and to one side: front, side and top faces, tape, label, damage."""
    s = min(W, H)
    bw, bh = rng.uniform(0.35, 0.6) * s, rng.uniform(0.22, 0.45) * s
    depth = rng.uniform(0.18, 0.4) * s
    dx, dy = depth * rng.uniform(0.45, 0.85) * rng.choice([-1, 1]), -depth * rng.uniform(0.35, 0.7)
    cx, cy = W / 2 + rng.uniform(-0.1, 0.1) * W, H / 2 + rng.uniform(0.0, 0.15) * H + bh * 0.25
    x0, y0 = cx - bw / 2 - dx / 2, cy - bh / 2 - dy / 2
    front = [(x0, y0), (x0 + bw, y0), (x0 + bw, y0 + bh), (x0, y0 + bh)]
    top = [(x0 + dx, y0 + dy), (x0 + bw + dx, y0 + dy), (x0 + bw, y0), (x0, y0)]
    if dx > 0:
        side = [(x0 + bw, y0), (x0 + bw + dx, y0 + dy), (x0 + bw + dx, y0 + bh + dy), (x0 + bw, y0 + bh)]
    else:
        side = [(x0 + dx, y0 + dy), (x0, y0), (x0, y0 + bh), (x0 + dx, y0 + bh + dy)]
    crushed = label == "crushed_packaging"
    original = (list(front), list(top), list(side))
    if crushed:
        # Collapse one or two corners of the top: the cuboid is no longer square.
        sag = rng.uniform(0.12, 0.35) * bh
        k = int(rng.integers(4))
        top[k] = (top[k][0] + rng.uniform(-0.1, 0.1) * bw, top[k][1] + sag)
        if k in (2, 3):
            front[1 - (k - 2)] = top[k]
        if rng.random() < 0.5:
            j = (k + 1) % 4
            top[j] = (top[j][0], top[j][1] + sag * rng.uniform(0.3, 0.8))
            if j in (2, 3):
                front[1 - (j - 2)] = top[j]
        if dx > 0:
            side[0], side[1] = front[1], top[1]
        else:
            side[0], side[1] = top[0], front[0]
        if not all(_convex(q) for q in (front, top, side)):
            front, top, side = original

    colour = CARDBOARD_COLOURS[int(rng.integers(len(CARDBOARD_COLOURS)))]
    print_colour = np.asarray(rng.random(3) * 0.8 + 0.1, np.float32)
    faces = {}
    light = rng.permutation([1.05, 0.9, 0.72])
    for name, quad, shade in (("top", top, light[0]), ("front", front, light[1]), ("side", side, light[2])):
        fw, fh = 256, 192
        tex = _cardboard(rng, fw, fh, colour, shade)
        if retail:
            # printed retail packaging: a colour field with a product panel and text blocks
            tex = tex * 0.15 + print_colour * shade * 0.85
            panel = _photo_patch(rng, int(fh * 0.7) - int(fh * 0.2), int(fw * 0.55) - int(fw * 0.1)) if rng.random() < 0.6 else None
            if panel is None:
                panel = np.clip(1 - print_colour, 0, 1)
            tex[int(fh * 0.2):int(fh * 0.7), int(fw * 0.1):int(fw * 0.55)] = panel * shade
            for _ in range(4):
                yy0 = int(rng.uniform(0.1, 0.85) * fh)
                xx0 = int(rng.uniform(0.6, 0.7) * fw)
                tex[yy0:yy0 + 6, xx0:xx0 + int(fw * 0.25)] = 0.95 * shade
        faces[name] = tex
    tape_vertical = bool(rng.random() < 0.5)
    if not retail:
        _draw_tape(rng, faces["top"], vertical=tape_vertical, broken=label == "torn_packaging" and rng.random() < 0.5)
        if tape_vertical:
            _draw_tape(rng, faces["front"], vertical=True)
        if rng.random() < 0.75:
            _draw_label(rng, faces["top" if rng.random() < 0.5 else "front"])
    if not retail and rng.random() < 0.5:
        _print_marks(rng, faces["side" if rng.random() < 0.5 else "front"])
    for name in faces:
        _crumple(rng, faces[name], rng.uniform(0.8, 2.2) if crushed else rng.uniform(0.05, 0.5))
    if crushed:
        for name in ("top", "front", "side"):
            for _ in range(int(rng.integers(1, 4))):
                _crease(rng, faces[name], rng.uniform(0.6, 1.2))
    elif label == "torn_packaging":
        targets = rng.choice(["top", "front", "side"], size=int(rng.integers(1, 3)), replace=False)
        for name in targets:
            _tear(rng, faces[name])
    elif label == "water_damage":
        for name in ("front", "side", "top"):
            if name != "top" or rng.random() < 0.5:
                _water_stain(rng, faces[name])
    elif label == "surface_damage":
        for name in faces:
            _scuffs_and_scratches(rng, faces[name], int(rng.integers(4, 15)), int(rng.integers(1, 4)))
    elif rng.random() < 0.4:
        # intact boxes get a scuff or two from handling, which is not damage
        _scuffs_and_scratches(rng, faces["front" if rng.random() < 0.5 else "side"], 0, int(rng.integers(1, 3)))
    if retail and rng.random() < 0.3:
        # a gift ribbon: shiny folds that are not creases
        for name, vertical in (("top", True), ("top", False), ("front", True)):
            _ribbon(rng, faces[name], vertical)

    layer = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    open_top = label == "torn_packaging" and rng.random() < 0.45
    for name, quad in (("side", side), ("front", front), ("top", top)):
        tex = faces[name]
        if name == "top" and open_top:
            # The inside of the box (dark, shadowed) with the flaps standing open.
            inside = _cardboard(rng, 256, 192, colour, 0.35)
            inside *= np.linspace(0.6, 1.1, 192, dtype=np.float32)[:, None, None]
            tex = inside
        warped = warp_onto(_to_img(tex, np.ones(tex.shape[:2])), quad, (W, H))
        layer = Image.alpha_composite(layer, warped)
        d = ImageDraw.Draw(layer)
        edge = tuple(int(c * 255 * 0.55) for c in colour) + (120,)
        d.line(quad + quad[:1], fill=edge, width=max(1, s // 250))
    if open_top:
        for a, b in ((0, 1), (1, 2), (2, 3), (3, 0)):
            if rng.random() < 0.8:
                pa, pb = top[a], top[b]
                mx, my = (pa[0] + pb[0]) / 2, (pa[1] + pb[1]) / 2
                tcx, tcy = sum(p[0] for p in top) / 4, sum(p[1] for p in top) / 4
                ox, oy = (mx - tcx), (my - tcy)
                lift = rng.uniform(0.5, 1.1)
                flap = [pa, pb, (pb[0] + ox * lift, pb[1] + oy * lift - depth * 0.4 * rng.random()),
                        (pa[0] + ox * lift, pa[1] + oy * lift - depth * 0.4 * rng.random())]
                tex = _cardboard(rng, 256, 128, colour, rng.uniform(0.7, 1.1))
                layer = Image.alpha_composite(layer, warp_onto(_to_img(tex, np.ones(tex.shape[:2])), flap, (W, H)))
    if crushed and rng.random() < 0.7:
        layer = _dent_layer(rng, layer, (cx, cy), s * rng.uniform(0.1, 0.25))
    return layer


def _dent_layer(rng: np.random.Generator, layer: Image.Image, centre, radius: float) -> Image.Image:
    """Push pixels of an object's layer inwards around a point: the silhouette caves in like a crushed corner."""
    rgb, alpha = _from_img(layer)
    H, W = alpha.shape
    ys, xs = np.nonzero(alpha > 0.5)
    if len(xs) == 0:
        return layer
    i = int(rng.integers(len(xs)))
    # pick a point on the object's outline side: the extreme pixel in a random direction
    angle = rng.uniform(0, 2 * np.pi)
    proj = xs * math.cos(angle) + ys * math.sin(angle)
    i = int(np.argmax(proj))
    px, py = float(xs[i]), float(ys[i])
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    fall = np.exp(-((xx - px) ** 2 + (yy - py) ** 2) / (2 * radius ** 2))
    ccx, ccy = float(xs.mean()), float(ys.mean())
    vx, vy = ccx - px, ccy - py
    norm = math.hypot(vx, vy) or 1.0
    push = radius * rng.uniform(0.6, 1.2)
    src_x = xx - vx / norm * push * fall
    src_y = yy - vy / norm * push * fall
    out = np.dstack([ndimage.map_coordinates(ch, [src_y, src_x], order=1, mode="constant") for ch in np.dstack([rgb, alpha]).transpose(2, 0, 1)])
    shading = 1 - 0.25 * fall * (1 - fall) * 4
    out[..., :3] *= shading[..., None]
    return _to_img(out[..., :3], out[..., 3])


def _mailer_layer(rng: np.random.Generator, W: int, H: int, label: str) -> Image.Image:
    """A plastic mailer bag or padded kraft envelope lying flat, with wrinkles."""
    s = min(W, H)
    mw, mh = rng.uniform(0.45, 0.7) * s, rng.uniform(0.35, 0.55) * s
    cx, cy = W / 2 + rng.uniform(-0.1, 0.1) * W, H / 2 + rng.uniform(-0.08, 0.08) * H
    fw, fh = 320, 240
    kind = "kraft" if label == "water_damage" else rng.choice(["poly", "kraft"])
    base = np.asarray(rng.choice([(0.85, 0.85, 0.86), (0.3, 0.3, 0.32), (0.8, 0.7, 0.5) if kind == "kraft" else (0.6, 0.75, 0.9)]), np.float32)
    wrinkles = fractal_noise(rng, fh, fw, base=6, octaves=4)
    gx = np.gradient(wrinkles, axis=1) * rng.uniform(6, 14)
    tex = base[None, None] * (0.88 + 0.25 * gx + 0.05 * wrinkles)[..., None]
    if kind == "poly":
        tex = tex + 0.25 * np.clip(gx, 0, None)[..., None] ** 2 * 20
    _draw_label(rng, tex)
    if label == "crushed_packaging":
        for _ in range(int(rng.integers(3, 7))):
            _crease(rng, tex, rng.uniform(0.8, 1.4))
    elif label == "torn_packaging":
        for _ in range(int(rng.integers(1, 3))):
            _tear(rng, tex)
    elif label == "water_damage":
        _water_stain(rng, tex)
    alpha = _mask((fw, fh), lambda d: d.rounded_rectangle([2, 2, fw - 3, fh - 3], radius=8, fill=255), blur=0.8)
    angle = rng.uniform(-0.5, 0.5)
    corners = [(-mw / 2, -mh / 2), (mw / 2, -mh / 2), (mw / 2, mh / 2), (-mw / 2, mh / 2)]
    squash = rng.uniform(0.7, 1.0)
    quad = [(cx + x * math.cos(angle) - y * math.sin(angle) + rng.normal(0, 0.02 * s),
             cy + (x * math.sin(angle) + y * math.cos(angle)) * squash + rng.normal(0, 0.02 * s)) for x, y in corners]
    return warp_onto(_to_img(np.clip(tex, 0, 1), alpha), quad, (W, H))


def _screen_texture(rng: np.random.Generator, fw: int, fh: int) -> Array:
    mode = rng.choice(["off", "wallpaper", "icons", "photo"], p=[0.3, 0.25, 0.25, 0.2])
    yy, xx = np.mgrid[0:fh, 0:fw].astype(np.float32)
    photo = _photo_patch(rng, fh, fw) if mode == "photo" else None
    if photo is not None:
        tex = photo
    elif mode == "off":
        tex = np.full((fh, fw, 3), rng.uniform(0.02, 0.08), np.float32)
    else:
        c1, c2 = rng.random(3).astype(np.float32), rng.random(3).astype(np.float32)
        t = (yy / fh * 0.7 + xx / fw * 0.3)[..., None]
        tex = c1 * (1 - t) + c2 * t
        tex = tex * 0.8 + 0.2 * fractal_noise(rng, fh, fw, base=3, octaves=2)[..., None]
        if mode == "icons":
            cell = fw / 4
            for r in range(5):
                for c in range(4):
                    x0, y0 = int(c * cell + cell * 0.18), int(fh * 0.12 + r * cell * 1.1)
                    if y0 + cell * 0.64 < fh * 0.9:
                        tex[y0:int(y0 + cell * 0.64), x0:int(x0 + cell * 0.64)] = rng.random(3)
        else:
            tex[int(fh * 0.12):int(fh * 0.2), int(fw * 0.25):int(fw * 0.75)] = 0.95
    # a reflection of the room: a soft diagonal highlight
    refl = np.clip(1 - np.abs((xx / fw - yy / fh * rng.uniform(0.3, 1.2)) - rng.uniform(-0.3, 0.6)) * 4, 0, 1)
    return np.clip(tex + rng.uniform(0.04, 0.2) * refl[..., None], 0, 1)


def _cracks(rng: np.random.Generator, face: Array, severity: float) -> None:
    """A shatter pattern: radial cracks from an impact point, rings joining them, a crushed centre."""
    h, w = face.shape[:2]
    ix, iy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h
    layer = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(layer)
    n_rays = int(rng.integers(5, 16) * severity) + 2
    rays = []
    for k in range(n_rays):
        angle = 2 * np.pi * k / n_rays + rng.normal(0, 0.2)
        x, y = ix, iy
        pts = [(x, y)]
        length = rng.uniform(0.3, 1.3) * max(w, h)
        steps = 20
        for _ in range(steps):
            angle += rng.normal(0, 0.15)
            x += math.cos(angle) * length / steps
            y += math.sin(angle) * length / steps
            pts.append((x, y))
            if rng.random() < 0.06:  # a branch
                bx, by, ba = x, y, angle + rng.choice([-1, 1]) * rng.uniform(0.3, 0.9)
                bpts = [(bx, by)]
                for _ in range(int(rng.integers(3, 10))):
                    ba += rng.normal(0, 0.2)
                    bx += math.cos(ba) * length / steps
                    by += math.sin(ba) * length / steps
                    bpts.append((bx, by))
                d.line(bpts, fill=int(rng.integers(140, 230)), width=1)
        rays.append(pts)
        d.line(pts, fill=int(rng.integers(170, 256)), width=int(rng.integers(1, 3)))
    for ring in range(int(rng.integers(1, 5) * severity)):
        idx = int(rng.integers(2, 8)) + ring * 3
        ring_pts = [r[min(idx, len(r) - 1)] for r in rays]
        for a, b in zip(ring_pts, ring_pts[1:] + ring_pts[:1]):
            if rng.random() < 0.7:
                d.line(_jagged_polyline(rng, a, b, 4, 0.08), fill=int(rng.integers(120, 220)), width=1)
    crack = np.asarray(layer, np.float32) / 255.0
    centre = _mask((w, h), lambda dd: dd.polygon(_ragged_blob(rng, ix, iy, w * 0.06 * severity, w * 0.06 * severity, rough=0.6), fill=255), blur=2)
    sparkle = centre * (rng.random((h, w)) < 0.3)
    glint = ndimage.gaussian_filter(crack, 1.2)
    face[...] = face * (1 - 0.3 * glint[..., None]) + 0.9 * crack[..., None] * 0.8 + 0.5 * sparkle[..., None]
    face[...] = np.clip(face, 0, 1)


def _phone_layer(rng: np.random.Generator, W: int, H: int, label: str) -> Image.Image:
    s = min(W, H)
    ph = rng.uniform(0.55, 0.85) * s
    pw = ph * rng.uniform(0.46, 0.52)
    fw, fh = 200, 420
    body = np.asarray(rng.choice([(0.08, 0.08, 0.09), (0.85, 0.85, 0.87), (0.55, 0.5, 0.6), (0.2, 0.3, 0.45)]), np.float32)
    tex = np.broadcast_to(body, (fh, fw, 3)).copy()
    back = rng.random() < 0.25
    if back:
        tex *= (0.9 + 0.15 * fractal_noise(rng, fh, fw, base=2, octaves=2))[..., None]
        cam = _mask((fw, fh), lambda d: d.rounded_rectangle([14, 14, 80, 110], radius=14, fill=255))
        tex = tex * (1 - cam[..., None]) + 0.15 * cam[..., None]
        for cxy in ((47, 42), (47, 84)):
            lens = _mask((fw, fh), lambda d: d.ellipse([cxy[0] - 14, cxy[1] - 14, cxy[0] + 14, cxy[1] + 14], fill=255))
            tex = tex * (1 - lens[..., None]) + 0.03 * lens[..., None]
    else:
        bezel = int(fw * rng.uniform(0.03, 0.07))
        screen = _screen_texture(rng, fw - 2 * bezel, fh - 2 * bezel)
        tex[bezel:fh - bezel, bezel:fw - bezel] = screen
    if label == "broken":
        _cracks(rng, tex, rng.uniform(0.6, 1.4))
    elif label == "surface_damage":
        _scuffs_and_scratches(rng, tex, int(rng.integers(6, 25)), int(rng.integers(0, 3)))
    alpha = _mask((fw, fh), lambda d: d.rounded_rectangle([1, 1, fw - 2, fh - 2], radius=int(fw * 0.12), fill=255), blur=0.8)
    cx, cy = W / 2 + rng.uniform(-0.1, 0.1) * W, H / 2 + rng.uniform(-0.05, 0.05) * H
    angle = rng.uniform(-0.6, 0.6) + (np.pi / 2 if rng.random() < 0.2 else 0)
    tilt = rng.uniform(0.6, 1.0)
    corners = [(-pw / 2, -ph / 2), (pw / 2, -ph / 2), (pw / 2, ph / 2), (-pw / 2, ph / 2)]
    keystone = rng.uniform(-0.12, 0.12)
    quad = []
    for x, y in corners:
        x = x * (1 + keystone * (y / ph))
        quad.append((cx + x * math.cos(angle) - y * math.sin(angle) * tilt, cy + x * math.sin(angle) + y * math.cos(angle) * tilt))
    return warp_onto(_to_img(tex, alpha), quad, (W, H))


def _ceramic_layer(rng: np.random.Generator, W: int, H: int, kind: str, label: str) -> Image.Image:
    """A mug, plate, drinking glass or bottle drawn with cylinder shading and a specular highlight."""
    s = min(W, H)
    colour = np.asarray(rng.choice([(0.95, 0.95, 0.93), (0.9, 0.9, 0.88), (0.2, 0.35, 0.6), (0.7, 0.2, 0.2), (0.2, 0.2, 0.2),
                                    (0.9, 0.8, 0.5), (0.4, 0.6, 0.45)]), np.float32)
    layer = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    cx, cy = W / 2 + rng.uniform(-0.1, 0.1) * W, H / 2 + rng.uniform(-0.05, 0.1) * H
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    transparent = kind in ("glass", "bottle") and rng.random() < 0.7
    if kind == "plate":
        rx = rng.uniform(0.28, 0.42) * s
        ry = rx * rng.uniform(0.45, 0.95)
        outer = _mask((W, H), lambda d: d.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=255), blur=0.8)
        inner = _mask((W, H), lambda d: d.ellipse([cx - rx * 0.68, cy - ry * 0.68, cx + rx * 0.68, cy + ry * 0.68], fill=255), blur=2.5)
        shade = 0.85 + 0.15 * (1 - inner) + 0.1 * (yy - cy) / ry * (1 - inner)
        rgb = colour[None, None] * shade[..., None]
        if rng.random() < 0.5:  # a painted rim band
            band = np.clip(outer - _mask((W, H), lambda d: d.ellipse([cx - rx * 0.9, cy - ry * 0.9, cx + rx * 0.9, cy + ry * 0.9], fill=255)), 0, 1)
            rgb = rgb * (1 - band[..., None]) + rng.random(3) * band[..., None]
        alpha = outer
        bbox = (cx - rx, cy - ry, cx + rx, cy + ry)
    else:
        if kind == "mug":
            bw, bh = rng.uniform(0.25, 0.35) * s, rng.uniform(0.3, 0.42) * s
        elif kind == "glass":
            bw, bh = rng.uniform(0.2, 0.3) * s, rng.uniform(0.4, 0.55) * s
        else:
            bw, bh = rng.uniform(0.16, 0.24) * s, rng.uniform(0.6, 0.8) * s
        x0, y0 = cx - bw / 2, cy - bh / 2
        ey = bw * rng.uniform(0.12, 0.3)
        if kind == "bottle":
            neck_w = bw * 0.35
            body = _mask((W, H), lambda d: (d.rounded_rectangle([x0, y0 + bh * 0.35, x0 + bw, y0 + bh], radius=int(bw * 0.2), fill=255),
                                            d.polygon([(x0, y0 + bh * 0.4), (cx - neck_w / 2, y0 + bh * 0.15), (cx + neck_w / 2, y0 + bh * 0.15), (x0 + bw, y0 + bh * 0.4)], fill=255),
                                            d.rectangle([cx - neck_w / 2, y0, cx + neck_w / 2, y0 + bh * 0.2], fill=255)), blur=0.8)
        else:
            body = _mask((W, H), lambda d: (d.rectangle([x0, y0, x0 + bw, y0 + bh], fill=255),
                                            d.ellipse([x0, y0 + bh - ey, x0 + bw, y0 + bh + ey], fill=255),
                                            d.ellipse([x0, y0 - ey, x0 + bw, y0 + ey], fill=255)), blur=0.8)
        u = np.clip((xx - x0) / bw, 0, 1)
        cyl = 0.55 + 0.5 * np.clip(np.sin(u * np.pi), 0, 1) ** 0.7
        hl_pos = rng.uniform(0.2, 0.4)
        highlight = np.exp(-((u - hl_pos) ** 2) / (2 * 0.03 ** 2)) * 0.5
        if kind == "glass" or kind == "bottle":
            if kind == "bottle":
                colour = np.asarray(rng.choice([(0.25, 0.45, 0.25), (0.45, 0.28, 0.12), (0.8, 0.85, 0.85)]), np.float32)
        rgb = colour[None, None] * cyl[..., None] + highlight[..., None]
        alpha = body * (rng.uniform(0.35, 0.6) if transparent else 1.0)
        if kind in ("mug", "glass"):
            top_ellipse = _mask((W, H), lambda d: d.ellipse([x0 + bw * 0.04, y0 - ey * 0.85, x0 + bw * 0.96, y0 + ey * 0.85], fill=255), blur=1)
            rgb = rgb * (1 - top_ellipse[..., None] * 0.45)
            alpha = np.maximum(alpha, top_ellipse * (0.6 if transparent else 1.0))
        if kind == "mug":
            hx = x0 + bw if rng.random() < 0.6 else x0
            hr = bh * 0.25
            handle = _mask((W, H), lambda d: d.ellipse([hx - hr, cy - hr * 1.2, hx + hr, cy + hr * 1.0], outline=255, width=max(3, int(hr * 0.28))), blur=0.8)
            handle *= 1 - body
            rgb = rgb * (1 - handle[..., None]) + colour * 0.8 * handle[..., None]
            alpha = np.maximum(alpha, handle)
            if rng.random() < 0.5:  # a printed motif, sometimes a photo print
                motif = _mask((W, H), lambda d: d.rectangle([cx - bw * 0.3, cy - bh * 0.25, cx + bw * 0.25, cy + bh * 0.25], fill=255), blur=1)
                art = _photo_patch(rng, H, W) if rng.random() < 0.6 else None
                art = rng.random(3) if art is None else art * cyl[..., None]
                rgb = rgb * (1 - motif[..., None]) + art * motif[..., None]
        if kind == "bottle" and rng.random() < 0.8:
            lab = _mask((W, H), lambda d: d.rectangle([x0, y0 + bh * 0.5, x0 + bw, y0 + bh * 0.8], fill=255))
            rgb = rgb * (1 - lab[..., None]) + (rng.random(3) * 0.6 + 0.3) * cyl[..., None] * lab[..., None]
            alpha = np.maximum(alpha, lab)
        bbox = (x0, y0, x0 + bw, y0 + bh)
    rgb = np.clip(rgb, 0, 1)
    if label == "surface_damage":
        x0, y0, x1, y1 = (int(v) for v in bbox)
        x0, y0 = max(x0, 0), max(y0, 0)
        sub = rgb[y0:y1, x0:x1]
        if sub.size:
            _scuffs_and_scratches(rng, sub, int(rng.integers(4, 14)), int(rng.integers(1, 4)))
            if rng.random() < 0.5:  # a chip out of the rim
                ccx, ccy = rng.uniform(bbox[0], bbox[2]), bbox[1] + rng.uniform(0, 0.1) * (bbox[3] - bbox[1])
                chip = _mask((W, H), lambda d: d.polygon(_ragged_blob(rng, ccx, ccy, s * 0.03, s * 0.02, rough=0.6), fill=255))
                rgb = rgb * (1 - chip[..., None]) + 0.92 * chip[..., None]
    layer = _to_img(rgb, alpha)
    if label == "broken":
        if kind in ("glass", "bottle") or rng.random() < 0.3:
            _cracks_on_layer(rng, layer, bbox)
        layer = _shatter_layer(rng, layer, bbox, pieces=int(rng.integers(2, 5)))
    return layer


def _cracks_on_layer(rng: np.random.Generator, layer: Image.Image, bbox) -> None:
    x0, y0, x1, y1 = (int(v) for v in bbox)
    rgb, alpha = _from_img(layer)
    x0, y0 = max(x0, 0), max(y0, 0)
    sub = rgb[y0:y1, x0:x1]
    if sub.size:
        _cracks(rng, sub, rng.uniform(0.4, 0.9))
    layer.paste(_to_img(rgb, alpha))


def _shatter_layer(rng: np.random.Generator, layer: Image.Image, bbox, pieces: int) -> Image.Image:
    """Cut an object's layer along jagged lines and push the pieces apart, exposing pale broken edges; add shards."""
    W, H = layer.size
    rgb, alpha = _from_img(layer)
    x0, y0, x1, y1 = bbox
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    size = max(x1 - x0, y1 - y0)
    out_rgb = np.zeros_like(rgb)
    out_a = np.zeros_like(alpha)
    remaining = np.ones_like(alpha)
    angles = np.sort(rng.uniform(0, 2 * np.pi, pieces))
    centre = (cx + rng.normal(0, 0.1) * size, cy + rng.normal(0, 0.1) * size)
    for k in range(pieces):
        a0, a1 = angles[k], angles[(k + 1) % pieces] + (2 * np.pi if k == pieces - 1 else 0)
        p0 = (centre[0] + math.cos(a0) * size * 2, centre[1] + math.sin(a0) * size * 2)
        p1 = (centre[0] + math.cos(a1) * size * 2, centre[1] + math.sin(a1) * size * 2)
        arc = [(centre[0] + math.cos(t) * size * 3, centre[1] + math.sin(t) * size * 3) for t in np.linspace(a0, a1, 8)]
        wedge = _jagged_polyline(rng, centre, p0, 10, 0.03) + arc + _jagged_polyline(rng, p1, centre, 10, 0.03)
        m = _mask((W, H), lambda d: d.polygon(wedge, fill=255)) * remaining
        remaining = remaining * (1 - m)
        mid = (a0 + a1) / 2
        gap = rng.uniform(0.03, 0.12) * size
        shift = (math.sin(mid) * gap + rng.normal(0, 2), math.cos(mid) * gap + rng.normal(0, 2))
        rot = rng.normal(0, 4)
        piece_a = alpha * m
        piece = _to_img(rgb, piece_a).rotate(rot, resample=Image.Resampling.BILINEAR, center=centre, translate=(shift[1], shift[0]))
        pr, pa = _from_img(piece)
        edge = np.clip(pa - ndimage.grey_erosion(pa, size=(3, 3)), 0, 1)
        pr = pr * (1 - edge[..., None] * 0.7) + 0.95 * edge[..., None] * 0.7
        out_rgb = out_rgb * (1 - pa[..., None]) + pr * pa[..., None]
        out_a = np.maximum(out_a, pa)
    result = _to_img(out_rgb, out_a)
    d = ImageDraw.Draw(result)
    colour = tuple(int(v) for v in (np.median(rgb[alpha > 0.5], axis=0) * 255)) if (alpha > 0.5).any() else (230, 230, 230)
    for _ in range(int(rng.integers(3, 15))):
        sx, sy = cx + rng.normal(0, 0.6) * size, cy + rng.uniform(0.2, 0.8) * size * 0.6
        r = rng.uniform(0.01, 0.04) * size
        pts = [(sx + rng.uniform(-r, r), sy + rng.uniform(-r, r)) for _ in range(3)]
        d.polygon(pts, fill=colour + (255,))
    return result


def _photo_layer(rng: np.random.Generator, W: int, H: int, label: str) -> Image.Image:
    """A real photograph on a printed surface or a screen filling most of the frame, damaged per label."""
    fw, fh = 320, 240
    tex = _photo_patch(rng, fh, fw)
    if tex is None:
        tex = _screen_texture(rng, fw, fh)
    tex = np.clip(tex * rng.uniform(0.8, 1.1) + rng.uniform(-0.05, 0.05), 0, 1)
    if label == "broken":
        _cracks(rng, tex, rng.uniform(0.6, 1.5))
    elif label == "surface_damage":
        _scuffs_and_scratches(rng, tex, int(rng.integers(5, 25)), int(rng.integers(0, 4)))
    elif label == "water_damage":
        _water_stain(rng, tex)
    elif label == "crushed_packaging":
        _crumple(rng, tex, rng.uniform(1.0, 2.2))
        for _ in range(int(rng.integers(2, 5))):
            _crease(rng, tex, rng.uniform(0.7, 1.3))
    elif label == "torn_packaging":
        for _ in range(int(rng.integers(1, 3))):
            _tear(rng, tex)
    elif rng.random() < 0.5:
        _crumple(rng, tex, rng.uniform(0.0, 0.3))
    margin = rng.uniform(-0.05, 0.2)
    quad = [(W * (margin + rng.uniform(-0.04, 0.04)), H * (margin + rng.uniform(-0.04, 0.04))),
            (W * (1 - margin + rng.uniform(-0.04, 0.04)), H * (margin + rng.uniform(-0.04, 0.04))),
            (W * (1 - margin + rng.uniform(-0.04, 0.04)), H * (1 - margin + rng.uniform(-0.04, 0.04))),
            (W * (margin + rng.uniform(-0.04, 0.04)), H * (1 - margin + rng.uniform(-0.04, 0.04)))]
    return warp_onto(_to_img(tex, np.ones(tex.shape[:2])), quad, (W, H))


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


def _object_layer(rng: np.random.Generator, W: int, H: int, kind: str, label: str) -> Image.Image:
    if kind == "photo":
        return _photo_layer(rng, W, H, label)
    if kind in ("box", "retail_box"):
        return _box_layer(rng, W, H, label, retail=kind == "retail_box")
    if kind == "mailer":
        return _mailer_layer(rng, W, H, label)
    if kind == "phone":
        return _phone_layer(rng, W, H, label)
    return _ceramic_layer(rng, W, H, kind, label)


# ----------------------------------------------------------------------------------------------------------
# the scene and the camera


def _blurred_shift(mask: Image.Image, offset: tuple[float, float], blur: float) -> Array:
    """An L mask moved by (dy, dx) pixels and blurred: a soft shadow (PIL's blur is much faster than scipy's)."""
    dy, dx = offset
    moved = mask.transform(mask.size, Image.Transform.AFFINE, (1, 0, -dx, 0, 1, -dy), Image.Resampling.BILINEAR)
    return np.asarray(moved.filter(ImageFilter.GaussianBlur(max(blur, 0.1))), np.float32) / 255.0


def _composite_with_shadow(rng: np.random.Generator, bg: Array, layer: Image.Image) -> Array:
    rgb, alpha = _from_img(layer)
    h, w = alpha.shape
    s = min(w, h)
    blur = s * rng.uniform(0.01, 0.05)
    off = (rng.uniform(0.0, 0.05) * s, rng.uniform(-0.04, 0.04) * s)
    a8 = layer.getchannel("A")
    shadow = _blurred_shift(a8, off, blur)
    bg = bg * (1 - rng.uniform(0.3, 0.6) * shadow[..., None])
    # contact shadow right under the object
    contact = _blurred_shift(a8, (s * 0.006, 0.0), s * 0.006)
    bg = bg * (1 - 0.3 * contact[..., None])
    return bg * (1 - alpha[..., None]) + rgb * alpha[..., None]


def _camera(rng: np.random.Generator, img: Array, out_size: tuple[int, int], jpeg: bool = True) -> Image.Image:
    h, w = img.shape[:2]
    pil = _to_img(img)
    if rng.random() < 0.35:
        # a close-up: people photograph the damage, not the whole parcel
        zoom = rng.uniform(1.2, 1.8)
        cw, ch = int(w / zoom), int(h / zoom)
        x0 = int(rng.uniform(0.2, 0.8) * (w - cw))
        y0 = int(rng.uniform(0.2, 0.8) * (h - ch))
        pil = pil.crop((x0, y0, x0 + cw, y0 + ch)).resize((w, h), Image.Resampling.BICUBIC)
    # perspective and framing: a slightly off-square, slightly zoomed capture
    jitter = 0.06 * min(w, h)
    src = [(rng.uniform(0, jitter), rng.uniform(0, jitter)), (w - rng.uniform(0, jitter), rng.uniform(0, jitter)),
           (w - rng.uniform(0, jitter), h - rng.uniform(0, jitter)), (rng.uniform(0, jitter), h - rng.uniform(0, jitter))]
    coeffs = _perspective_coeffs([(0, 0), (w, 0), (w, h), (0, h)], src)
    pil = pil.transform((w, h), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR)
    pil = pil.resize(out_size, Image.Resampling.LANCZOS)
    r = rng.random()
    if r < 0.25:
        pil = pil.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.3)))
    elif r < 0.6:
        pil = pil.filter(ImageFilter.UnsharpMask(radius=1.5, percent=int(rng.integers(40, 120)), threshold=2))
    a = np.asarray(pil, np.float32) / 255.0
    # sensor noise: signal-dependent luminance noise plus a little chroma noise
    sigma = rng.uniform(0.005, 0.03)
    lum_noise = rng.normal(0, 1, a.shape[:2]).astype(np.float32)[..., None] * sigma * np.sqrt(np.clip(a, 0.02, 1))
    chroma = rng.normal(0, sigma * 0.4, a.shape).astype(np.float32)
    a = a + lum_noise + ndimage.uniform_filter(chroma, (2, 2, 1))
    gamma = rng.uniform(0.85, 1.15)
    a = np.clip(a, 0, 1) ** gamma
    pil = _to_img(a)
    if jpeg:
        buf = io.BytesIO()
        pil.save(buf, "JPEG", quality=int(rng.integers(55, 95)))
        buf.seek(0)
        pil = Image.open(buf).convert("RGB")
    return pil


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
    bg = _scene_backdrop(rng, H, W)
    if kind != "photo" and rng.random() < 0.3:
        bg = _composite_with_shadow(rng, bg, _clutter_layer(rng, W, H))
    layer = _object_layer(rng, W, H, kind, label)
    img = _composite_with_shadow(rng, bg, layer)
    if label in ("water_damage",) and kind != "mailer" and rng.random() < 0.4:
        img = _puddle(rng, img)
    img = _apply_lighting(rng, img)
    return _camera(rng, np.clip(img, 0, 1), (out_w, out_h))


def _puddle(rng: np.random.Generator, img: Array) -> Array:
    h, w = img.shape[:2]
    poly = _ragged_blob(rng, rng.uniform(0.3, 0.7) * w, rng.uniform(0.7, 0.95) * h, rng.uniform(0.2, 0.4) * w, rng.uniform(0.05, 0.12) * h, rough=0.4)
    m = _mask((w, h), lambda d: d.polygon(poly, fill=255), blur=3)
    gloss = fractal_noise(rng, h, w, base=4, octaves=2)
    return img * (1 - 0.35 * m[..., None]) + 0.25 * m[..., None] * gloss[..., None] ** 3


def generate_dataset(out_dir: Path, per_class: int, *, size: tuple[int, int] = (320, 240), seed: int = 0,
                     quality: int = 90) -> list[Path]:
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
        paths = generate_dataset(args.samples, 6, size=(640, 480), seed=20_261_127, quality=82)
        print(f"wrote {len(paths)} demo photos under {args.samples}")
    if args.out:
        paths = generate_dataset(args.out, args.per_class, seed=args.seed)
        print(f"wrote {len(paths)} scenes under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
