"""Labelled photos in the ImageFolder layout: one folder per label, read by training and evaluation.

DIR/no_damage/*.jpg, DIR/broken/*.jpg, ...     scored over the six taxonomy labels
DIR/intact/*.jpg, DIR/damaged/*.jpg             scored in the binary view
"""

from __future__ import annotations

import os
from pathlib import Path

from vision_models.labels import BINARY_LABELS, DAMAGE_LABELS

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".heic", ".heif"}


def scan_image_folder(root: str | os.PathLike) -> tuple[list[Path], list[str], tuple[str, ...]]:
    """Paths, their folder labels, and the label space (taxonomy or binary) of an ImageFolder directory."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    names = {p.name for p in folders}
    if not names:
        raise ValueError(
            f"{root} has no class folders (expected e.g. {root}/no_damage/, {root}/broken/ or intact/, damaged/)"
        )
    if names <= set(BINARY_LABELS):
        space = BINARY_LABELS
    elif names <= set(DAMAGE_LABELS):
        space = DAMAGE_LABELS
    else:
        unknown = sorted(names - set(DAMAGE_LABELS) - set(BINARY_LABELS))
        raise ValueError(
            f"unknown class folders {unknown}: use the taxonomy labels {list(DAMAGE_LABELS)} or intact/damaged"
        )
    paths, labels = [], []
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
                paths.append(path)
                labels.append(folder.name)
    if not paths:
        raise ValueError(f"no images under {root}")
    return paths, labels, space
