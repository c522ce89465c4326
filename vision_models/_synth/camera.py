"""From a composed scene to a photo: shadows, room lighting and the phone camera.

An object layer is laid on the backdrop with a soft drop shadow and a contact shadow; the room adds a light
gradient, vignetting and a white-balance cast; the camera then sometimes zooms in, adds perspective and
framing, defocus or sharpening, signal-dependent sensor noise, a gamma change and JPEG compression.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage

from vision_models._synth.canvas import Array, from_image, perspective_coeffs, to_image


def _blurred_shift(mask: Image.Image, offset: tuple[float, float], blur: float) -> Array:
    """An L mask moved by (dy, dx) pixels and blurred: a soft shadow (PIL's blur is much faster than scipy's)."""
    dy, dx = offset
    moved = mask.transform(mask.size, Image.Transform.AFFINE, (1, 0, -dx, 0, 1, -dy), Image.Resampling.BILINEAR)
    return np.asarray(moved.filter(ImageFilter.GaussianBlur(max(blur, 0.1))), np.float32) / 255.0


def composite_with_shadow(rng: np.random.Generator, bg: Array, layer: Image.Image) -> Array:
    rgb, alpha = from_image(layer)
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


def apply_lighting(rng: np.random.Generator, img: Array) -> Array:
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * (xx / w - 0.5) + np.sin(angle) * (yy / h - 0.5)
    light = 1.0 + rng.uniform(0.1, 0.5) * ramp
    r2 = ((xx / w - 0.5) ** 2 + (yy / h - 0.5) ** 2) * 2
    light *= 1.0 - rng.uniform(0.0, 0.35) * r2
    warm = rng.uniform(-0.08, 0.1)
    wb = np.array([1 + warm, 1.0, 1 - warm * 1.2], np.float32) * rng.uniform(0.75, 1.15)
    return img * light[..., None] * wb


def capture(rng: np.random.Generator, img: Array, out_size: tuple[int, int], jpeg: bool = True) -> Image.Image:
    h, w = img.shape[:2]
    pil = to_image(img)
    if rng.random() < 0.35:
        # a close-up: people photograph the damage, not the whole parcel
        zoom = rng.uniform(1.2, 1.8)
        cw, ch = int(w / zoom), int(h / zoom)
        x0 = int(rng.uniform(0.2, 0.8) * (w - cw))
        y0 = int(rng.uniform(0.2, 0.8) * (h - ch))
        pil = pil.crop((x0, y0, x0 + cw, y0 + ch)).resize((w, h), Image.Resampling.BICUBIC)
    # perspective and framing: a slightly off-square, slightly zoomed capture
    jitter = 0.06 * min(w, h)
    src = [
        (rng.uniform(0, jitter), rng.uniform(0, jitter)),
        (w - rng.uniform(0, jitter), rng.uniform(0, jitter)),
        (w - rng.uniform(0, jitter), h - rng.uniform(0, jitter)),
        (rng.uniform(0, jitter), h - rng.uniform(0, jitter)),
    ]
    coeffs = perspective_coeffs([(0, 0), (w, 0), (w, h), (0, h)], src)
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
    pil = to_image(a)
    if jpeg:
        buf = io.BytesIO()
        pil.save(buf, "JPEG", quality=int(rng.integers(55, 95)))
        buf.seek(0)
        pil = Image.open(buf).convert("RGB")
    return pil
