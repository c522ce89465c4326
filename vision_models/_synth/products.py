"""Product renderers: phones, mugs, plates, drinking glasses, bottles, and printed photographs.

A phone is a screen or its back with a camera bump, cracked or scratched per label; mugs, plates, glasses
and bottles get cylinder shading, highlights, rims, handles and labels, then chips, cracks or a shatter;
a "photo" is a real photograph on a print or screen filling most of the frame, carrying any label's
damage (so rich texture alone never means damage). Each renderer returns an RGBA layer the size of the canvas.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from vision_models._synth.backdrops import photo_patch
from vision_models._synth.canvas import draw_mask, fractal_noise, ragged_blob, to_image, warp_onto
from vision_models._synth.damage import (
    cracks,
    cracks_on_layer,
    crease,
    crumple,
    scuffs_and_scratches,
    shatter_layer,
    tear,
    water_stain,
)
from vision_models._synth.surfaces import screen_texture


def phone_layer(rng: np.random.Generator, W: int, H: int, label: str) -> Image.Image:
    s = min(W, H)
    ph = rng.uniform(0.55, 0.85) * s
    pw = ph * rng.uniform(0.46, 0.52)
    fw, fh = 200, 420
    body = np.asarray(
        rng.choice([(0.08, 0.08, 0.09), (0.85, 0.85, 0.87), (0.55, 0.5, 0.6), (0.2, 0.3, 0.45)]), np.float32
    )
    tex = np.broadcast_to(body, (fh, fw, 3)).copy()
    back = rng.random() < 0.25
    if back:
        tex *= (0.9 + 0.15 * fractal_noise(rng, fh, fw, base=2, octaves=2))[..., None]
        cam = draw_mask((fw, fh), lambda d: d.rounded_rectangle([14, 14, 80, 110], radius=14, fill=255))
        tex = tex * (1 - cam[..., None]) + 0.15 * cam[..., None]
        for cxy in ((47, 42), (47, 84)):
            lens = draw_mask(
                (fw, fh), lambda d: d.ellipse([cxy[0] - 14, cxy[1] - 14, cxy[0] + 14, cxy[1] + 14], fill=255)
            )
            tex = tex * (1 - lens[..., None]) + 0.03 * lens[..., None]
    else:
        bezel = int(fw * rng.uniform(0.03, 0.07))
        screen = screen_texture(rng, fw - 2 * bezel, fh - 2 * bezel)
        tex[bezel : fh - bezel, bezel : fw - bezel] = screen
    if label == "broken":
        cracks(rng, tex, rng.uniform(0.6, 1.4))
    elif label == "surface_damage":
        scuffs_and_scratches(rng, tex, int(rng.integers(6, 25)), int(rng.integers(0, 3)))
    alpha = draw_mask(
        (fw, fh), lambda d: d.rounded_rectangle([1, 1, fw - 2, fh - 2], radius=int(fw * 0.12), fill=255), blur=0.8
    )
    cx, cy = W / 2 + rng.uniform(-0.1, 0.1) * W, H / 2 + rng.uniform(-0.05, 0.05) * H
    angle = rng.uniform(-0.6, 0.6) + (np.pi / 2 if rng.random() < 0.2 else 0)
    tilt = rng.uniform(0.6, 1.0)
    corners = [(-pw / 2, -ph / 2), (pw / 2, -ph / 2), (pw / 2, ph / 2), (-pw / 2, ph / 2)]
    keystone = rng.uniform(-0.12, 0.12)
    quad = []
    for x, y in corners:
        x = x * (1 + keystone * (y / ph))
        quad.append(
            (
                cx + x * math.cos(angle) - y * math.sin(angle) * tilt,
                cy + x * math.sin(angle) + y * math.cos(angle) * tilt,
            )
        )
    return warp_onto(to_image(tex, alpha), quad, (W, H))


def ceramic_layer(rng: np.random.Generator, W: int, H: int, kind: str, label: str) -> Image.Image:
    """A mug, plate, drinking glass or bottle drawn with cylinder shading and a specular highlight."""
    s = min(W, H)
    colour = np.asarray(
        rng.choice(
            [
                (0.95, 0.95, 0.93),
                (0.9, 0.9, 0.88),
                (0.2, 0.35, 0.6),
                (0.7, 0.2, 0.2),
                (0.2, 0.2, 0.2),
                (0.9, 0.8, 0.5),
                (0.4, 0.6, 0.45),
            ]
        ),
        np.float32,
    )
    layer = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    cx, cy = W / 2 + rng.uniform(-0.1, 0.1) * W, H / 2 + rng.uniform(-0.05, 0.1) * H
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    transparent = kind in ("glass", "bottle") and rng.random() < 0.7
    if kind == "plate":
        rx = rng.uniform(0.28, 0.42) * s
        ry = rx * rng.uniform(0.45, 0.95)
        outer = draw_mask((W, H), lambda d: d.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=255), blur=0.8)
        inner = draw_mask(
            (W, H),
            lambda d: d.ellipse([cx - rx * 0.68, cy - ry * 0.68, cx + rx * 0.68, cy + ry * 0.68], fill=255),
            blur=2.5,
        )
        shade = 0.85 + 0.15 * (1 - inner) + 0.1 * (yy - cy) / ry * (1 - inner)
        rgb = colour[None, None] * shade[..., None]
        if rng.random() < 0.5:  # a painted rim band
            band = np.clip(
                outer
                - draw_mask(
                    (W, H), lambda d: d.ellipse([cx - rx * 0.9, cy - ry * 0.9, cx + rx * 0.9, cy + ry * 0.9], fill=255)
                ),
                0,
                1,
            )
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
            body = draw_mask(
                (W, H),
                lambda d: (
                    d.rounded_rectangle([x0, y0 + bh * 0.35, x0 + bw, y0 + bh], radius=int(bw * 0.2), fill=255),
                    d.polygon(
                        [
                            (x0, y0 + bh * 0.4),
                            (cx - neck_w / 2, y0 + bh * 0.15),
                            (cx + neck_w / 2, y0 + bh * 0.15),
                            (x0 + bw, y0 + bh * 0.4),
                        ],
                        fill=255,
                    ),
                    d.rectangle([cx - neck_w / 2, y0, cx + neck_w / 2, y0 + bh * 0.2], fill=255),
                ),
                blur=0.8,
            )
        else:
            body = draw_mask(
                (W, H),
                lambda d: (
                    d.rectangle([x0, y0, x0 + bw, y0 + bh], fill=255),
                    d.ellipse([x0, y0 + bh - ey, x0 + bw, y0 + bh + ey], fill=255),
                    d.ellipse([x0, y0 - ey, x0 + bw, y0 + ey], fill=255),
                ),
                blur=0.8,
            )
        u = np.clip((xx - x0) / bw, 0, 1)
        cyl = 0.55 + 0.5 * np.clip(np.sin(u * np.pi), 0, 1) ** 0.7
        hl_pos = rng.uniform(0.2, 0.4)
        highlight = np.exp(-((u - hl_pos) ** 2) / (2 * 0.03**2)) * 0.5
        if kind == "glass" or kind == "bottle":
            if kind == "bottle":
                colour = np.asarray(rng.choice([(0.25, 0.45, 0.25), (0.45, 0.28, 0.12), (0.8, 0.85, 0.85)]), np.float32)
        rgb = colour[None, None] * cyl[..., None] + highlight[..., None]
        alpha = body * (rng.uniform(0.35, 0.6) if transparent else 1.0)
        if kind in ("mug", "glass"):
            top_ellipse = draw_mask(
                (W, H),
                lambda d: d.ellipse([x0 + bw * 0.04, y0 - ey * 0.85, x0 + bw * 0.96, y0 + ey * 0.85], fill=255),
                blur=1,
            )
            rgb = rgb * (1 - top_ellipse[..., None] * 0.45)
            alpha = np.maximum(alpha, top_ellipse * (0.6 if transparent else 1.0))
        if kind == "mug":
            hx = x0 + bw if rng.random() < 0.6 else x0
            hr = bh * 0.25
            handle = draw_mask(
                (W, H),
                lambda d: d.ellipse(
                    [hx - hr, cy - hr * 1.2, hx + hr, cy + hr * 1.0], outline=255, width=max(3, int(hr * 0.28))
                ),
                blur=0.8,
            )
            handle *= 1 - body
            rgb = rgb * (1 - handle[..., None]) + colour * 0.8 * handle[..., None]
            alpha = np.maximum(alpha, handle)
            if rng.random() < 0.5:  # a printed motif, sometimes a photo print
                motif = draw_mask(
                    (W, H),
                    lambda d: d.rectangle([cx - bw * 0.3, cy - bh * 0.25, cx + bw * 0.25, cy + bh * 0.25], fill=255),
                    blur=1,
                )
                art = photo_patch(rng, H, W) if rng.random() < 0.6 else None
                art = rng.random(3) if art is None else art * cyl[..., None]
                rgb = rgb * (1 - motif[..., None]) + art * motif[..., None]
        if kind == "bottle" and rng.random() < 0.8:
            lab = draw_mask((W, H), lambda d: d.rectangle([x0, y0 + bh * 0.5, x0 + bw, y0 + bh * 0.8], fill=255))
            rgb = rgb * (1 - lab[..., None]) + (rng.random(3) * 0.6 + 0.3) * cyl[..., None] * lab[..., None]
            alpha = np.maximum(alpha, lab)
        bbox = (x0, y0, x0 + bw, y0 + bh)
    rgb = np.clip(rgb, 0, 1)
    if label == "surface_damage":
        x0, y0, x1, y1 = (int(v) for v in bbox)
        x0, y0 = max(x0, 0), max(y0, 0)
        sub = rgb[y0:y1, x0:x1]
        if sub.size:
            scuffs_and_scratches(rng, sub, int(rng.integers(4, 14)), int(rng.integers(1, 4)))
            if rng.random() < 0.5:  # a chip out of the rim
                ccx, ccy = rng.uniform(bbox[0], bbox[2]), bbox[1] + rng.uniform(0, 0.1) * (bbox[3] - bbox[1])
                chip = draw_mask(
                    (W, H), lambda d: d.polygon(ragged_blob(rng, ccx, ccy, s * 0.03, s * 0.02, rough=0.6), fill=255)
                )
                rgb = rgb * (1 - chip[..., None]) + 0.92 * chip[..., None]
    layer = to_image(rgb, alpha)
    if label == "broken":
        if kind in ("glass", "bottle") or rng.random() < 0.3:
            cracks_on_layer(rng, layer, bbox)
        layer = shatter_layer(rng, layer, bbox, pieces=int(rng.integers(2, 5)))
    return layer


def photo_layer(rng: np.random.Generator, W: int, H: int, label: str) -> Image.Image:
    """A real photograph on a printed surface or a screen filling most of the frame, damaged per label."""
    fw, fh = 320, 240
    tex = photo_patch(rng, fh, fw)
    if tex is None:
        tex = screen_texture(rng, fw, fh)
    tex = np.clip(tex * rng.uniform(0.8, 1.1) + rng.uniform(-0.05, 0.05), 0, 1)
    if label == "broken":
        cracks(rng, tex, rng.uniform(0.6, 1.5))
    elif label == "surface_damage":
        scuffs_and_scratches(rng, tex, int(rng.integers(5, 25)), int(rng.integers(0, 4)))
    elif label == "water_damage":
        water_stain(rng, tex)
    elif label == "crushed_packaging":
        crumple(rng, tex, rng.uniform(1.0, 2.2))
        for _ in range(int(rng.integers(2, 5))):
            crease(rng, tex, rng.uniform(0.7, 1.3))
    elif label == "torn_packaging":
        for _ in range(int(rng.integers(1, 3))):
            tear(rng, tex)
    elif rng.random() < 0.5:
        crumple(rng, tex, rng.uniform(0.0, 0.3))
    margin = rng.uniform(-0.05, 0.2)
    quad = [
        (W * (margin + rng.uniform(-0.04, 0.04)), H * (margin + rng.uniform(-0.04, 0.04))),
        (W * (1 - margin + rng.uniform(-0.04, 0.04)), H * (margin + rng.uniform(-0.04, 0.04))),
        (W * (1 - margin + rng.uniform(-0.04, 0.04)), H * (1 - margin + rng.uniform(-0.04, 0.04))),
        (W * (margin + rng.uniform(-0.04, 0.04)), H * (1 - margin + rng.uniform(-0.04, 0.04))),
    ]
    return warp_onto(to_image(tex, np.ones(tex.shape[:2])), quad, (W, H))
