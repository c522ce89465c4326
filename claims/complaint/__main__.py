"""`python -m claims.complaint evaluate|train|corpus`: a thin command line over `training` and `corpus`.

    python -m claims.complaint evaluate FILE.csv [--json] [--where COLUMN=VALUE] [--heads PATH]
    python -m claims.complaint train [--corpus FILE.csv] [--out PATH]
    python -m claims.complaint corpus [--out DIR]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from claims.complaint import corpus, training
from claims.complaint.corpus import CsvError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m claims.complaint", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("evaluate", help="score the complaint reader on a labelled CSV")
    ev.add_argument("file", type=Path)
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.add_argument("--where", metavar="COLUMN=VALUE", default=None,
                    help="score only the rows whose COLUMN equals VALUE, e.g. source=handwritten")
    ev.add_argument("--heads", type=Path, default=None,
                    help="heads file written by `train` (default: claims/complaint/data/complaint_heads.npz)")
    tr = sub.add_parser("train", help="re-train the heads from the corpus in claims/complaint/data/")
    tr.add_argument("--corpus", type=Path, default=None,
                    help="training CSV (default: claims/complaint/data/complaints_train.csv)")
    tr.add_argument("--out", type=Path, default=None,
                    help="weights file (default: claims/complaint/data/complaint_heads.npz)")
    co = sub.add_parser("corpus", help="rewrite the train and test CSV files (deterministic)")
    co.add_argument("--out", type=Path, default=None, help="folder (default: claims/complaint/data/)")
    args = parser.parse_args(argv)

    try:
        if args.command == "evaluate":
            report = training.evaluate(args.file, heads=args.heads, where=args.where)
            print(json.dumps(report) if args.json else training.format_report(report))
        elif args.command == "train":
            print(json.dumps(training.train(args.corpus, out=args.out), indent=2))
        else:
            written = corpus.generate(args.out)
            print(f"wrote {written['n_train']} train and {written['n_test']} test messages "
                  f"({written['n_handwritten']} handwritten) to {written['train'].parent}")
        return 0
    except (CsvError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
