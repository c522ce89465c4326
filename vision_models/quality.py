"""Photo quality checks: too dark, too blurry, too small, nearly uniform.

Sharpness is the variance of the Laplacian of a grey copy resized to a fixed working size, so the number
means the same for a 12-megapixel phone photo and for its thumbnail. The default thresholds were
calibrated on the generated 640 px photos (tests/test_quality.py keeps them honest): every sharp scene,
including soft, low-contrast studio shots, scores above `blur_sharpness` (lowest seen: 13.6; typical
50-1000); the same scenes blurred with a Gaussian of radius 3 px score 1.4-3.8. A normal phone photo
of a parcel on a floor scores in the hundreds.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

# The long side of the grey copy every measurement is taken on.
WORKING_SIDE = 512

ISSUES = ("too_dark", "too_blurry", "too_small", "nearly_uniform")


def check_quality(
    image: Image.Image,
    *,
    min_side: int = 224,
    dark_brightness: float = 40.0,
    blur_sharpness: float = 12.0,
    uniform_stddev: float = 6.0,
    original_size: tuple[int, int] | None = None,
) -> dict:
    """Measure one photo and list what is wrong with it.

    Returns `{"width", "height", "brightness", "sharpness", "contrast", "issues"}`. `width` and `height` are of
    the original photo: pass `original_size` when `image` is a reduced (draft-decoded) copy; an image from
    `vision_models.decode.decode_image` carries it in `image.info["original_size"]`, used by default.
    """
    if not isinstance(image, Image.Image):
        raise TypeError(f"expected a PIL image, got {type(image).__name__}")
    if original_size is None:
        original_size = image.info.get("original_size")
    width, height = original_size if original_size is not None else image.size
    grey = _working_grey(image)
    luma = np.asarray(grey, dtype=np.float32)
    brightness = float(luma.mean())
    contrast = float(luma.std())
    sharpness = _laplacian_variance(grey)

    issues: list[str] = []
    if brightness < dark_brightness:
        issues.append("too_dark")
    if contrast < uniform_stddev:
        issues.append("nearly_uniform")
    elif sharpness < blur_sharpness:
        # A uniform photo is also "blurry"; report only the more telling issue.
        issues.append("too_blurry")
    if min(width, height) < min_side:
        issues.append("too_small")
    return {
        "width": int(width),
        "height": int(height),
        "brightness": round(brightness, 2),
        "sharpness": round(sharpness, 2),
        "contrast": round(contrast, 2),
        "issues": issues,
    }


def _working_grey(image: Image.Image) -> Image.Image:
    grey = image.convert("L") if image.mode != "L" else image
    w, h = grey.size
    scale = WORKING_SIDE / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return grey.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


def _laplacian_variance(grey: Image.Image) -> float:
    if min(grey.size) < 3:
        return 0.0
    # Float math on the raw Laplacian; PIL's 8-bit kernel output would clip strong edges.
    a = np.asarray(grey, dtype=np.float32)
    lap = a[:-2, 1:-1] + a[2:, 1:-1] + a[1:-1, :-2] + a[1:-1, 2:] - 4.0 * a[1:-1, 1:-1]
    return float(lap.var())
