"""Intake budgets: what one anonymous client can make the server decode, hold, store and repeat.

Pixels per submission and in flight per process, submissions in progress per address, claims per address,
email and order per hour, photos of unknown orders kept reduced, idempotency records without tokens, and
(through the real server) every function of the public app called anonymously with hostile arguments,
links never fetched, uploads removed once used, and no path or traceback in any answer.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import re
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from claims.config import Settings
from claims.errors import PhotoRejected, RateLimited
from claims.photos import DecodeBudget, DecodeBusy, decode_budget, read_photos
from tests._ui_support import FakeVision, make_photo, open_service, running_server, upload
from ui.app import build_app
from vision_models.decode import WORKING_SIDE

REPO = Path(__file__).resolve().parents[1]
DESCRIPTION = "The box was crushed and the mug inside is broken. I would like a refund."
EMAIL = "demo@example.com"


def png_bytes(size: tuple[int, int], color=(200, 40, 40)) -> bytes:
    """A PNG of `size` with some structure; compresses well, so a 60 MP one is about a megabyte."""
    image = Image.new("RGB", size, color)
    for x in range(0, size[0], 97):
        image.paste((120, 60, 40), (x, 0, min(size[0], x + 9), size[1]))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def noisy_png(size: tuple[int, int]) -> bytes:
    """A reddish PNG of noise: as large as a PNG photo gets."""
    import numpy as np

    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 90, (size[1], size[0], 3), dtype=np.uint8)
    pixels[..., 0] += 160
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, "PNG")
    return out.getvalue()


# --- decoded pixels ------------------------------------------------------------------------------------


def test_a_submission_over_the_pixel_budget_is_refused_before_any_decoding(monkeypatch):
    import claims.photos as photos_module

    decoded = []
    monkeypatch.setattr(photos_module, "load_reduced", lambda image: decoded.append(image))
    settings = Settings(max_pixels_per_claim=5_000_000)
    photos = [("a.png", png_bytes((2000, 1500))), ("b.png", png_bytes((2000, 1500)))]  # 6 MP together
    with pytest.raises(PhotoRejected, match=r"too large together \(6 megapixels.*the limit is 5\)"):
        read_photos(photos, settings)
    assert decoded == []


def test_a_jpeg_counts_the_pixels_it_decodes_at_not_its_full_size():
    jpeg = io.BytesIO()
    Image.new("RGB", (4000, 3000), (200, 40, 40)).save(jpeg, "JPEG")
    # 12 MP on paper, 0.75 MP decoded at 1/4 scale: well within a 2 MP budget
    (photo,) = read_photos([jpeg.getvalue()], Settings(max_pixels_per_claim=2_000_000))
    assert (photo.width, photo.height) == (4000, 3000)


def test_decoding_waits_for_room_then_refuses_with_a_busy_message():
    budget = DecodeBudget(100)
    with budget.hold(80, wait=0):
        started = time.monotonic()
        with pytest.raises(DecodeBusy, match="try again in a minute"), budget.hold(30, wait=0.3):
            pass
        assert 0.25 < time.monotonic() - started < 2
        with budget.hold(20, wait=0):  # what fits goes at once
            assert budget.in_flight == 100
    with budget.hold(1_000, wait=0):  # a photo larger than the budget decodes, alone
        assert budget.in_flight == 100
    assert budget.in_flight == 0


def test_a_photo_waiting_for_room_decodes_as_soon_as_room_is_freed():
    budget = DecodeBudget(100)
    seen: list[int] = []
    inside = threading.Event()

    def decode_later():
        with budget.hold(50, wait=5):
            seen.append(budget.in_flight)
            inside.set()

    with budget.hold(90, wait=0):
        worker = threading.Thread(target=decode_later)
        worker.start()
        assert not inside.wait(0.2)  # still waiting for room
    assert inside.wait(5)
    worker.join(timeout=5)
    assert seen == [50] and budget.in_flight == 0


def test_intake_refuses_when_the_process_decode_budget_is_taken():
    settings = Settings(max_decode_pixels_in_flight=1_000_000, decode_wait_seconds=0.2)
    with decode_budget(settings).hold(1_000_000, wait=0), pytest.raises(DecodeBusy, match="We are busy"):
        read_photos([png_bytes((1000, 800))], settings)
    (photo,) = read_photos([png_bytes((1000, 800))], settings)  # free again
    assert photo.width == 1000


MEASURE = """
import io, resource, sys
from PIL import Image
from claims.config import Settings
from claims.photos import read_photos
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
read_photos([data], Settings())
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) // 1024)
"""


@pytest.mark.slow
def test_one_60_megapixel_png_costs_its_decoded_pixels_once(tmp_path):
    """7745 x 7745 pixels: 240 MB decoded (Pillow keeps RGB as 4 bytes a pixel). Decoding it used to add
    about 500 MB at peak (the full image copied to turn and to shrink it); now about 270 MB."""
    path = tmp_path / "big.png"
    path.write_bytes(png_bytes((7745, 7745)))
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, cwd=REPO, timeout=300, check=True
    )
    added_mb = int(out.stdout.strip().splitlines()[-1])
    assert added_mb < 360, f"peak memory grew by {added_mb} MB decoding one 60 MP PNG"


CONCURRENT = """
import resource, sys, tempfile, threading
from pathlib import Path
from tests._ui_support import open_service
svc = open_service(Path(tempfile.mkdtemp()) / "data", velocity_max_claims=99, claims_per_order_per_hour=99)
files = sys.argv[1:]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
outcomes = []
def file_claim(i):
    try:
        svc.submit_claim("DEMO-1001", f"a{i}@example.com", "The box was crushed.", files, client_ip=f"10.0.0.{i}")
        outcomes.append("filed")
    except Exception as e:
        outcomes.append(type(e).__name__)
threads = [threading.Thread(target=file_claim, args=(i,)) for i in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024, ",".join(sorted(outcomes)))
"""


@pytest.mark.slow
def test_four_claims_of_large_pngs_at_once_stay_within_the_decode_budget(tmp_path):
    """Four claims, each of two 60 MP PNGs (within every per-claim limit), at once: decoding holds at most
    `max_decode_pixels_in_flight` (100 MP, 400 MB) and gives the memory back; without the budget and the
    trim, peak memory grew by over 1.2 GB (2.1 GB with eight photos a claim)."""
    files = []
    for i in range(2):
        path = tmp_path / f"big{i}.png"
        path.write_bytes(png_bytes((7745, 7745 - i)))
        files.append(str(path))
    out = subprocess.run(
        [sys.executable, "-c", CONCURRENT, *files], capture_output=True, text=True, cwd=REPO, timeout=600, check=True
    )
    added_mb, outcomes = out.stdout.strip().splitlines()[-1].split()
    assert int(added_mb) < 700, f"peak memory grew by {added_mb} MB ({outcomes})"
    assert set(outcomes.split(",")) <= {"filed", "DecodeBusy"} and "filed" in outcomes


# --- per-client limits -----------------------------------------------------------------------------------


@pytest.fixture
def service(tmp_path):
    svc = open_service(tmp_path / "data", velocity_max_claims=1000)
    yield svc
    svc.close()


def _photo(tmp_path: Path, seed: int) -> str:
    return str(make_photo(tmp_path / f"p{seed}.jpg", seed=seed))


def test_claims_per_address_per_hour_are_limited_and_the_address_is_kept_only_as_a_keyed_hash(tmp_path):
    svc = open_service(tmp_path / "data", claims_per_ip_per_hour=2, velocity_max_claims=1000)
    try:
        for i in range(2):
            svc.submit_claim(f"DEMO-100{i + 1}", f"c{i}@example.com", DESCRIPTION, client_ip="203.0.113.9")
        with pytest.raises(RateLimited, match="from your connection"):
            svc.submit_claim("DEMO-1003", "c9@example.com", DESCRIPTION, client_ip="203.0.113.9")
        svc.submit_claim("DEMO-1003", "c9@example.com", DESCRIPTION, client_ip="198.51.100.7")  # another address
        svc.submit_claim("DEMO-1004", "c9@example.com", DESCRIPTION)  # a Python caller: no address limits
        hashes = [row["client_ip_hash"] for row in svc.store._query("SELECT client_ip_hash FROM claims")]
        assert hashes.count(svc.store.client_hash("203.0.113.9")) == 2
        assert len(hashes[0]) == 32 and hashes[0] != hashlib.sha256(b"203.0.113.9").hexdigest()[:32]
        dump = "\n".join(svc.store.conn.iterdump())
        assert "203.0.113.9" not in dump and "198.51.100.7" not in dump
    finally:
        svc.close()


def test_claims_per_order_per_hour_are_limited_for_public_callers(tmp_path):
    svc = open_service(tmp_path / "data", claims_per_order_per_hour=2, velocity_max_claims=1000)
    try:
        for i in range(2):
            svc.submit_claim("DEMO-1001", f"c{i}@example.com", DESCRIPTION, client_ip=f"198.51.100.{i}")
        with pytest.raises(RateLimited, match="on this order"):
            svc.submit_claim("DEMO-1001", "c7@example.com", DESCRIPTION, client_ip="198.51.100.7")
    finally:
        svc.close()


def test_claims_per_email_per_hour_are_limited(tmp_path):
    svc = open_service(tmp_path / "data", submissions_per_email_per_hour=1, velocity_max_claims=1000)
    try:
        svc.submit_claim("DEMO-1001", EMAIL, DESCRIPTION, client_ip="198.51.100.1")
        with pytest.raises(RateLimited, match="from this email"):
            svc.submit_claim("DEMO-1002", EMAIL, DESCRIPTION, client_ip="198.51.100.2")
    finally:
        svc.close()


class SlowVision(FakeVision):
    """Holds every prediction until released, so submissions stay in progress."""

    def __init__(self):
        self.release = threading.Event()
        self.waiting = threading.Semaphore(0)

    def predict_batch(self, images):
        self.waiting.release()
        self.release.wait(10)
        return super().predict_batch(images)


def test_submissions_in_progress_per_address_are_limited(tmp_path):
    vision = SlowVision()
    svc = open_service(tmp_path / "data", vision=vision, max_concurrent_submissions_per_ip=1, velocity_max_claims=99)
    try:
        results: list = []
        first = threading.Thread(
            target=lambda: results.append(
                svc.submit_claim("DEMO-1001", EMAIL, DESCRIPTION, [_photo(tmp_path, 1)], client_ip="203.0.113.5")
            )
        )
        first.start()
        assert vision.waiting.acquire(timeout=10)  # the first is inside the model
        with pytest.raises(RateLimited, match="still working on what you sent"):
            svc.submit_claim("DEMO-1002", EMAIL, DESCRIPTION, [_photo(tmp_path, 2)], client_ip="203.0.113.5")
        other = threading.Thread(
            target=lambda: results.append(
                svc.submit_claim(
                    "DEMO-1003", "x@example.com", DESCRIPTION, [_photo(tmp_path, 3)], client_ip="192.0.2.1"
                )
            )
        )
        other.start()
        assert vision.waiting.acquire(timeout=10)  # another address is not held up
        vision.release.set()
        first.join(10)
        other.join(10)
        assert len(results) == 2
        # the slot is given back: the same address may send again
        svc.submit_claim("DEMO-1004", EMAIL, DESCRIPTION, [_photo(tmp_path, 4)], client_ip="203.0.113.5")
    finally:
        vision.release.set()
        svc.close()


# --- unknown orders, idempotency -------------------------------------------------------------------------


def test_photos_of_a_claim_on_an_unknown_order_are_kept_reduced_and_still_match_as_duplicates(service, tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(noisy_png((3000, 2000)))
    unknown = service.submit_claim("NO-SUCH-ORDER", "u@example.com", DESCRIPTION, [str(big)])
    (photo,) = service.store.claim_photos(unknown["claim_id"])
    stored = service.photos.path_for(photo["sha256"], photo["ext"])
    data = stored.read_bytes()
    assert photo["ext"] == "jpg" and photo["sha256"] == hashlib.sha256(data).hexdigest()
    assert photo["size_bytes"] == len(data) < big.stat().st_size
    with Image.open(stored) as kept:
        assert kept.format == "JPEG" and max(kept.size) <= WORKING_SIDE
    assert (photo["width"], photo["height"]) == (3000, 2000)  # what the customer sent, for the reviewer
    # The same photo on a real order is stored as sent, and the fraud check still sees the match.
    known = service.submit_claim("DEMO-1001", EMAIL, DESCRIPTION, [str(big)])
    (original,) = service.store.claim_photos(known["claim_id"])
    assert original["ext"] == "png" and original["sha256"] == hashlib.sha256(big.read_bytes()).hexdigest()
    case = service.open_case(known["claim_id"], "ann")
    assert any(s["code"] == "duplicate_photo" for s in case["fraud_signals"])


def test_an_idempotent_retry_gets_the_same_token_which_the_database_never_holds(service, tmp_path):
    photo = _photo(tmp_path, 7)
    first = service.submit_claim("DEMO-1002", EMAIL, DESCRIPTION, [photo], idempotency_key="k-123")
    again = service.submit_claim("DEMO-1002", EMAIL, DESCRIPTION, [photo], idempotency_key="k-123")
    assert again["claim_id"] == first["claim_id"] and again["access_token"] == first["access_token"]
    assert service.claim_status(first["claim_id"], first["access_token"])["claim_id"] == first["claim_id"]
    service.store.conn.commit()
    assert first["access_token"] not in "\n".join(service.store.conn.iterdump())
    (row,) = service.store._query("SELECT * FROM idempotency_keys")
    assert "access_token" not in row and row["token_hash"] == hashlib.sha256(first["access_token"].encode()).hexdigest()
    other = service.submit_claim("DEMO-1003", EMAIL, DESCRIPTION, [photo], idempotency_key="k-456")
    assert other["access_token"] != first["access_token"]


def test_the_migration_drops_idempotency_records_that_held_tokens(tmp_path):
    from claims.store import Store
    from claims.store._base import MIGRATIONS, _statements

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for version, script in enumerate(MIGRATIONS[:3], start=1):
        for statement in _statements(script):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {version}")
    conn.execute(
        "INSERT INTO claims (claim_id, order_id, email, description, status, token_hash, created_at, updated_at) "
        "VALUES ('CLM-AAAAAAAAAA', 'O-1', 'a@example.com', 'x', 'in_review', 'h', '2026-01-01', '2026-01-01')"
    )
    conn.execute(
        "INSERT INTO idempotency_keys VALUES ('k', 'f', 'CLM-AAAAAAAAAA', 'secret-token-in-plain-text', '2026-01-01')"
    )
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        assert store.get_idempotency("k") is None
        assert "secret-token-in-plain-text" not in "\n".join(store.conn.iterdump())


# --- through the real server -----------------------------------------------------------------------------

LEAKS = re.compile(r"/work|/tmp|site-packages|\.py\b|Traceback|File \"", re.I)
# What Python's own exception messages look like ("'str' object has no attribute 'get'", "KeyError: 'x'")
PYTHON_TEXT = re.compile(r"object has no attribute|object is not|NoneType|\w+Error\b|Exception|positional argument")


def error_messages(stream: str) -> list[str]:
    """The `error` texts of an event stream (queue/data or call/...)."""
    found = []
    for line in stream.splitlines():
        if line.startswith("data: ") and '"error"' in line:
            try:
                payload = json.loads(line[len("data: ") :])
            except ValueError:
                continue
            output = payload.get("output", payload) if isinstance(payload, dict) else {}
            if isinstance(output, dict) and output.get("error") is not None:
                found.append(str(output["error"]))
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    svc = open_service(
        tmp_path_factory.mktemp("data"),
        velocity_max_claims=1000,
        submissions_per_email_per_hour=1000,
        claims_per_ip_per_hour=1000,
        claims_per_order_per_hour=1000,
    )
    try:
        with running_server(build_app(svc)) as url:
            yield svc, url
    finally:
        svc.close()


def queue_call(http: httpx.Client, url: str, fn_index: int, data: list, timeout: float = 60) -> tuple[str, float]:
    """Call one function of the customer app by `fn_index` through queue/join, as any browser may;
    returns the whole event stream's text and how long it took."""
    session = f"s{fn_index}-{time.monotonic_ns()}"
    started = time.monotonic()
    joined = http.post(
        f"{url}/gradio_api/queue/join",
        json={"data": data, "fn_index": fn_index, "session_hash": session, "event_data": None, "trigger_id": None},
    )
    if joined.status_code != 200:
        return joined.text, time.monotonic() - started
    chunks = []
    with http.stream("GET", f"{url}/gradio_api/queue/data", params={"session_hash": session}, timeout=timeout) as r:
        for line in r.iter_lines():
            chunks.append(line)
            if '"process_completed"' in line or '"close_stream"' in line:
                break
            if time.monotonic() - started > timeout:
                break
    return "\n".join(chunks), time.monotonic() - started


def _file_data(path: str) -> dict:
    return {"path": path, "orig_name": Path(path).name, "meta": {"_type": "gradio.FileData"}}


@pytest.mark.slow
def test_every_function_of_the_public_app_is_safe_to_call_anonymously_with_hostile_arguments(server, tmp_path):
    svc, url = server
    big = tmp_path / "huge.png"
    big.write_bytes(png_bytes((7745, 7745)))  # 60 MP, just under the per-photo limit, about 1 MB
    with httpx.Client(timeout=60) as http:
        config = http.get(f"{url}/config").json()
        components = {c["id"]: c for c in config["components"]}
        uploaded = [upload(http, url, big) for _ in range(3)]
        many_huge = [_file_data(uploaded[i % 3]) for i in range(24)]
        variants = {
            "huge files, long text": {
                "file": many_huge,
                "textbox": "x" * 100_000,
                "json": {"thread": [{"photos": ["a" * 64] * 500, "text": "y" * 10_000}] * 50},
                "state": {"claim_id": "CLM-AAAAAAAAAA", "access_token": "nope"},
            },
            "wrong types": {"file": 12345, "textbox": ["not", "text"], "json": "not a dict", "state": 7},
            "nested junk": {"file": [{"path": {"nested": True}}], "textbox": {"a": 1}, "json": [[[]]], "state": None},
        }
        called = 0
        for fn_index, dependency in enumerate(config["dependencies"]):
            inputs = [components.get(i, {}) for i in dependency["inputs"]]
            for name, values in variants.items():
                data = [values.get(c.get("type", ""), None) for c in inputs]
                text, seconds = queue_call(http, url, fn_index, data)
                called += 1
                assert seconds < 30, f"fn_index {fn_index} ({name}) took {seconds:.1f} s"
                assert not LEAKS.search(text), f"fn_index {fn_index} ({name}) leaked: {text[:2000]}"
                for message in error_messages(text):
                    assert not PYTHON_TEXT.search(message), f"fn_index {fn_index} ({name}) said: {message}"
        assert called >= 3 * 10
        # The server is still itself: a legitimate claim goes through at once.
        started = time.monotonic()
        assert http.get(f"{url}/config").status_code == 200
        assert time.monotonic() - started < 2


@pytest.mark.slow
def test_the_preview_applies_intake_limits_and_stays_cheap(server, tmp_path):
    svc, url = server
    big = tmp_path / "huge.png"
    big.write_bytes(png_bytes((7745, 7745)))
    from ui.customer import CustomerHandlers

    handlers = CustomerHandlers(svc)
    started = time.monotonic()
    html = handlers.preview_photos([str(big)] * 30)
    assert time.monotonic() - started < 5
    assert html.count("<figure>") == svc.settings.max_photos  # at most max_photos looked at
    assert "Not a photo we can read" in html and "<img" not in html
    assert "keep at most" in html


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):
        _Recorder.hits.append(self.path)
        body = png_bytes((400, 300))
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.slow
def test_a_link_given_as_a_photo_is_refused_before_any_network_access(server, monkeypatch, tmp_path):
    from gradio import processing_utils

    # Let Gradio's own SSRF guard allow the local address, so only our refusal stands between the call
    # and a download (without it this test's server is hit).
    monkeypatch.setattr(
        processing_utils, "PUBLIC_HOSTNAME_WHITELIST", [*processing_utils.PUBLIC_HOSTNAME_WHITELIST, "127.0.0.1"]
    )
    svc, url = server
    recorder = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=recorder.serve_forever, daemon=True).start()
    link = f"http://127.0.0.1:{recorder.server_address[1]}/photo.png"
    _Recorder.hits.clear()
    try:
        with httpx.Client(timeout=60) as http_client:
            claim = svc.submit_claim("DEMO-1003", EMAIL, DESCRIPTION, [_photo(tmp_path, 11)])
            answers = []
            for photo in (
                {"path": link, "meta": {"_type": "gradio.FileData"}},
                {"path": link, "url": link, "meta": {"_type": "gradio.FileData"}},
            ):
                for api, data in (
                    ("submit_claim", ["DEMO-1004", EMAIL, DESCRIPTION, [photo], ""]),
                    ("add_evidence", [claim["claim_id"], claim["access_token"], "more", [photo]]),
                ):
                    event = http_client.post(f"{url}/gradio_api/call/{api}", json={"data": data}).json()["event_id"]
                    answers.append(http_client.get(f"{url}/gradio_api/call/{api}/{event}").text)
        assert _Recorder.hits == []
        for text in answers:
            assert "event: error" in text and "we do not fetch photos from links" in text, text
    finally:
        recorder.shutdown()


@pytest.mark.slow
def test_uploads_leave_gradios_cache_once_a_claim_stored_them_or_was_refused(server, tmp_path):
    svc, url = server
    with httpx.Client(timeout=60) as http_client:
        good = upload(http_client, url, make_photo(tmp_path / "good.jpg", seed=21))
        raw = _call(http_client, url, "submit_claim", ["DEMO-1005", EMAIL, DESCRIPTION, [_file_data(good)], ""])
        assert "event: complete" in raw and not Path(good).exists()
        refused = upload(http_client, url, make_photo(tmp_path / "refused.jpg", seed=22))
        raw = _call(
            http_client, url, "submit_claim", ["DEMO-1005", "not-an-email", DESCRIPTION, [_file_data(refused)], ""]
        )
        assert "event: error" in raw and not Path(refused).exists()
        claim = json.loads(
            raw_complete(_call(http_client, url, "submit_claim", ["DEMO-1006", EMAIL, DESCRIPTION, [], ""]))
        )
        more = upload(http_client, url, make_photo(tmp_path / "more.jpg", seed=23))
        raw = _call(
            http_client, url, "add_evidence", [claim["claim_id"], claim["access_token"], "another", [_file_data(more)]]
        )
        assert "event: complete" in raw and not Path(more).exists()
    # The server passed the caller's address on: the claims carry its keyed hash.
    row = svc.store._one("SELECT client_ip_hash FROM claims WHERE claim_id = ?", [claim["claim_id"]])
    assert row["client_ip_hash"] == svc.store.client_hash("127.0.0.1")


def _call(http_client: httpx.Client, url: str, api: str, data: list) -> str:
    event = http_client.post(f"{url}/gradio_api/call/{api}", json={"data": data}).json()["event_id"]
    return http_client.get(f"{url}/gradio_api/call/{api}/{event}").text


def raw_complete(text: str) -> str:
    """The JSON of the first output of a completed call's event stream."""
    line = text.split("event: complete", 1)[1].split("data: ", 1)[1].splitlines()[0]
    return json.dumps(json.loads(line)[0])


def _exif_bomb_photo() -> bytes:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "0001:01:01 00:00:00"
    exif.get_ifd(0x8769)[0x9011] = "+25:00"
    out = io.BytesIO()
    image = Image.new("RGB", (640, 480), (200, 40, 40))
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


@pytest.mark.slow
def test_no_answer_to_a_bad_request_names_a_server_path_or_shows_a_traceback(server, tmp_path):
    svc, url = server
    crafted = tmp_path / "crafted.jpg"
    crafted.write_bytes(_exif_bomb_photo())
    texts = {}
    with httpx.Client(timeout=60) as http_client:
        exif_path = upload(http_client, url, crafted)
        photo = lambda path: [{"path": path, "meta": {"_type": "gradio.FileData"}}]  # noqa: E731
        calls = {
            "crafted EXIF": ["DEMO-1007", EMAIL, DESCRIPTION, photo(exif_path), ""],
            "a server file": ["DEMO-1007", EMAIL, DESCRIPTION, photo("/etc/passwd"), ""],
            "a missing upload": ["DEMO-1007", EMAIL, DESCRIPTION, photo(str(Path(exif_path).parent / "gone.jpg")), ""],
            "this module": ["DEMO-1007", EMAIL, DESCRIPTION, photo(__file__), ""],
            "too few arguments": ["DEMO-1007"],
            "wrong types": [1, 2, 3, 4, 5],
            "a photo that is not a FileData": [
                "DEMO-1007",
                EMAIL,
                DESCRIPTION,
                [{"path": 5, "meta": {"_type": "gradio.FileData"}}],
                "",
            ],
        }
        for name, data in calls.items():
            texts[name] = _call(http_client, url, "submit_claim", data)
        texts["status with junk"] = _call(http_client, url, "claim_status", [{"a": 1}, ["b"]])
        post, get = http_client.post, http_client.get
        raw = {
            "unknown api": lambda: post(f"{url}/gradio_api/call/no_such_thing", json={"data": []}),
            "not json": lambda: post(f"{url}/gradio_api/call/submit_claim", content=b"{not json"),
            "data not a list": lambda: post(f"{url}/gradio_api/call/submit_claim", json={"data": 5}),
            "join, bad fn_index": lambda: post(
                f"{url}/gradio_api/queue/join", json={"data": [], "fn_index": 9999, "session_hash": "x"}
            ),
            "join, not json": lambda: post(f"{url}/gradio_api/queue/join", content=b"]["),
            "upload, no files": lambda: post(f"{url}/gradio_api/upload"),
            "upload, not multipart": lambda: post(
                f"{url}/gradio_api/upload", content=b"x" * 100, headers={"Content-Type": "multipart/form-data"}
            ),
            "file route": lambda: get(f"{url}/gradio_api/file=/etc/passwd"),
        }
        for name, send in raw.items():
            try:
                texts[name] = send().text
            except httpx.TransportError:  # the server closed the connection: nothing was said at all
                texts[name] = ""
    assert "not a picture we can read" in texts["crafted EXIF"] or "event: complete" in texts["crafted EXIF"]
    leaks = {name: text[:600] for name, text in texts.items() if LEAKS.search(text)}
    assert not leaks, leaks
    raw_errors = {name: m for name, text in texts.items() for m in error_messages(text) if PYTHON_TEXT.search(m)}
    assert not raw_errors, raw_errors
