"""Train the damage head on labelled photos and/or generated scenes; calibrate it; write weights + model card.

    claimbot vision train DIR --out out/head.pt             # a merchant's own photos
    claimbot vision train --synthetic --out vision_models/weights/damage_head.pt   # the shipped head

(`python -m vision_models.train` takes the same arguments: a thin layer over `train`, like the claimbot command.)

DIR is an ImageFolder layout: one folder per label, named after the taxonomy labels (`no_damage`,
`crushed_packaging`, ...) or `intact` and `damaged` (which trains a binary head). The backbone stays
frozen; its pooled features are computed once per photo and per augmented view and cached on disk, so
a second run over the same photos takes seconds. A stratified split of the photos is held out: the head
is fitted on the rest (regularisation chosen by grouped cross-validation), its temperature is fitted on
the held-out photos (on the out-of-fold logits when fewer than 30 are held out), it is scored on the
held-out photos, and finally refitted on every photo with the same regularisation and temperature.

This module is the entry point (`train`, `main`) and re-exports the training API; the parts live in
`vision_models._training`: `feature_cache` (backbone features on disk), `datasets` (photo folders, generated
scenes, the held-out split), `head_fitting` (the linear head), `fine_tuning` (the backbone's last blocks) and
`calibration` (held-out temperature and scores). Serving code never imports any of them.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from vision_models._training import datasets
from vision_models._training.calibration import MIN_PHOTOS_FOR_HELDOUT_TEMPERATURE, calibrate_and_score
from vision_models._training.datasets import Dataset, stratified_split, synth_version, synthetic_dataset
from vision_models._training.feature_cache import FeatureCache, block_inputs, embed, frozen_features
from vision_models._training.fine_tuning import (
    MAPS_KIND,
    TUNE_BATCH,
    TUNE_DROPOUT,
    TUNE_EPOCHS,
    TUNE_HEAD_LR,
    TUNE_LR,
    fine_tune,
    fit_tuned,
)
from vision_models._training.head_fitting import L2_GRID, Fit, fit_head, fit_linear, head_logits
from vision_models.backbone import BACKBONE_NAME, PREPROCESSING
from vision_models.decode import DECODE_VERSION
from vision_models.features import FEATURE_KIND, TUNED_FROM
from vision_models.labels import BINARY_LABELS, DAMAGE_LABELS

__all__ = [
    "DEFAULT_CACHE",
    "DEFAULT_SYNTHETIC",
    "L2_GRID",
    "MAPS_KIND",
    "MIN_PHOTOS_FOR_HELDOUT_TEMPERATURE",
    "TUNE_BATCH",
    "TUNE_DROPOUT",
    "TUNE_EPOCHS",
    "TUNE_HEAD_LR",
    "TUNE_LR",
    "Dataset",
    "FeatureCache",
    "Fit",
    "fine_tune",
    "fit_head",
    "fit_linear",
    "fit_tuned",
    "folder_dataset",
    "frozen_features",
    "head_logits",
    "main",
    "stratified_split",
    "synthetic_dataset",
    "train",
]

DEFAULT_CACHE = Path(os.environ.get("CLAIMBOT_FEATURE_CACHE", "/tmp/claimbot-features"))
DEFAULT_SYNTHETIC = 1800

# Earlier names of three helpers, kept for code that imported them from here.
_block_inputs = block_inputs
_embed = embed
_synth_version = synth_version


def folder_dataset(root, views: int, seed: int, cache: FeatureCache, log, maps: bool = False) -> Dataset:
    """Every photo under `root` as taken plus `views - 1` augmented copies (`_training.datasets.folder_dataset`).
    Pooled features go through this module's `_embed`, looked up at call time: tests/test_decode.py replaces it
    to see exactly the images training hands the backbone."""
    return datasets.folder_dataset(root, views, seed, cache, log, maps=maps, embed_images=lambda images: _embed(images))


def _quiet(message: str) -> None:
    pass


def train(
    image_dir: str | os.PathLike | None = None,
    out: str | os.PathLike = "out/damage_head.pt",
    *,
    synthetic: int = 0,
    views: int = 4,
    holdout: float = 0.2,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = DEFAULT_CACHE,
    tune: bool | None = None,
    log: Callable[[str], object] = _quiet,
    command: str | None = None,
) -> dict:
    """Train, evaluate on a held-out split, refit on everything, write `out` and `out` with .json. Returns the card.

    `tune` (default: on for an image folder without synthetic scenes) also fine-tunes the backbone's last
    blocks on the photos; otherwise the backbone stays frozen and only the linear head is fitted. Progress
    lines go to `log` (silent by default); `command` is recorded in the card as the command that ran.
    Raises FileNotFoundError for a missing folder and ValueError for a layout or an option it cannot use."""
    started = time.perf_counter()
    if image_dir is None and not synthetic:
        raise ValueError("give an image folder, or synthetic scenes (--synthetic), or both")
    if views < 1:
        raise ValueError("views must be at least 1")
    if not 0 <= holdout < 1:
        raise ValueError("holdout must be in [0, 1)")
    if tune is None:
        tune = image_dir is not None and not synthetic
    if tune and (image_dir is None or synthetic):
        raise ValueError("fine-tuning the last blocks needs an image folder and no synthetic scenes")
    cache = FeatureCache(cache_dir, MAPS_KIND if tune else FEATURE_KIND)
    parts: list[Dataset] = []
    space = DAMAGE_LABELS
    if image_dir is not None:
        log(f"reading {image_dir}")
        parts.append(folder_dataset(image_dir, views, seed, cache, log, maps=tune))
        space = parts[0].label_names
    if synthetic:
        log(f"generating {synthetic} synthetic scenes")
        parts.append(synthetic_dataset(synthetic, seed, cache, log, space))
    # Held-out photos come from the merchant's own photos when there are any: that is what matters to them.
    pool = parts[0]
    pool_photos, pool_y = pool.photo_labels()
    _, held_local = stratified_split(pool_y, holdout, seed)
    held = pool_photos[held_local]
    parts_train = [pool.subset(np.setdiff1d(pool_photos, held))] + parts[1:]
    data_train = Dataset.concat(parts_train)
    n_train = int(data_train.first.sum())
    log(f"fitting on {n_train} photos ({len(data_train.labels)} views), holding out {len(held)}")
    if tune:
        fit, probe = fit_tuned(data_train, seed=seed, log=log)
    else:
        fit, probe = fit_head(data_train, seed=seed, log=log), None
    metrics = {}
    if len(held):
        metrics = calibrate_and_score(fit, probe, pool.subset(held), space)
        log(
            f"held-out: accuracy {metrics['accuracy']:.3f}, binary accuracy {metrics['binary_accuracy']:.3f}, "
            f"ECE {metrics['ece']:.3f} (before temperature {metrics['ece_before_temperature']:.3f})"
        )
    own = sum(int(p.first.sum()) for p in parts if p.real)
    scenes = sum(int(p.first.sum()) for p in parts if not p.real)
    all_data = Dataset.concat(parts)
    # Final head: every photo, same regularisation and temperature.
    if tune:
        final, _ = fit_tuned(all_data, seed=seed, l2=fit.l2, log=log)
    else:
        final = fit_head(all_data, seed=seed, l2_grid=(fit.l2,), folds=1)
    final.head.temperature = fit.head.temperature
    out = Path(out)
    version = f"{out.stem}-{_dt.datetime.now(_dt.UTC).strftime('%Y%m%d%H%M')}"
    final.head.version = version
    final.head.save(out)
    card: dict[str, Any] = {
        "version": version,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "labels": list(space),
        "binary": space == BINARY_LABELS,
        "backbone": BACKBONE_NAME,
        "feature_kind": final.head.feature_kind,
        "preprocessing": PREPROCESSING.to_dict(),
        "decode": DECODE_VERSION,
        "data": {
            "image_dir": str(image_dir) if image_dir is not None else None,
            "own_photos": own,
            "synthetic_scenes": scenes,
            "synth_version": synth_version() if synthetic else None,
            "per_class": {name: int((all_data.labels[all_data.first] == i).sum()) for i, name in enumerate(space)},
            "views_per_photo": views,
        },
        "training": {
            "heldout_fraction": holdout,
            "heldout_photos": int(len(held)),
            "l2": fit.l2,
            "fine_tuned": {
                "blocks": f"{TUNED_FROM}-15 and the head conv",
                "epochs": TUNE_EPOCHS,
                "lr": TUNE_LR,
                "batch": TUNE_BATCH,
                "dropout": TUNE_DROPOUT,
            }
            if tune
            else None,
            "temperature": round(fit.head.temperature, 4),
            "seed": seed,
            "seconds": round(time.perf_counter() - started, 1),
            "command": command,
        },
        "metrics_heldout": metrics,
    }
    out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    log(f"wrote {out} and {out.with_suffix('.json')} in {card['training']['seconds']} s")
    return card


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vision_models.train", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "image_dir", nargs="?", type=Path, help="ImageFolder directory (taxonomy or intact/damaged folders)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="where to write the head weights (.pt; the card goes beside it as .json)",
    )
    parser.add_argument(
        "--synthetic",
        nargs="?",
        type=int,
        const=DEFAULT_SYNTHETIC,
        default=0,
        metavar="N",
        help=f"also train on N generated scenes (default {DEFAULT_SYNTHETIC} when the flag is given)",
    )
    parser.add_argument("--views", type=int, default=4, help="augmented views per photo (first is the photo itself)")
    parser.add_argument("--holdout", type=float, default=0.2, help="fraction of photos held out for metrics")
    parser.add_argument(
        "--tune",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also fine-tune the backbone's last two blocks (default: on for an image folder alone, "
        "off with --synthetic)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="feature cache directory")
    parser.add_argument("--no-cache", action="store_true")
    args = parser.parse_args(argv)
    if args.image_dir is None and not args.synthetic:
        parser.error("give an image folder, --synthetic, or both")
    if not 0 <= args.holdout < 1:
        parser.error("--holdout must be in [0, 1)")
    command = " ".join(["python -m vision_models.train", *(argv if argv is not None else sys.argv[1:])])
    try:
        train(
            args.image_dir,
            args.out,
            synthetic=args.synthetic,
            views=args.views,
            holdout=args.holdout,
            seed=args.seed,
            cache_dir=None if args.no_cache else args.cache,
            tune=args.tune,
            log=print,
            command=command,
        )
    except (OSError, ValueError) as exc:  # a missing folder or file, an unreadable photo, a bad layout
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
