"""Run every benchmark (or some), collect their figures, write bench/results.json: what `claimbot bench` calls.

Each benchmark module has a `main(argv) -> dict`; figures are reported, never asserted (the machines are
shared and noisy). The figures in docs/benchmarks.md are copied from the table `claimbot bench` prints.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import platform
import time
from collections.abc import Callable, Iterable
from pathlib import Path

BENCHES = {
    "vision": "bench.bench_vision",
    "text": "bench.bench_text",
    "service": "bench.bench_service",
    "e2e": "bench.bench_e2e",
}
DEFAULT_OUT = Path(__file__).resolve().parent / "results.json"


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(
        next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 2**20, 1),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
    }


def _rows(name: str, result: dict, prefix: str = ""):
    for key, value in result.items():
        if isinstance(value, dict):
            yield from _rows(name, value, f"{prefix}{key}.")
        elif not isinstance(value, list):
            yield name, prefix + key, value


def run_benchmarks(
    names: Iterable[str] = (), *, out: str | os.PathLike = DEFAULT_OUT, log: Callable[[str], object] = lambda _: None
) -> dict:
    """Run the benchmarks `names` (every one when empty), write their results and the machine to `out`
    as JSON, and return them. Raises ValueError for an unknown name."""
    names = list(names) or list(BENCHES)
    unknown = [name for name in names if name not in BENCHES]
    if unknown:
        raise ValueError(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHES)}")
    results: dict = {"machine": machine()}
    for name, module in BENCHES.items():
        if name not in names:
            continue
        log(f"== {name} ({module})")
        bench_main = importlib.import_module(module).main
        takes_argv = "argv" in inspect.signature(bench_main).parameters
        results[name] = bench_main([]) if takes_argv else bench_main()
    Path(out).write_text(json.dumps(results, indent=2) + "\n")
    return results


def format_table(results: dict) -> str:
    """The results as a Markdown table (benchmark, figure, value)."""
    lines = ["| benchmark | figure | value |", "| --- | --- | --- |"]
    for name, result in results.items():
        if name != "machine":
            lines += [f"| {bench} | {key} | {value} |" for bench, key, value in _rows(name, result)]
    return "\n".join(lines)
