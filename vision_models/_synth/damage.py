"""Damage effects: what makes a scene `crushed_packaging`, `torn_packaging`, `water_damage`, `broken`, `surface_damage`.

Most are drawn in place on an object's flat face (uneven crumpling, folds, tears that show the corrugation,
tide-lined water stains and mould, scratches and scuffs, radial screen cracks); the rest work on an
object's RGBA layer once it is in the scene (a caved-in silhouette, a shattered object pushed apart into
pieces with shards) or on the whole scene (a puddle on the floor).
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from scipy import ndimage

from vision_models._synth.canvas import (
    Array,
    draw_mask,
    fractal_noise,
    from_image,
    jagged_polyline,
    ragged_blob,
    to_image,
)


def crumple(rng: np.random.Generator, face: Array, strength: float) -> None:
    """Uneven surface shading (a bump map from smooth noise): faint on a good box, strong on a crushed one."""
    h, w = face.shape[:2]
    bumps = fractal_noise(rng, h, w, base=int(rng.integers(2, 5)), octaves=2, persistence=0.4)
    gy, gx = np.gradient(bumps)
    angle = rng.uniform(0, 2 * np.pi)
    relief = (gx * math.cos(angle) + gy * math.sin(angle)) * max(h, w) / 6
    face[...] = face * np.clip(1 + strength * 0.18 * relief, 0.4, 1.6)[..., None]


def crease(rng: np.random.Generator, face: Array, strength: float = 1.0) -> None:
    """A fold: a dark line with a light ridge beside it, like cardboard bent under load."""
    h, w = face.shape[:2]
    p0 = (rng.uniform(-0.1, 1.1) * w, rng.uniform(-0.1, 0.5) * h)
    p1 = (rng.uniform(-0.1, 1.1) * w, rng.uniform(0.5, 1.1) * h)
    if rng.random() < 0.5:
        p0, p1 = (p0[1] / h * w, p0[0] / w * h), (p1[1] / h * w, p1[0] / w * h)
    pts = jagged_polyline(rng, p0, p1, 8, 0.04)
    width = max(2, int(min(w, h) * rng.uniform(0.01, 0.03)))
    dark = draw_mask((w, h), lambda d: d.line(pts, fill=255, width=width, joint="curve"), blur=width * 0.6)
    off = [(x + width * 1.2, y + width * 0.6) for x, y in pts]
    light = draw_mask((w, h), lambda d: d.line(off, fill=255, width=width * 2, joint="curve"), blur=width * 1.5)
    face[...] = face * (1 - 0.45 * strength * dark[..., None]) + 0.18 * strength * light[..., None] * (
        1 - dark[..., None]
    )
    # the panel on one side of the fold faces the light differently
    side = draw_mask(
        (w, h),
        lambda d: d.polygon(
            pts + [(w * 2, h * 2), (w * 2, -h)] if rng.random() < 0.5 else pts + [(-w, h * 2), (-w, -h)], fill=255
        ),
        blur=width,
    )
    face[...] = face * (1 - rng.uniform(0.05, 0.18) * side[..., None])


def tear(rng: np.random.Generator, face: Array, alpha: Array | None = None) -> None:
    """A ragged hole or rip that shows the fluted inner layer of corrugated board and its torn fibres."""
    h, w = face.shape[:2]
    cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    rx, ry = rng.uniform(0.1, 0.3) * w, rng.uniform(0.08, 0.25) * h
    if rng.random() < 0.4:  # a long rip
        rx, ry = (rx * 1.8, ry * 0.35) if rng.random() < 0.5 else (rx * 0.35, ry * 1.8)
    poly = ragged_blob(rng, cx, cy, rx, ry, n=40, rough=0.35)
    hole = draw_mask((w, h), lambda d: d.polygon(poly, fill=255), blur=0.7)
    fringe = draw_mask(
        (w, h), lambda d: d.line(poly + poly[:1], fill=255, width=max(2, int(min(w, h) * 0.025))), blur=1.2
    )
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


def water_stain(rng: np.random.Generator, face: Array) -> None:
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
        ring = np.exp(-((field - (level - k)) ** 2) / (2 * 0.006**2))
        tide = np.asarray([0.45, 0.32, 0.18], np.float32)
        face[...] = face * (1 - strength * ring[..., None]) + tide * strength * ring[..., None] * 0.4
    face[...] *= 1 + 0.08 * (fractal_noise(rng, h, w, base=24, octaves=2) - 0.5)[..., None] * wet[..., None]
    if rng.random() < 0.3:
        for _ in range(int(rng.integers(10, 60))):
            x, y = rng.uniform(0, w), rng.uniform(0, h) if rng.random() < 0.5 else rng.uniform(0.6, 1) * h
            r = rng.uniform(1, 4)
            spot = draw_mask((w, h), lambda d: d.ellipse([x - r, y - r, x + r, y + r], fill=255), blur=r * 0.5)
            face[...] = face * (1 - 0.6 * spot[..., None]) + np.array([0.25, 0.3, 0.2]) * 0.6 * spot[..., None]


def scuffs_and_scratches(rng: np.random.Generator, face: Array, n_scratches: int, scuffs: int) -> None:
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
        poly = ragged_blob(rng, cx, cy, rng.uniform(0.05, 0.15) * s, rng.uniform(0.03, 0.1) * s, rough=0.5)
        blot = draw_mask((w, h), lambda dd: dd.polygon(poly, fill=255), blur=rng.uniform(2, 6))
        blot *= fractal_noise(rng, h, w, base=12, octaves=3)
        tone = 0.85 if lum < 0.55 else 0.35
        face[...] = face * (1 - 0.6 * blot[..., None]) + tone * 0.6 * blot[..., None]


def cracks(rng: np.random.Generator, face: Array, severity: float) -> None:
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
                d.line(jagged_polyline(rng, a, b, 4, 0.08), fill=int(rng.integers(120, 220)), width=1)
    crack = np.asarray(layer, np.float32) / 255.0
    centre = draw_mask(
        (w, h),
        lambda dd: dd.polygon(ragged_blob(rng, ix, iy, w * 0.06 * severity, w * 0.06 * severity, rough=0.6), fill=255),
        blur=2,
    )
    sparkle = centre * (rng.random((h, w)) < 0.3)
    glint = ndimage.gaussian_filter(crack, 1.2)
    face[...] = face * (1 - 0.3 * glint[..., None]) + 0.9 * crack[..., None] * 0.8 + 0.5 * sparkle[..., None]
    face[...] = np.clip(face, 0, 1)


def cracks_on_layer(rng: np.random.Generator, layer: Image.Image, bbox) -> None:
    x0, y0, x1, y1 = (int(v) for v in bbox)
    rgb, alpha = from_image(layer)
    x0, y0 = max(x0, 0), max(y0, 0)
    sub = rgb[y0:y1, x0:x1]
    if sub.size:
        cracks(rng, sub, rng.uniform(0.4, 0.9))
    layer.paste(to_image(rgb, alpha))


def dent_layer(rng: np.random.Generator, layer: Image.Image, centre, radius: float) -> Image.Image:
    """Push pixels of an object's layer inwards around a point: the silhouette caves in like a crushed corner."""
    rgb, alpha = from_image(layer)
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
    fall = np.exp(-((xx - px) ** 2 + (yy - py) ** 2) / (2 * radius**2))
    ccx, ccy = float(xs.mean()), float(ys.mean())
    vx, vy = ccx - px, ccy - py
    norm = math.hypot(vx, vy) or 1.0
    push = radius * rng.uniform(0.6, 1.2)
    src_x = xx - vx / norm * push * fall
    src_y = yy - vy / norm * push * fall
    out = np.dstack(
        [
            ndimage.map_coordinates(ch, [src_y, src_x], order=1, mode="constant")
            for ch in np.dstack([rgb, alpha]).transpose(2, 0, 1)
        ]
    )
    shading = 1 - 0.25 * fall * (1 - fall) * 4
    out[..., :3] *= shading[..., None]
    return to_image(out[..., :3], out[..., 3])


def shatter_layer(rng: np.random.Generator, layer: Image.Image, bbox, pieces: int) -> Image.Image:
    """Cut an object's layer along jagged lines and push the pieces apart, exposing pale broken edges; add shards."""
    W, H = layer.size
    rgb, alpha = from_image(layer)
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
        wedge = jagged_polyline(rng, centre, p0, 10, 0.03) + arc + jagged_polyline(rng, p1, centre, 10, 0.03)
        m = draw_mask((W, H), lambda d: d.polygon(wedge, fill=255)) * remaining
        remaining = remaining * (1 - m)
        mid = (a0 + a1) / 2
        gap = rng.uniform(0.03, 0.12) * size
        shift = (math.sin(mid) * gap + rng.normal(0, 2), math.cos(mid) * gap + rng.normal(0, 2))
        rot = rng.normal(0, 4)
        piece_a = alpha * m
        piece = to_image(rgb, piece_a).rotate(
            rot, resample=Image.Resampling.BILINEAR, center=centre, translate=(shift[1], shift[0])
        )
        pr, pa = from_image(piece)
        edge = np.clip(pa - ndimage.grey_erosion(pa, size=(3, 3)), 0, 1)
        pr = pr * (1 - edge[..., None] * 0.7) + 0.95 * edge[..., None] * 0.7
        out_rgb = out_rgb * (1 - pa[..., None]) + pr * pa[..., None]
        out_a = np.maximum(out_a, pa)
    result = to_image(out_rgb, out_a)
    d = ImageDraw.Draw(result)
    colour = (
        tuple(int(v) for v in (np.median(rgb[alpha > 0.5], axis=0) * 255)) if (alpha > 0.5).any() else (230, 230, 230)
    )
    for _ in range(int(rng.integers(3, 15))):
        sx, sy = cx + rng.normal(0, 0.6) * size, cy + rng.uniform(0.2, 0.8) * size * 0.6
        r = rng.uniform(0.01, 0.04) * size
        pts = [(sx + rng.uniform(-r, r), sy + rng.uniform(-r, r)) for _ in range(3)]
        d.polygon(pts, fill=colour + (255,))
    return result


def puddle(rng: np.random.Generator, img: Array) -> Array:
    h, w = img.shape[:2]
    poly = ragged_blob(
        rng,
        rng.uniform(0.3, 0.7) * w,
        rng.uniform(0.7, 0.95) * h,
        rng.uniform(0.2, 0.4) * w,
        rng.uniform(0.05, 0.12) * h,
        rough=0.4,
    )
    m = draw_mask((w, h), lambda d: d.polygon(poly, fill=255), blur=3)
    gloss = fractal_noise(rng, h, w, base=4, octaves=2)
    return img * (1 - 0.35 * m[..., None]) + 0.25 * m[..., None] * gloss[..., None] ** 3
