"""Numerical and drawing primitives the scene generator paints with.

Smooth multi-scale noise, conversions between float arrays in [0, 1] and PIL images, soft masks drawn with
`ImageDraw`, the perspective warp that lands a flat texture on a quadrilateral of the scene, and the jagged
lines and ragged blobs that tears, cracks and stains are cut from. Nothing here knows about objects or
damage; every random draw comes from the generator passed in, so callers control the stream.
"""

from __future__ import annotations

import math
from typing import cast

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from scipy import ndimage

Array = np.ndarray


def _resize_float(a: Array, w: int, h: int) -> Array:
    return np.asarray(Image.fromarray(a.astype(np.float32), "F").resize((w, h), Image.Resampling.BICUBIC))


def fractal_noise(
    rng: np.random.Generator, h: int, w: int, *, base: int = 4, octaves: int = 5, persistence: float = 0.55
) -> Array:
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
    # max() of a numpy scalar and a float is typed only as "comparable"; the value is one of the two
    span = cast("np.floating | float", max(hi - lo, 1e-6))
    return np.clip((out - lo) / span, 0, 1)


def to_image(rgb: Array, alpha: Array | None = None) -> Image.Image:
    rgb8 = (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)
    if alpha is None:
        return Image.fromarray(rgb8, "RGB")
    a8 = (np.clip(alpha, 0, 1) * 255 + 0.5).astype(np.uint8)
    return Image.fromarray(np.dstack([rgb8, a8]), "RGBA")


def from_image(img: Image.Image) -> tuple[Array, Array]:
    a = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255.0
    return a[..., :3].copy(), a[..., 3].copy()


def draw_mask(size: tuple[int, int], draw_fn, blur: float = 0.0) -> Array:
    """A float mask (h, w) drawn by `draw_fn(ImageDraw)` on an L image of `size` (w, h)."""
    m = Image.new("L", size, 0)
    draw_fn(ImageDraw.Draw(m))
    if blur:
        m = m.filter(ImageFilter.GaussianBlur(blur))
    return np.asarray(m, dtype=np.float32) / 255.0


def perspective_coeffs(dst: list[tuple[float, float]], src: list[tuple[float, float]]) -> list[float]:
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
    coeffs = perspective_coeffs(quad, [(0, 0), (w, 0), (w, h), (0, h)])
    warped = face.transform(canvas, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR)
    # Beyond the quad's horizon a perspective map folds back into the texture: keep only the quad itself.
    inside = Image.new("L", canvas, 0)
    ImageDraw.Draw(inside).polygon(quad, fill=255)
    r, g, b, a = warped.split()
    a = Image.fromarray(np.minimum(np.asarray(a), np.asarray(inside)))
    return Image.merge("RGBA", (r, g, b, a))


def is_convex(quad: list[tuple[float, float]]) -> bool:
    signs = []
    for i in range(4):
        (x0, y0), (x1, y1), (x2, y2) = quad[i], quad[(i + 1) % 4], quad[(i + 2) % 4]
        signs.append((x1 - x0) * (y2 - y1) - (y1 - y0) * (x2 - x1) > 0)
    return all(signs) or not any(signs)


def jagged_polyline(rng, p0, p1, n: int = 12, rough: float = 0.05) -> list[tuple[float, float]]:
    (x0, y0), (x1, y1) = p0, p1
    length = math.hypot(x1 - x0, y1 - y0)
    nx, ny = -(y1 - y0) / max(length, 1e-6), (x1 - x0) / max(length, 1e-6)
    pts = []
    for i in range(n + 1):
        t = i / n
        off = 0.0 if i in (0, n) else rng.normal(0, rough * length)
        pts.append((x0 + t * (x1 - x0) + nx * off, y0 + t * (y1 - y0) + ny * off))
    return pts


def ragged_blob(rng, cx, cy, rx, ry, n: int = 28, rough: float = 0.25) -> list[tuple[float, float]]:
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radius = 1 + rough * (rng.random(n) - 0.5) * 2
    radius = ndimage.uniform_filter1d(radius, 3, mode="wrap") * (1 + 0.5 * rough * (rng.random(n) - 0.5))
    return [(cx + rx * r * math.cos(a), cy + ry * r * math.sin(a)) for a, r in zip(angles, radius)]
