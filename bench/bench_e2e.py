"""End to end through the HTTP API: cold start, latency, throughput and the server's peak memory.

Starts `claimbot serve` as a subprocess on a fresh data folder (real models, real SQLite, real Gradio),
then drives it with `gradio_client` exactly as an integrator would.

    python -m bench.bench_e2e [--claims 50] [--clients 8] [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench._photos import PARAGRAPH, phone_jpegs

REPO = Path(__file__).resolve().parents[1]
REVIEWER = ("bench", "bench-password-4f1c")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unique_copy(src: Path, folder: Path, tag: str) -> Path:
    """The same pixels with a JPEG comment segment, so every claim uploads a file with its own SHA-256."""
    data = src.read_bytes()
    comment = f"bench {tag}".encode()
    segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
    path = folder / f"{src.stem}-{tag}.jpg"
    path.write_bytes(data[:2] + segment + data[2:])
    return path


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Server:
    def __init__(self, data_dir: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        env = dict(
            os.environ,
            GRADIO_ANALYTICS_ENABLED="False",
            HF_HUB_OFFLINE="1",
            CLAIMBOT_REVIEWERS=f"{REVIEWER[0]}:{REVIEWER[1]}",
            # the benchmark files many claims from one machine, one demo email and ten demo orders: the abuse
            # limits are not what we measure
            CLAIMBOT_SUBMISSIONS_PER_EMAIL_PER_HOUR="100000",
            CLAIMBOT_VELOCITY_MAX_CLAIMS="100000",
            CLAIMBOT_CLAIMS_PER_IP_PER_HOUR="100000",
            CLAIMBOT_CLAIMS_PER_ORDER_PER_HOUR="100000",
            CLAIMBOT_MAX_CONCURRENT_SUBMISSIONS_PER_IP="64",
            CLAIMBOT_UPLOAD_BYTES_PER_IP_PER_HOUR="100000000000",
        )
        claimbot = Path(sys.executable).with_name("claimbot")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [str(claimbot), "serve", "--demo", "--data", str(data_dir), "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=REPO,
        )

    def client(self):
        from gradio_client import Client

        deadline = time.monotonic() + 180
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + self.proc.stderr.read().decode()[-2000:])
            try:
                return Client(self.url, verbose=False)
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def file_claim(client, photos: list[Path], order_id: str = "DEMO-1002") -> dict:
    from gradio_client import handle_file

    return client.predict(
        order_id, "demo@example.com", PARAGRAPH, [handle_file(str(p)) for p in photos], api_name="/submit_claim"
    )


def run(claims: int = 50, clients: int = 8, seconds: float = 60.0) -> dict:
    work = Path(tempfile.mkdtemp(prefix="claimbot-bench-"))
    sources = phone_jpegs(REPO / "bench" / ".cache", 6)
    uploads = work / "uploads"
    uploads.mkdir()
    counter = iter(range(10**9))
    lock = threading.Lock()

    def three_photos() -> list[Path]:
        with lock:
            n = next(counter)
        return [_unique_copy(sources[(n + i) % len(sources)], uploads, f"{n}-{i}") for i in range(3)]

    server = Server(work / "data")
    try:
        client = server.client()
        first = file_claim(client, three_photos())
        cold_start = time.perf_counter() - server.started
        if "claim_id" not in first:
            raise RuntimeError(f"unexpected first answer: {first}")

        latencies = []
        statuses: dict[str, int] = {}
        for _ in range(claims):
            photos = three_photos()
            t0 = time.perf_counter()
            result = file_claim(client, photos)
            latencies.append(time.perf_counter() - t0)
            statuses[result["status"]] = statuses.get(result["status"], 0) + 1

        done, errors = [], []
        stop_at = time.perf_counter() + seconds

        def worker() -> None:
            own = server.client()
            while time.perf_counter() < stop_at:
                photos = three_photos()
                try:
                    file_claim(own, photos)
                    done.append(time.perf_counter())
                except Exception as error:  # counted and reported, never hidden
                    errors.append(repr(error)[:200])

        t0 = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        peak = _peak_rss_mb(server.proc.pid)
    finally:
        server.stop()

    return {
        "cold_start_s": round(cold_start, 2),
        "latency_median_ms": round(statistics.median(latencies) * 1000, 1),
        "latency_p95_ms": round(_percentile(latencies, 0.95) * 1000, 1),
        "latency_claims": len(latencies),
        "latency_statuses": statuses,
        "throughput_claims_per_s": round(len(done) / elapsed, 2),
        "throughput_clients": clients,
        "throughput_seconds": round(elapsed, 1),
        "throughput_errors": len(errors),
        "throughput_error_samples": errors[:3],
        "peak_rss_mb": round(peak, 1),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=50)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    result = run(args.claims, args.clients, args.seconds)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
