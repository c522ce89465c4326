"""Speed of the complaint reader: `python -m bench.bench_text [--json]`.

Measures the one-time load (first analysis: imports torch/transformers, loads MiniLM and the heads), then
`analyze_complaints` on 1,000 distinct messages from the project's corpus, then one-message latency (median and
95th percentile over 100 calls). Results go in README's benchmark table; nothing here is asserted by a test.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import time

N_BATCH = 1000
N_SINGLE = 100


def _messages(n: int) -> list[str]:
    from claims.complaint import DATA_DIR

    texts: list[str] = []
    for name in ("complaints_test.csv", "complaints_train.csv"):
        with open(DATA_DIR / name, newline="", encoding="utf-8") as fh:
            texts += [row["text"] for row in csv.DictReader(fh)]
    return texts[:n]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    started = time.perf_counter()
    from claims.complaint import analyze_complaint, analyze_complaints

    analyze_complaint("warm-up: the box arrived crushed")
    load_s = time.perf_counter() - started

    texts = _messages(N_BATCH)
    started, cpu_started = time.perf_counter(), time.process_time()
    analyze_complaints(texts)
    batch_s = time.perf_counter() - started
    # CPU seconds of this process: on a shared, busy machine wall time overstates the cost; CPU time divided
    # by the cores used estimates the wall time on an idle machine.
    batch_cpu_s = time.process_time() - cpu_started

    singles = []
    for text in texts[:N_SINGLE]:
        t0 = time.perf_counter()
        analyze_complaint(text)
        singles.append((time.perf_counter() - t0) * 1000)
    singles.sort()

    import torch

    result = {
        "benchmark": "complaint reader",
        "cpu_threads": torch.get_num_threads(),
        "load_seconds": round(load_s, 2),
        "batch_messages": len(texts),
        "batch_seconds": round(batch_s, 3),
        "messages_per_second": round(len(texts) / batch_s, 1),
        "batch_cpu_seconds": round(batch_cpu_s, 3),
        "messages_per_cpu_second": round(len(texts) / batch_cpu_s, 1),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "mean_chars": round(statistics.mean(len(t) for t in texts), 1),
        "single_ms_median": round(statistics.median(singles), 2),
        "single_ms_p95": round(singles[int(0.95 * (len(singles) - 1))], 2),
    }
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))
    return result


if __name__ == "__main__":
    main()
