"""Packaging renderers: corrugated shipping boxes, printed retail boxes and mailer bags, intact or damaged.

A box is three faces (top, front, side) painted flat with cardboard, tape, a shipping label and carton
printing, damaged per label (collapsed corners, creases, tears, an open top with its flaps, water stains,
scuffs), then warped into place. A mailer is a wrinkled poly or kraft bag lying flat. Each renderer returns
an RGBA layer the size of the canvas.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from vision_models._synth.backdrops import photo_patch
from vision_models._synth.canvas import draw_mask, fractal_noise, is_convex, to_image, warp_onto
from vision_models._synth.damage import crease, crumple, dent_layer, scuffs_and_scratches, tear, water_stain
from vision_models._synth.surfaces import cardboard, draw_label, draw_tape, print_marks, ribbon

CARDBOARD_COLOURS = [(0.72, 0.55, 0.37), (0.66, 0.50, 0.33), (0.78, 0.62, 0.44), (0.60, 0.45, 0.30), (0.85, 0.80, 0.72)]


def box_layer(rng: np.random.Generator, W: int, H: int, label: str, retail: bool) -> Image.Image:
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
        if not all(is_convex(q) for q in (front, top, side)):
            front, top, side = original

    colour = CARDBOARD_COLOURS[int(rng.integers(len(CARDBOARD_COLOURS)))]
    print_colour = np.asarray(rng.random(3) * 0.8 + 0.1, np.float32)
    faces = {}
    light = rng.permutation([1.05, 0.9, 0.72])
    for name, quad, shade in (("top", top, light[0]), ("front", front, light[1]), ("side", side, light[2])):
        fw, fh = 256, 192
        tex = cardboard(rng, fw, fh, colour, shade)
        if retail:
            # printed retail packaging: a colour field with a product panel and text blocks
            tex = tex * 0.15 + print_colour * shade * 0.85
            panel = (
                photo_patch(rng, int(fh * 0.7) - int(fh * 0.2), int(fw * 0.55) - int(fw * 0.1))
                if rng.random() < 0.6
                else None
            )
            if panel is None:
                panel = np.clip(1 - print_colour, 0, 1)
            tex[int(fh * 0.2) : int(fh * 0.7), int(fw * 0.1) : int(fw * 0.55)] = panel * shade
            for _ in range(4):
                yy0 = int(rng.uniform(0.1, 0.85) * fh)
                xx0 = int(rng.uniform(0.6, 0.7) * fw)
                tex[yy0 : yy0 + 6, xx0 : xx0 + int(fw * 0.25)] = 0.95 * shade
        faces[name] = tex
    tape_vertical = bool(rng.random() < 0.5)
    if not retail:
        draw_tape(rng, faces["top"], vertical=tape_vertical, broken=label == "torn_packaging" and rng.random() < 0.5)
        if tape_vertical:
            draw_tape(rng, faces["front"], vertical=True)
        if rng.random() < 0.75:
            draw_label(rng, faces["top" if rng.random() < 0.5 else "front"])
    if not retail and rng.random() < 0.5:
        print_marks(rng, faces["side" if rng.random() < 0.5 else "front"])
    for name in faces:
        crumple(rng, faces[name], rng.uniform(0.8, 2.2) if crushed else rng.uniform(0.05, 0.5))
    if crushed:
        for name in ("top", "front", "side"):
            for _ in range(int(rng.integers(1, 4))):
                crease(rng, faces[name], rng.uniform(0.6, 1.2))
    elif label == "torn_packaging":
        targets = rng.choice(["top", "front", "side"], size=int(rng.integers(1, 3)), replace=False)
        for name in targets:
            tear(rng, faces[name])
    elif label == "water_damage":
        for name in ("front", "side", "top"):
            if name != "top" or rng.random() < 0.5:
                water_stain(rng, faces[name])
    elif label == "surface_damage":
        for name in faces:
            scuffs_and_scratches(rng, faces[name], int(rng.integers(4, 15)), int(rng.integers(1, 4)))
    elif rng.random() < 0.4:
        # intact boxes get a scuff or two from handling, which is not damage
        scuffs_and_scratches(rng, faces["front" if rng.random() < 0.5 else "side"], 0, int(rng.integers(1, 3)))
    if retail and rng.random() < 0.3:
        # a gift ribbon: shiny folds that are not creases
        for name, vertical in (("top", True), ("top", False), ("front", True)):
            ribbon(rng, faces[name], vertical)

    layer = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    open_top = label == "torn_packaging" and rng.random() < 0.45
    for name, quad in (("side", side), ("front", front), ("top", top)):
        tex = faces[name]
        if name == "top" and open_top:
            # The inside of the box (dark, shadowed) with the flaps standing open.
            inside = cardboard(rng, 256, 192, colour, 0.35)
            inside *= np.linspace(0.6, 1.1, 192, dtype=np.float32)[:, None, None]
            tex = inside
        warped = warp_onto(to_image(tex, np.ones(tex.shape[:2])), quad, (W, H))
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
                flap = [
                    pa,
                    pb,
                    (pb[0] + ox * lift, pb[1] + oy * lift - depth * 0.4 * rng.random()),
                    (pa[0] + ox * lift, pa[1] + oy * lift - depth * 0.4 * rng.random()),
                ]
                tex = cardboard(rng, 256, 128, colour, rng.uniform(0.7, 1.1))
                layer = Image.alpha_composite(layer, warp_onto(to_image(tex, np.ones(tex.shape[:2])), flap, (W, H)))
    if crushed and rng.random() < 0.7:
        layer = dent_layer(rng, layer, (cx, cy), s * rng.uniform(0.1, 0.25))
    return layer


def mailer_layer(rng: np.random.Generator, W: int, H: int, label: str) -> Image.Image:
    """A plastic mailer bag or padded kraft envelope lying flat, with wrinkles."""
    s = min(W, H)
    mw, mh = rng.uniform(0.45, 0.7) * s, rng.uniform(0.35, 0.55) * s
    cx, cy = W / 2 + rng.uniform(-0.1, 0.1) * W, H / 2 + rng.uniform(-0.08, 0.08) * H
    fw, fh = 320, 240
    kind = "kraft" if label == "water_damage" else rng.choice(["poly", "kraft"])
    base = np.asarray(
        rng.choice([(0.85, 0.85, 0.86), (0.3, 0.3, 0.32), (0.8, 0.7, 0.5) if kind == "kraft" else (0.6, 0.75, 0.9)]),
        np.float32,
    )
    wrinkles = fractal_noise(rng, fh, fw, base=6, octaves=4)
    gx = np.gradient(wrinkles, axis=1) * rng.uniform(6, 14)
    tex = base[None, None] * (0.88 + 0.25 * gx + 0.05 * wrinkles)[..., None]
    if kind == "poly":
        tex = tex + 0.25 * np.clip(gx, 0, None)[..., None] ** 2 * 20
    draw_label(rng, tex)
    if label == "crushed_packaging":
        for _ in range(int(rng.integers(3, 7))):
            crease(rng, tex, rng.uniform(0.8, 1.4))
    elif label == "torn_packaging":
        for _ in range(int(rng.integers(1, 3))):
            tear(rng, tex)
    elif label == "water_damage":
        water_stain(rng, tex)
    alpha = draw_mask((fw, fh), lambda d: d.rounded_rectangle([2, 2, fw - 3, fh - 3], radius=8, fill=255), blur=0.8)
    angle = rng.uniform(-0.5, 0.5)
    corners = [(-mw / 2, -mh / 2), (mw / 2, -mh / 2), (mw / 2, mh / 2), (-mw / 2, mh / 2)]
    squash = rng.uniform(0.7, 1.0)
    quad = [
        (
            cx + x * math.cos(angle) - y * math.sin(angle) + rng.normal(0, 0.02 * s),
            cy + (x * math.sin(angle) + y * math.cos(angle)) * squash + rng.normal(0, 0.02 * s),
        )
        for x, y in corners
    ]
    return warp_onto(to_image(np.clip(tex, 0, 1), alpha), quad, (W, H))
