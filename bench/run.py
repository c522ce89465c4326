"""`make bench`: run every benchmark, print one table, write bench/results.json.

Each benchmark module has a `main(argv) -> dict`; figures are reported, never asserted (the machines are
shared and noisy). README's benchmark table is copied from this output.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import platform
import time
from pathlib import Path

BENCHES = [
    ("vision", "bench.bench_vision"),
    ("text", "bench.bench_text"),
    ("service", "bench.bench_service"),
    ("e2e", "bench.bench_e2e"),
]


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(mem_kb / 2**20, 1),
            "python": platform.python_version(), "date": time.strftime("%Y-%m-%d")}


def _rows(name: str, result: dict, prefix: str = ""):
    for key, value in result.items():
        if isinstance(value, dict):
            yield from _rows(name, value, f"{prefix}{key}.")
        elif not isinstance(value, list):
            yield name, prefix + key, value


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="run only these benchmarks: " + ", ".join(n for n, _ in BENCHES))
    parser.add_argument("--out", default="bench/results.json")
    args = parser.parse_args(argv)
    results: dict = {"machine": machine()}
    for name, module in BENCHES:
        if args.only and name not in args.only:
            continue
        print(f"== {name} ({module})", flush=True)
        bench_main = importlib.import_module(module).main
        takes_argv = "argv" in inspect.signature(bench_main).parameters
        results[name] = bench_main([]) if takes_argv else bench_main()
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print("\n| benchmark | figure | value |\n| --- | --- | --- |")
    for name, result in results.items():
        if name == "machine":
            continue
        for bench, key, value in _rows(name, result):
            print(f"| {bench} | {key} | {value} |")
    print(f"\nmachine: {results['machine']}\nwritten: {args.out}")
    return results


if __name__ == "__main__":
    main()
