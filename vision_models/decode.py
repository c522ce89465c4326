"""Reading a photo file: the one decode path shared by serving intake, training and evaluation.

    image = decode_image(path_or_bytes)   # oriented RGB, long side at most WORKING_SIDE
    image.info["original_size"]           # (width, height) of the photo itself, after EXIF orientation

Every consumer sees the same pixels: the serving intake (`claims.photos`, which feeds the perceptual hash,
the quality checks and the model), `python -m vision_models.train` and `python -m vision_models.evaluate`.
A head is therefore trained and scored on exactly the input it gets in production.

The steps are public so that `claims.photos` can put its own checks between them (format allow-list before
opening, pixel limit before decoding): `open_image` reads the header only, `load_reduced` decodes every byte
(a JPEG at reduced scale), `working_copy` applies the EXIF orientation, converts to RGB and caps the size.

Torch-free: the serving intake imports this module.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image

# A JPEG is decoded with DCT scaling (1/2, 1/4 or 1/8) as long as both sides stay at least DRAFT_SIDE: the
# quality checks and the perceptual hash measure a 512 px copy, the model reads 224 px. A 4000x3000 photo
# decodes at 1000x750, about three times faster than at 1/2 and far less memory than at full size.
DRAFT_SIDE = 512
# The decoded copy is at most this long on its long side (a large PNG, WEBP or HEIC is shrunk after decoding).
WORKING_SIDE = 1024
# Changes whenever the pixels `decode_image` produces could change; training keys its feature cache on it.
DECODE_VERSION = f"draft{DRAFT_SIDE}-max{WORKING_SIDE}-v2"

TAG_ORIENTATION = 0x0112

ImageSource = str | os.PathLike | bytes | bytearray | memoryview | BinaryIO

_heif_lock = threading.Lock()
_heif_available: bool | None = None


def register_heif() -> bool:
    """Let Pillow open HEIC/HEIF photos (iPhones) through pillow-heif, once per process; False if it is missing."""
    global _heif_available
    with _heif_lock:
        if _heif_available is None:
            try:
                from pillow_heif import register_heif_opener
            except ImportError:
                _heif_available = False
            else:
                register_heif_opener()
                _heif_available = True
        return _heif_available


def open_image(source: ImageSource, *, formats: Sequence[str] | None = None) -> Image.Image:
    """Open a photo lazily (header only; nothing is decoded yet). `formats` restricts Pillow to those plugins.

    Raises what `PIL.Image.open` raises (OSError for an unreadable file, DecompressionBombError, ...).
    """
    if formats is None or "HEIF" in formats:
        register_heif()
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(source)
    elif isinstance(source, (str, os.PathLike)):
        source = Path(source)
    return Image.open(source, formats=list(formats) if formats is not None else None)


def plan_decode(image: Image.Image) -> tuple[int, int]:
    """Choose how an opened photo will be decoded (a JPEG at reduced scale) and return the size it will
    decode at: what decoding it costs in memory, known before a byte of pixels is decoded."""
    if image.format == "JPEG":
        image.draft("RGB", (DRAFT_SIDE, DRAFT_SIDE))
    return image.size


def load_reduced(image: Image.Image) -> Image.Exif:
    """Decode all of an opened photo in place, a JPEG at reduced scale; return its EXIF.

    Every byte is read, so a truncated or corrupt file fails here. Raises what `Image.load` raises.
    """
    plan_decode(image)
    image.load()
    return image.getexif()  # after load: for PNG, reading EXIF may read the rest of the file


def oriented_size(size: tuple[int, int], exif: Image.Exif) -> tuple[int, int]:
    """`size` as the photo is displayed: swapped when its EXIF orientation turns it by 90 degrees."""
    width, height = size
    return (height, width) if exif.get(TAG_ORIENTATION, 1) in (5, 6, 7, 8) else (width, height)


def working_copy(image: Image.Image, exif: Image.Exif, original_size: tuple[int, int]) -> Image.Image:
    """The loaded photo in its EXIF orientation, RGB, long side at most WORKING_SIDE; a new image.

    `original_size` is the size the header announced (before reduced decoding); the copy carries it,
    oriented, in `info["original_size"]`. The photo is shrunk first, so turning and converting it never
    copy a full-size image: a large PNG costs its decoded pixels once, not three times.
    """
    oriented = to_rgb(_shrunk(image))
    turn = _TURNS.get(exif.get(TAG_ORIENTATION, 1))
    if turn is not None:
        oriented = oriented.transpose(turn)
    if oriented is image:
        oriented = image.copy()  # never hand back the caller's image
    oriented.info["original_size"] = oriented_size(original_size, exif)
    return oriented


# EXIF orientation -> the transpose that shows the photo upright (as `ImageOps.exif_transpose` applies it)
_TURNS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_RESIZABLE_MODES = {"RGB", "RGBA", "L", "LA"}


def _shrunk(image: Image.Image) -> Image.Image:
    """`image` itself when its long side is at most WORKING_SIDE, else a new copy that size."""
    if max(image.size) <= WORKING_SIDE:
        return image
    if image.mode not in _RESIZABLE_MODES:
        image = to_rgb(image)  # palette, 1-bit and 16-bit images cannot be resampled as they are
    width, height = image.size
    scale = WORKING_SIDE / max(width, height)
    target = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(target, Image.Resampling.BILINEAR, reducing_gap=2.0)


def decode_image(source: ImageSource, *, formats: Sequence[str] | None = None) -> Image.Image:
    """Open, fully decode and orient a photo: the image every consumer of a photo file works on.

    Raises OSError (or another Pillow error) when the file is not a readable image or is cut short.
    """
    image = open_image(source, formats=formats)
    original_size = image.size
    exif = load_reduced(image)
    return working_copy(image, exif, original_size)


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any PIL mode to RGB; transparent pixels become white, as a viewer would show them."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit grey (PNG, TIFF): Pillow's own conversion clips at 255, which turns most photos white.
        array = np.asarray(image, dtype=np.float32)
        high = float(array.max()) or 1.0
        return Image.fromarray((array / high * 255).astype(np.uint8)).convert("RGB")
    if image.mode == "F":
        array = np.asarray(image, dtype=np.float32)
        low, high = float(array.min()), float(array.max())
        scale = (high - low) or 1.0
        return Image.fromarray(((array - low) / scale * 255).astype(np.uint8)).convert("RGB")
    return image.convert("RGB")
