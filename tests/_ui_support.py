"""Shared by the UI tests: a real server on a free port, a real ClaimService with model doubles, test photos.

The model doubles keep these tests about the UI and API (fast and deterministic); the real models are
tested in their own files. Shipped code always uses the real models.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from PIL import Image, ImageDraw

from claims.config import Settings
from claims.models import ComplaintAnalysis
from vision_models.labels import DAMAGE_LABELS, DamagePrediction

REVIEWERS = {"ann": "pw-ann-7c1e", "bob": "pw-bob-93fa"}
REVIEWERS_SPEC = ",".join(f"{name}:{password}" for name, password in REVIEWERS.items())
REPO = Path(__file__).resolve().parents[1]


class FakeVision:
    """Reddish photos are 'broken' (confident); anything else is 'no_damage'."""

    version = "test-vision"

    def predict_batch(self, images):
        out = []
        for img in images:
            r, g, b = img.convert("RGB").resize((1, 1)).getpixel((0, 0))
            label, conf = ("broken", 0.93) if r > g + 40 and r > b + 40 else ("no_damage", 0.9)
            probs = {lab: (conf if lab == label else (1 - conf) / (len(DAMAGE_LABELS) - 1)) for lab in DAMAGE_LABELS}
            out.append(
                DamagePrediction(
                    label=label,
                    confidence=conf,
                    probabilities=probs,
                    damaged_probability=conf if label != "no_damage" else 1 - conf,
                    looks_like=(("cup", 0.41), ("carton", 0.22)),
                    model_version=self.version,
                )
            )
        return out


class FakeText:
    """Keyword rules standing in for the complaint reader."""

    version = "test-text"

    def analyze(self, text: str) -> ComplaintAnalysis:
        low = text.lower()
        evidence: dict[str, tuple[str, ...]] = {}
        intent = "unspecified"
        if "refund" in low:
            intent, evidence["intent"] = "refund", ("refund",)
        elif "replace" in low:
            intent, evidence["intent"] = "replacement", ("replace",)
        damage = tuple(w for w in ("broken", "crushed") if w in low)
        if damage:
            evidence["damage"] = damage
        wants_human = "person" in low or "human" in low
        frustrated = "furious" in low
        return ComplaintAnalysis(
            intent=intent,
            wants_human=wants_human,
            sentiment=-0.8 if frustrated else -0.2,
            frustrated=frustrated,
            frustration_score=0.9 if frustrated else 0.1,
            damage_types=tuple({"broken": "broken", "crushed": "crushed_packaging"}[w] for w in damage),
            summary=text.strip().splitlines()[0][:80] if text.strip() else "",
            evidence=evidence,
            model_version=self.version,
        )


def make_photo(path: Path, color=(200, 40, 40), seed: int = 0, size=(640, 480)) -> Path:
    """A JPEG with enough texture to pass the quality checks; its colour decides what FakeVision sees."""
    rng = random.Random(seed)
    img = Image.new("RGB", size, color)
    draw = ImageDraw.Draw(img)
    for _ in range(700):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        shade = tuple(max(0, min(255, int(c * rng.uniform(0.35, 1.3)))) for c in color)
        draw.line((x, y, x + rng.randint(-90, 90), y + rng.randint(-90, 90)), fill=shade, width=rng.randint(2, 6))
    img.save(path, "JPEG", quality=90)
    return path


def sample_photo(label: str, index: int, fallback_dir: Path) -> Path:
    """One of the project's demo photos (sample_images/LABEL/LABEL_000N.jpg), or a generated one if absent."""
    path = REPO / "sample_images" / label / f"{label}_{index:04d}.jpg"
    if path.is_file():
        return path
    return make_photo(fallback_dir / f"{label}_{index}.jpg", seed=1000 + index)


def real_vision_available() -> bool:
    return (REPO / "vision_models" / "weights" / "damage_head.pt").is_file()


_DOUBLE = object()


def open_service(data_dir: Path, *, vision=_DOUBLE, text=_DOUBLE, **settings):
    """A real ClaimService on `data_dir` with the test reviewers; model doubles unless told otherwise
    (pass `vision=None` / `text=None` for the real, lazily loaded models)."""
    from claims.service import ClaimService

    settings = Settings(data_dir=data_dir, reviewers=REVIEWERS_SPEC, **settings)
    return ClaimService.open(
        data_dir / "claims.db",
        demo=True,
        settings=settings,
        vision=FakeVision() if vision is _DOUBLE else vision,
        text=FakeText() if text is _DOUBLE else text,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(app):
    """Serve a FastAPI app with uvicorn in a thread; yields the base URL ('http://127.0.0.1:PORT')."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def upload(http, url: str, path: Path) -> str:
    """Upload a photo as the browser does (POST /gradio_api/upload); returns the server's path for it."""
    return http.post(f"{url}/gradio_api/upload", files={"files": (path.name, path.read_bytes(), "image/jpeg")}).json()[
        0
    ]


def raw_submit(
    http, url: str, path: str, *, order: str, email: str, description: str, orig_name: str | None = None
) -> str:
    """Call `/submit_claim` over plain HTTP naming `path` as the photo; returns the event stream's text.

    `http` is an httpx.Client (or the httpx module). Unlike gradio_client, nothing checks the path first.
    """
    photo = {
        "path": path,
        **({"orig_name": orig_name} if orig_name is not None else {}),
        "meta": {"_type": "gradio.FileData"},
    }
    data = [order, email, description, [photo], ""]
    event = http.post(f"{url}/gradio_api/call/submit_claim", json={"data": data}).json()["event_id"]
    return http.get(f"{url}/gradio_api/call/submit_claim/{event}", timeout=60).text
