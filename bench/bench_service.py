"""One claim through `ClaimService` directly (no HTTP), with a breakdown of where the time goes.

The breakdown wraps the service's own stage functions with timers for the length of the benchmark; the
shipped code carries no instrumentation.

    python -m bench.bench_service [--claims 30]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

from bench._photos import PARAGRAPH, phone_jpegs
from bench.bench_e2e import _unique_copy

REPO = Path(__file__).resolve().parents[1]


class StageTimer:
    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.current: dict[str, float] = defaultdict(float)

    def wrap(self, stage: str, fn):
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.current[stage] += time.perf_counter() - t0

        return timed

    @contextmanager
    def wrap_cm(self, stage: str, cm_factory):
        t0 = time.perf_counter()
        with cm_factory() as value:
            yield value
        self.current[stage] += time.perf_counter() - t0

    def commit(self, total: float) -> None:
        accounted = sum(self.current.values())
        for stage, seconds in self.current.items():
            self.samples[stage].append(seconds)
        self.samples["other"].append(max(0.0, total - accounted))
        self.samples["total"].append(total)
        self.current.clear()


def instrument(service, timer: StageTimer) -> None:
    import claims.service as service_module
    import vision_models.quality as quality

    service_module.read_photos = timer.wrap("decode_and_hash", service_module.read_photos)
    quality.check_quality = timer.wrap("quality", quality.check_quality)
    vision, text = service.vision, service.text  # loaded here, outside the timed claims
    vision.predict_batch = timer.wrap("vision", vision.predict_batch)
    text.analyze = timer.wrap("text", text.analyze)
    service._fraud_signals = timer.wrap("fraud", service._fraud_signals)
    service._decide = timer.wrap("policy", service._decide)
    service.photos.save_all = timer.wrap("storage", service.photos.save_all)
    transaction = service.store.transaction
    service.store.transaction = lambda: timer.wrap_cm("storage", transaction)


def run(claims: int = 30) -> dict:
    from claims.config import Settings
    from claims.service import ClaimService

    work = Path(tempfile.mkdtemp(prefix="claimbot-bench-service-"))
    settings = Settings(
        data_dir=work / "data",
        reviewers="bench:bench-password-4f1c",
        submissions_per_email_per_hour=100000,
        velocity_max_claims=100000,
    )
    sources = phone_jpegs(REPO / "bench" / ".cache", 6)
    t_open = time.perf_counter()
    service = ClaimService.open(work / "data" / "claims.db", demo=True, settings=settings)
    timer = StageTimer()
    instrument(service, timer)
    load_seconds = time.perf_counter() - t_open
    try:
        service.submit_claim(
            "DEMO-1002", "demo@example.com", PARAGRAPH, [_unique_copy(sources[i], work, f"warm-{i}") for i in range(3)]
        )
        timer.current.clear()
        for n in range(claims):
            photos = [_unique_copy(sources[(n + i) % len(sources)], work, f"{n}-{i}") for i in range(3)]
            t0 = time.perf_counter()
            service.submit_claim("DEMO-1002", "demo@example.com", PARAGRAPH, photos)
            timer.commit(time.perf_counter() - t0)
    finally:
        service.close()
    breakdown = {stage: round(statistics.median(values) * 1000, 1) for stage, values in sorted(timer.samples.items())}
    return {"claims": claims, "models_load_s": round(load_seconds, 2), "median_ms": breakdown}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=30)
    args = parser.parse_args(argv)
    result = run(args.claims)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
