"""Score a damage head on an ImageFolder directory of labelled photos.

    claimbot vision evaluate DIR [--json] [--weights PATH] [--confusion-png PATH]

(`python -m vision_models.evaluate` takes the same arguments: a thin layer over `evaluate_folder`, like the
claimbot command.)

Class folders named after the taxonomy labels are scored over the six labels (and in the binary view);
folders named `intact` and `damaged` are scored in the binary view only. Prints accuracy, per-class
precision and recall, the confusion matrix and the expected calibration error (ECE, 15 bins).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from vision_models.decode import DECODE_VERSION, decode_image
from vision_models.image_folder import scan_image_folder
from vision_models.labels import BINARY_LABELS, DAMAGE_LABELS
from vision_models.metrics import classification_report

BATCH = 16


def evaluate_folder(
    image_dir: str | os.PathLike, weights: str | os.PathLike | None = None, *, batch_size: int = BATCH
) -> dict:
    """Predict every photo under `image_dir` and score the predictions. Returns the report as a dict.

    Photos are decoded exactly as the serving intake decodes an upload (`vision_models.decode`). Raises
    FileNotFoundError for a missing folder or weights file, ValueError for a folder layout it cannot score.
    """
    from vision_models.classifier import load_damage_classifier  # torch: only when a model is needed

    paths, folder_labels, space = scan_image_folder(image_dir)
    clf = load_damage_classifier(weights)
    rows = []
    for i in range(0, len(paths), batch_size):
        images = [decode_image(p) for p in paths[i : i + batch_size]]
        rows.extend(clf.predict_batch(images))
    six = np.asarray([[p.probabilities[label] for label in DAMAGE_LABELS] for p in rows])
    if space == BINARY_LABELS:
        probs = np.stack([six[:, 0], 1 - six[:, 0]], axis=1)
        labels = np.asarray([BINARY_LABELS.index(lab) for lab in folder_labels])
    else:
        probs = six
        labels = np.asarray([DAMAGE_LABELS.index(lab) for lab in folder_labels])
    report = classification_report(labels, probs, space)
    report["image_dir"] = str(image_dir)
    report["model_version"] = clf.version
    report["decode"] = DECODE_VERSION
    report["mistakes"] = [
        {
            "path": str(path),
            "label": truth,
            "predicted": pred.label,
            "damaged_probability": round(pred.damaged_probability, 4),
        }
        for path, truth, pred in zip(paths, folder_labels, rows)
        if (truth in ("damaged", "intact") and (truth == "damaged") != (pred.damaged_probability >= 0.5))
        or (truth in DAMAGE_LABELS and truth != pred.label)
    ]
    return report


def format_report(report: dict) -> str:
    names = report["labels"]
    lines = [
        f"model {report['model_version']} on {report['image_dir']} ({report['n']} photos)",
        f"accuracy         {report['accuracy']:.4f}",
        f"binary accuracy  {report['binary_accuracy']:.4f}  (damaged vs intact)",
        f"ECE              {report['ece']:.4f}   binary ECE {report['binary_ece']:.4f}",
        "",
        f"{'label':<20}{'precision':>10}{'recall':>10}{'support':>9}",
    ]
    for name in names:
        row = report["per_class"][name]
        p = "-" if row["precision"] is None else f"{row['precision']:.3f}"
        r = "-" if row["recall"] is None else f"{row['recall']:.3f}"
        lines.append(f"{name:<20}{p:>10}{r:>10}{row['support']:>9}")
    lines += ["", "confusion (rows: true, columns: predicted)"]
    short = [n[:8] for n in names]
    lines.append(" " * 20 + "".join(f"{s:>9}" for s in short))
    for name, row in zip(names, report["confusion"]):
        lines.append(f"{name:<20}" + "".join(f"{v:>9}" for v in row))
    return "\n".join(lines)


def save_confusion_png(report: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = report["labels"]
    matrix = np.asarray(report["confusion"])
    fig, ax = plt.subplots(figsize=(1.2 * len(names) + 2, 1.0 * len(names) + 1.5))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(names)), names, rotation=35, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for (i, j), v in np.ndenumerate(matrix):
        ax.text(j, i, str(v), ha="center", va="center", color="white" if v > matrix.max() / 2 else "black")
    ax.set_title(f"accuracy {report['accuracy']:.3f}, binary {report['binary_accuracy']:.3f}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vision_models.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("image_dir", type=Path)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--weights", type=Path, help="head weights from vision_models.train (default: the shipped head)"
    )
    parser.add_argument("--confusion-png", type=Path, help="also draw the confusion matrix to this PNG")
    args = parser.parse_args(argv)
    try:
        report = evaluate_folder(args.image_dir, args.weights)
    except (OSError, ValueError) as exc:  # a missing folder or file, an unreadable photo, a bad layout
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.confusion_png:
        save_confusion_png(report, args.confusion_png)
    print(json.dumps(report) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
