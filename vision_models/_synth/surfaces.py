"""The intact flat faces objects are painted with, before any damage and before the perspective warp.

Corrugated cardboard, a carton's printing, a white shipping label with small print and a barcode, packing
tape (optionally slit open), a gift ribbon, and a phone screen (off, wallpaper, icons or a photo, with a
reflection of the room). Each function paints into or returns a float (h, w, 3) array.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from vision_models._synth.backdrops import photo_patch
from vision_models._synth.canvas import Array, draw_mask, fractal_noise, jagged_polyline


def cardboard(rng: np.random.Generator, w: int, h: int, colour, shade: float) -> Array:
    base = np.asarray(colour, np.float32) * shade
    mottling = fractal_noise(rng, h, w, base=3, octaves=3)
    fibres = ndimage.uniform_filter1d(rng.random((h, w), dtype=np.float32), 5, axis=int(rng.integers(2)))
    g = 0.92 + 0.1 * mottling + 0.06 * fibres
    grad = np.linspace(1 + rng.uniform(-0.08, 0.08), 1 + rng.uniform(-0.08, 0.08), h, dtype=np.float32)[:, None]
    return np.clip(base[None, None] * (g * grad)[..., None], 0, 1)


def print_marks(rng: np.random.Generator, face: Array) -> None:
    """Carton printing: a maker's logo box, text lines, 'this side up' arrows."""
    h, w = face.shape[:2]
    ink = np.asarray(rng.choice([(0.1, 0.1, 0.1), (0.15, 0.2, 0.45), (0.5, 0.1, 0.1)]), np.float32)
    layer = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(layer)
    x0, y0 = rng.uniform(0.05, 0.5) * w, rng.uniform(0.05, 0.5) * h
    if rng.random() < 0.6:
        d.rectangle([x0, y0, x0 + w * 0.35, y0 + h * 0.22], outline=255, width=3)
        for k in range(3):
            d.rectangle(
                [
                    x0 + w * 0.03,
                    y0 + h * (0.04 + 0.06 * k),
                    x0 + w * rng.uniform(0.15, 0.32),
                    y0 + h * (0.07 + 0.06 * k),
                ],
                fill=255,
            )
    if rng.random() < 0.5:
        ax, ay = rng.uniform(0.55, 0.85) * w, rng.uniform(0.1, 0.5) * h
        for k in range(2):
            bx = ax + k * w * 0.07
            d.polygon([(bx, ay), (bx - w * 0.025, ay + h * 0.06), (bx + w * 0.025, ay + h * 0.06)], fill=255)
            d.rectangle([bx - w * 0.008, ay + h * 0.06, bx + w * 0.008, ay + h * 0.14], fill=255)
    m = np.asarray(layer, np.float32)[..., None] / 255.0 * rng.uniform(0.5, 0.85)
    face[...] = face * (1 - m) + ink * m


def draw_label(rng: np.random.Generator, face: Array) -> None:
    """A white shipping label with a barcode and lines of small print, drawn onto a flat face."""
    h, w = face.shape[:2]
    lw, lh = int(w * rng.uniform(0.3, 0.55)), int(h * rng.uniform(0.25, 0.45))
    x0, y0 = int(rng.uniform(0.05, 0.95) * (w - lw)), int(rng.uniform(0.05, 0.95) * (h - lh))
    paper = rng.uniform(0.9, 1.0)
    face[y0 : y0 + lh, x0 : x0 + lw] = paper
    label = face[y0 : y0 + lh, x0 : x0 + lw]
    # small print
    y = int(lh * 0.08)
    while y < lh * 0.55:
        line_w = int(lw * rng.uniform(0.3, 0.85))
        th = max(1, int(lh * 0.035))
        xs = int(lw * 0.06)
        for x in range(xs, xs + line_w, max(2, th * 2)):
            if rng.random() < 0.8:
                label[y : y + th, x : x + max(1, th * 2 - 1)] = rng.uniform(0.05, 0.3)
        y += th * 3
    # barcode
    bx, by = int(lw * 0.08), int(lh * 0.62)
    bw, bh = int(lw * 0.84), int(lh * 0.28)
    x = bx
    while x < bx + bw:
        sw = int(rng.integers(1, 4))
        if rng.random() < 0.55:
            label[by : by + bh, x : x + sw] = 0.05
        x += sw


def draw_tape(rng: np.random.Generator, face: Array, vertical: bool, broken: bool = False) -> None:
    h, w = face.shape[:2]
    colour = np.asarray(
        rng.choice([(0.62, 0.46, 0.28), (0.85, 0.75, 0.55), (0.93, 0.93, 0.90), (0.75, 0.60, 0.40)]), np.float32
    )
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
        cut = draw_mask(
            (region.shape[1], region.shape[0]),
            lambda d: d.line(
                jagged_polyline(rng, (0, region.shape[0] / 2), (region.shape[1], region.shape[0] / 2), 10, 0.02)
                if not vertical
                else jagged_polyline(rng, (region.shape[1] / 2, 0), (region.shape[1] / 2, region.shape[0]), 10, 0.02),
                fill=255,
                width=max(2, int(min(region.shape[:2]) * 0.12)),
            ),
            blur=0.8,
        )
        region[...] = region * (1 - cut[..., None] * 0.85)


def ribbon(rng: np.random.Generator, face: Array, vertical: bool) -> None:
    h, w = face.shape[:2]
    colour = np.asarray(rng.choice([(0.85, 0.85, 0.88), (0.8, 0.1, 0.15), (0.9, 0.75, 0.2)]), np.float32)
    lo, hi = 0.44, 0.56
    region = face[:, int(lo * w) : int(hi * w)] if vertical else face[int(lo * h) : int(hi * h)]
    n = region.shape[0] if vertical else region.shape[1]
    sheen = 0.75 + 0.35 * np.abs(np.sin(np.linspace(0, rng.uniform(3, 9), n)))
    sheen = sheen[:, None, None] if vertical else sheen[None, :, None]
    region[...] = colour * sheen


def screen_texture(rng: np.random.Generator, fw: int, fh: int) -> Array:
    mode = rng.choice(["off", "wallpaper", "icons", "photo"], p=[0.3, 0.25, 0.25, 0.2])
    yy, xx = np.mgrid[0:fh, 0:fw].astype(np.float32)
    photo = photo_patch(rng, fh, fw) if mode == "photo" else None
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
                        tex[y0 : int(y0 + cell * 0.64), x0 : int(x0 + cell * 0.64)] = rng.random(3)
        else:
            tex[int(fh * 0.12) : int(fh * 0.2), int(fw * 0.25) : int(fw * 0.75)] = 0.95
    # a reflection of the room: a soft diagonal highlight
    refl = np.clip(1 - np.abs((xx / fw - yy / fh * rng.uniform(0.3, 1.2)) - rng.uniform(-0.3, 0.6)) * 4, 0, 1)
    return np.clip(tex + rng.uniform(0.04, 0.2) * refl[..., None], 0, 1)
