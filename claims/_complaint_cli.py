"""`python -m claims.complaint evaluate FILE.csv [--json]` and `python -m claims.complaint train`.

Evaluation columns: `text` plus any of `intent` (refund / replacement / unspecified), `wants_human`,
`frustrated` (1/0, true/false, yes/no), `damage_types` (`;`-separated taxonomy labels) and `sentiment`
(pos / neg / neu; only pos and neg rows count for the sign accuracy).
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from vision_models.labels import DAMAGE_LABELS

_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}


class CsvError(ValueError):
    """The evaluation or training file cannot be read as a labelled corpus."""


def parse_bool(value: str, *, row: int, column: str) -> bool:
    v = (value or "").strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise CsvError(f"row {row}: column {column!r} must be 1/0, true/false or yes/no, not {value!r}")


def parse_damage(value: str, *, row: int) -> tuple[str, ...]:
    labels = tuple(sorted({p.strip() for p in (value or "").split(";") if p.strip()}))
    unknown = [lbl for lbl in labels if lbl not in DAMAGE_LABELS]
    if unknown:
        raise CsvError(f"row {row}: unknown damage label(s) {unknown}; use {', '.join(DAMAGE_LABELS)}")
    return labels


def read_rows(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or "text" not in reader.fieldnames:
                raise CsvError(f"{path}: needs a 'text' column (found {reader.fieldnames})")
            return list(reader)
    except FileNotFoundError as exc:
        raise CsvError(f"{path}: no such file") from exc


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "support": tp + fn, "tp": tp, "fp": fp, "fn": fn}


def _binary_scores(truth: Iterable[bool], pred: Iterable[bool]) -> dict[str, float]:
    tp = fp = fn = 0
    for t, p in zip(truth, pred):
        tp += t and p
        fp += p and not t
        fn += t and not p
    return prf(tp, fp, fn)


def evaluate_rows(rows: Sequence[dict[str, str]], analyses: Sequence) -> dict:
    """Precision, recall, F1 per signal for the labelled columns present in `rows`."""
    columns = set(rows[0]) if rows else set()
    report: dict = {"n": len(rows), "signals": {}}
    sig = report["signals"]
    if "intent" in columns:
        truth = [(r["intent"] or "unspecified").strip().lower() for r in rows]
        for i, t in enumerate(truth):
            if t not in ("refund", "replacement", "unspecified"):
                raise CsvError(f"row {i + 2}: intent must be refund, replacement or unspecified, not {t!r}")
        pred = [a.intent for a in analyses]
        for cls in ("refund", "replacement"):
            sig[f"intent_{cls}"] = _binary_scores([t == cls for t in truth], [p == cls for p in pred])
        report["intent_accuracy"] = round(float(np.mean([t == p for t, p in zip(truth, pred)])), 4) if rows else 0.0
    for col in ("wants_human", "frustrated"):
        if col in columns:
            truth = [parse_bool(r[col], row=i + 2, column=col) for i, r in enumerate(rows)]
            sig[col] = _binary_scores(truth, [getattr(a, col) for a in analyses])
    if "damage_types" in columns:
        truth_sets = [set(parse_damage(r["damage_types"], row=i + 2)) for i, r in enumerate(rows)]
        pred_sets = [set(a.damage_types) for a in analyses]
        tp = fp = fn = 0
        for label in DAMAGE_LABELS:
            s = _binary_scores([label in t for t in truth_sets], [label in p for p in pred_sets])
            sig[f"damage_{label}"] = s
            tp, fp, fn = tp + s["tp"], fp + s["fp"], fn + s["fn"]
        sig["damage_types"] = prf(tp, fp, fn)  # micro-averaged over labels
    if "sentiment" in columns:
        pairs = [(r["sentiment"].strip().lower(), a.sentiment) for r, a in zip(rows, analyses)]
        signed = [(t, s) for t, s in pairs if t in ("pos", "neg")]
        correct = sum((t == "pos" and s > 0) or (t == "neg" and s < 0) for t, s in signed)
        report["sentiment_sign_accuracy"] = round(correct / len(signed), 4) if signed else None
        report["sentiment_sign_support"] = len(signed)
    return report


def format_report(report: dict) -> str:
    lines = [f"messages: {report['n']}", f"{'signal':<26}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}"]
    for name, s in report["signals"].items():
        lines.append(f"{name:<26}{s['precision']:>10.3f}{s['recall']:>10.3f}{s['f1']:>10.3f}{s['support']:>9}")
    if "intent_accuracy" in report:
        lines.append(f"intent accuracy: {report['intent_accuracy']:.3f}")
    if report.get("sentiment_sign_accuracy") is not None:
        lines.append(
            f"sentiment sign accuracy: {report['sentiment_sign_accuracy']:.3f} "
            f"(on {report['sentiment_sign_support']} pos/neg messages)"
        )
    return "\n".join(lines)


def evaluate_file(path: Path, where: str | None = None) -> dict:
    from claims.complaint import MODEL_VERSION, analyze_complaints

    rows = read_rows(path)
    if where:
        column, sep, value = where.partition("=")
        if not sep or column not in rows[0]:
            raise CsvError(f"--where needs COLUMN=VALUE with a column of {path.name}, not {where!r}")
        rows = [r for r in rows if r[column] == value]
        if not rows:
            raise CsvError(f"no row of {path.name} has {where}")
    analyses = analyze_complaints([r["text"] for r in rows])
    report = evaluate_rows(rows, analyses)
    report["model_version"] = MODEL_VERSION
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m claims.complaint", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("evaluate", help="score the complaint reader on a labelled CSV")
    ev.add_argument("file", type=Path)
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.add_argument("--where", metavar="COLUMN=VALUE", default=None,
                    help="score only the rows whose COLUMN equals VALUE, e.g. source=handwritten")
    tr = sub.add_parser("train", help="re-train the heads from the corpus in claims/data/")
    tr.add_argument("--corpus", type=Path, default=None, help="training CSV (default: claims/data/complaints_train.csv)")
    tr.add_argument("--out", type=Path, default=None, help="weights file (default: claims/data/complaint_heads.npz)")
    args = parser.parse_args(argv)

    try:
        if args.command == "evaluate":
            started = time.perf_counter()
            report = evaluate_file(args.file, args.where)
            report["seconds"] = round(time.perf_counter() - started, 2)
            print(json.dumps(report, indent=None if args.json else 2) if args.json else format_report(report))
            return 0
        from claims._complaint_train import train

        card = train(corpus=args.corpus, out=args.out)
        print(json.dumps(card, indent=2))
        return 0
    except CsvError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
