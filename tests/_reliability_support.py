"""Shared by the reliability tests: what the store holds, hostile files, load clients, a killable server.

Run as a module it is the server the crash and backup tests start as a subprocess and SIGKILL:

    python -m tests._reliability_support --data DIR --port P

It serves `ui.app.build_app` over a real ClaimService (real SQLite, real photo store) with the model doubles
of tests/_ui_support.py, so that a restart takes seconds instead of loading torch and MiniLM again.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import signal
import sqlite3
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from tests._ui_support import REPO, REVIEWERS_SPEC, free_port

DESCRIPTION = "The box was crushed and the mug inside is broken. I would like a refund."
# Settings every reliability server shares: limits that would otherwise hold a load of claims from one test.
# The load comes from one machine (one address) and a handful of emails and orders: lift the per-client
# budgets so that what is measured is the server, not the abuse limits (tests/test_budgets.py tests those).
LOAD_SETTINGS = {
    "submissions_per_email_per_hour": 100_000,
    "velocity_max_claims": 100_000,
    "claims_per_ip_per_hour": 100_000,
    "claims_per_order_per_hour": 100_000,
    "max_concurrent_submissions_per_ip": 64,
    "upload_bytes_per_ip_per_hour": 100_000_000_000,
}


# --- what the store holds ----------------------------------------------------------------------------


@contextmanager
def connect(db_path: Path | str) -> Iterator[sqlite3.Connection]:
    """A separate connection, as an operator's tool would open (the server keeps its own); `with connect(db)
    as conn:` commits (or rolls back) and closes it when the block ends (sqlite3's own `with` does not close)."""
    conn = sqlite3.connect(str(db_path), timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        with conn:
            yield conn
    finally:
        conn.close()


def row_counts(db_path: Path | str) -> dict[str, int]:
    """Rows in every table of the database."""
    with connect(db_path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        counts = {t: conn.execute(f"SELECT count(*) FROM [{t}]").fetchone()[0] for t in tables}
    return counts


def table_rows(db_path: Path | str, table: str) -> list[tuple]:
    with connect(db_path) as conn:
        rows = [tuple(r) for r in conn.execute(f"SELECT * FROM [{table}] ORDER BY rowid")]
    return rows


def photo_files(root: Path | str) -> list[str]:
    """Every file under the photo folder (temporary ones included), relative to it."""
    root = Path(root)
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def table_digests(db_path: Path | str) -> dict[str, str]:
    """A hash of the full content of every table: any insert, update or delete changes it."""
    with connect(db_path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        digests = {
            t: hashlib.sha256(
                repr([tuple(r) for r in conn.execute(f"SELECT * FROM [{t}] ORDER BY rowid")]).encode()
            ).hexdigest()
            for t in tables
        }
    return digests


@dataclass(frozen=True)
class Snapshot:
    """Row counts and content of every table, and the files of the photo folder."""

    counts: dict[str, int]
    digests: dict[str, str]
    files: list[str]

    @classmethod
    def of(cls, data_dir: Path) -> Snapshot:
        db = data_dir / "claims.db"
        return cls(row_counts(db), table_digests(db), photo_files(data_dir / "photos"))


def integrity(db_path: Path | str) -> str:
    with connect(db_path) as conn:
        result = ";".join(r[0] for r in conn.execute("PRAGMA integrity_check"))
    return result


def foreign_key_problems(db_path: Path | str) -> list[tuple]:
    with connect(db_path) as conn:
        rows = [tuple(r) for r in conn.execute("PRAGMA foreign_key_check")]
    return rows


def claim_problems(
    db_path: Path | str,
    photo_root: Path | str,
    claim_id: str,
    expected_photos: int | None = None,
    token: str | None = None,
) -> list[str]:
    """Everything that is inconsistent about one stored claim (empty when it is whole)."""
    problems: list[str] = []
    root = Path(photo_root)
    with connect(db_path) as conn:
        claim = conn.execute("SELECT * FROM claims WHERE claim_id = ?", [claim_id]).fetchone()
        if claim is None:
            return [f"{claim_id}: missing"]
        if token is not None and hashlib.sha256(token.encode()).hexdigest() != claim["token_hash"]:
            problems.append(f"{claim_id}: token does not match")
        links = conn.execute(
            "SELECT cp.sha256, p.ext FROM claim_photos cp LEFT JOIN photos p USING (sha256) WHERE claim_id = ?",
            [claim_id],
        ).fetchall()
        if expected_photos is not None and len(links) != expected_photos:
            problems.append(f"{claim_id}: {len(links)} photos, expected {expected_photos}")
        for link in links:
            if link["ext"] is None:
                problems.append(f"{claim_id}: photo row {link['sha256'][:12]} missing")
                continue
            path = root / link["sha256"][:2] / f"{link['sha256']}.{link['ext']}"
            if not path.is_file():
                problems.append(f"{claim_id}: photo file {path.name} missing")
            elif hashlib.sha256(path.read_bytes()).hexdigest() != link["sha256"]:
                problems.append(f"{claim_id}: photo file {path.name} does not match its hash")
        kinds = [r[0] for r in conn.execute("SELECT kind FROM events WHERE claim_id = ? ORDER BY id", [claim_id])]
        if kinds[:2] != ["submitted", "decided"]:
            problems.append(f"{claim_id}: events start {kinds[:2]}")
        last = conn.execute(
            "SELECT status FROM events WHERE claim_id = ? AND status IS NOT NULL ORDER BY id DESC LIMIT 1", [claim_id]
        ).fetchone()
        if last is None or last[0] != claim["status"]:
            problems.append(f"{claim_id}: status {claim['status']} but last event says {last and last[0]}")
        thread = [
            (r[0], r[1])
            for r in conn.execute("SELECT actor, kind FROM messages WHERE claim_id = ? ORDER BY id", [claim_id])
        ]
        if thread[:2] != [("customer", "claim"), ("bot", "decision")]:
            problems.append(f"{claim_id}: thread starts {thread[:2]}")
    return problems


# --- photos ----------------------------------------------------------------------------------------

# Gradio stores uploads under a hash of their content, shared by every server on the machine: a photo made
# by another test process (another run of this suite) must never be byte-identical to ours.
_RUN_SALT = int.from_bytes(os.urandom(4), "big")


def noise_photo(seed: int, size=(320, 240), color=(200, 40, 40), fmt="JPEG") -> bytes:
    """A distinct, textured photo (passes the quality checks; reddish means 'broken' to FakeVision).
    Distinct per seed, and from every photo another process makes."""
    rng = np.random.default_rng([seed, _RUN_SALT])
    base = np.array(color, dtype=np.float32)
    pixels = base * rng.uniform(0.4, 1.25, size=(size[1], size[0], 1)) + rng.normal(0, 12, (size[1], size[0], 3))
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    out = io.BytesIO()
    image.save(out, fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    return out.getvalue()


def write_photos(folder: Path, count: int, start: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in range(start, start + count):
        path = folder / f"load-{seed}.jpg"
        if not path.exists():
            path.write_bytes(noise_photo(seed))
        paths.append(path)
    return paths


def png_header_only(width: int, height: int) -> bytes:
    """A PNG claiming a huge size whose pixel data is a few bytes: a bomb nobody needs memory to build."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


def heic_photo(seed: int) -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    Image.open(io.BytesIO(noise_photo(seed))).save(out, "HEIF", quality=60)
    return out.getvalue()


# --- orders for load -----------------------------------------------------------------------------


def seed_orders(db_path: Path, count: int, prefix: str = "LOAD") -> list[tuple[str, str]]:
    """`count` cheap, in-stock orders delivered yesterday, each with its own email: each auto-approvable."""
    from claims.models import Order, utcnow
    from claims.store import Store

    delivered = utcnow() - timedelta(days=1)
    orders = [
        Order(
            order_id=f"{prefix}-{i:04d}",
            email=f"buyer{i}@example.com",
            item_name="Stoneware mug",
            value=18.0,
            in_stock=True,
            stock_count=50,
            ordered_at=delivered - timedelta(days=3),
            delivered_at=delivered,
        )
        for i in range(count)
    ]
    with Store.open(db_path) as store:
        store.upsert_orders(orders, source="import")
    return [(o.order_id, o.email) for o in orders]


# --- load ---------------------------------------------------------------------------------------------


@dataclass
class LoadRun:
    """What the clients saw: the answer to every submission that got one, and every error."""

    answers: dict[int, dict] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0


def run_load(
    url: str,
    jobs: list[tuple[str, str, str, list[Path]]],
    clients: int,
    stop: threading.Event | None = None,
    run: LoadRun | None = None,
) -> LoadRun:
    """Submit every job (order, email, description, photos) through the HTTP API from `clients` threads,
    each with its own gradio_client. Stops taking new jobs once `stop` is set. Pass `run` to watch the
    answers arrive from another thread."""
    from gradio_client import Client, handle_file

    run = run if run is not None else LoadRun()
    clients_made = []
    lock = threading.Lock()
    queue = list(enumerate(jobs))
    queue.reverse()

    def worker() -> None:
        client = None
        while True:
            with lock:
                if not queue or (stop is not None and stop.is_set()):
                    return
                index, (order, email, description, photos) = queue.pop()
            try:
                if client is None:
                    client = Client(url + "/", verbose=False)
                    clients_made.append(client)
                answer = client.predict(
                    order, email, description, [handle_file(str(p)) for p in photos], api_name="/submit_claim"
                )
                with lock:
                    run.answers[index] = answer
            except Exception as exc:  # recorded: the tests assert on what reached the client
                with lock:
                    run.errors[index] = f"{type(exc).__name__}: {exc}"

    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(worker) for _ in range(clients)]:
            future.result()
    run.seconds = time.monotonic() - started
    for client in clients_made:
        client.close()
    return run


# --- a server in its own process ---------------------------------------------------------------------


class ServerProcess:
    """`python -m tests._reliability_support` on a free port; `kill()` is SIGKILL, no goodbye."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None, port: int | None = None):
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "GRADIO_ANALYTICS_ENABLED": "False",
            "HF_HUB_OFFLINE": "1",
            "PYTHONPATH": str(REPO),
            **{f"CLAIMBOT_{name.upper()}": str(value) for name, value in LOAD_SETTINGS.items()},
            **(env or {}),
        }
        self.proc: subprocess.Popen | None = None
        self.log = self.data_dir.parent / f"server-{self.port}.log"

    def start(self, timeout: float = 120) -> ServerProcess:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests._reliability_support",
                    "--data",
                    str(self.data_dir),
                    "--port",
                    str(self.port),
                ],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.kill()
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def server_process(data_dir: Path, env: dict[str, str] | None = None):
    server = ServerProcess(data_dir, env).start()
    try:
        yield server
    finally:
        server.kill()


def _serve(data_dir: Path, port: int) -> None:
    import uvicorn

    from tests._ui_support import open_service
    from ui.app import build_app

    data_dir.mkdir(parents=True, exist_ok=True)
    service = open_service(data_dir, **LOAD_SETTINGS)
    try:
        service.start_dispatcher(poll_seconds=0.2)  # as `claimbot serve` does: webhook or ledger per settings
        uvicorn.run(build_app(service), host="127.0.0.1", port=port, log_level="warning")
    finally:
        service.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--port", required=True, type=int)
    args = parser.parse_args()
    _serve(args.data, args.port)


__all__ = [
    "DESCRIPTION",
    "LOAD_SETTINGS",
    "LoadRun",
    "REVIEWERS_SPEC",
    "ServerProcess",
    "Snapshot",
    "claim_problems",
    "connect",
    "foreign_key_problems",
    "heic_photo",
    "integrity",
    "noise_photo",
    "photo_files",
    "png_header_only",
    "row_counts",
    "run_load",
    "seed_orders",
    "server_process",
    "table_rows",
    "write_photos",
]
