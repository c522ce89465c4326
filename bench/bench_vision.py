"""Latency of the damage classifier on one 12-megapixel phone-sized JPEG: decode + preprocess + classify.

The decode is `vision_models.decode.decode_image`, the one serving intake, training and evaluation share.

    python -m bench.bench_vision [RUNS] [TORCH_THREADS]

Prints one JSON object (milliseconds; median and 90th percentile over the runs) and returns it from main().
"""

from __future__ import annotations

import io
import json
import statistics
import sys
import time

import numpy as np
import torch
from PIL import Image


def _twelve_megapixel_jpeg() -> bytes:
    from vision_models.synth import render_scene

    scene = render_scene("crushed_packaging", 12, (1000, 750))
    if scene.width < scene.height:
        scene = scene.rotate(90, expand=True)
    big = scene.resize((4000, 3000), Image.Resampling.BICUBIC)
    # Sensor noise at full resolution gives the file a real phone photo's size (a few MB) and decode cost.
    rng = np.random.default_rng(0)
    noisy = np.asarray(big, np.int16) + rng.integers(-12, 13, (3000, 4000, 1), dtype=np.int16)
    big = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    big.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _timed(fn, runs: int) -> dict:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"median_ms": round(statistics.median(times), 1), "p90_ms": round(times[int(0.9 * (len(times) - 1))], 1)}


def main(runs: int = 20, threads: int | None = None) -> dict:
    from vision_models import load_damage_classifier
    from vision_models.backbone import preprocess
    from vision_models.decode import decode_image

    if threads:
        torch.set_num_threads(threads)
    data = _twelve_megapixel_jpeg()
    clf = load_damage_classifier()
    for _ in range(3):  # warm up allocator and kernels
        clf.predict(decode_image(data))
    batch = [decode_image(data) for _ in range(8)]
    result = {
        "image": "4000x3000 JPEG, %.1f MB" % (len(data) / 1e6),
        "torch_threads": torch.get_num_threads(),
        "decode_ms": _timed(lambda: decode_image(data), runs),
        "decode_preprocess_ms": _timed(lambda: preprocess(decode_image(data)), runs),
        "end_to_end_ms": _timed(lambda: clf.predict(decode_image(data)), runs),
        "batch8_per_image_ms": round(_timed(lambda: clf.predict_batch(batch), max(3, runs // 4))["median_ms"] / 8, 1),
        "model_version": clf.version,
    }
    return result


if __name__ == "__main__":
    print(
        json.dumps(
            main(int(sys.argv[1]) if len(sys.argv) > 1 else 20, int(sys.argv[2]) if len(sys.argv) > 2 else None),
            indent=2,
        )
    )
