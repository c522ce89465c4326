"""Hostile input through the HTTP API of the real server: a clear message, nothing stored, the server still up.

Every case is sent with gradio_client (or raw HTTP where the client itself would refuse to send it) to a real
server over a real SQLite store and photo folder; the model doubles of tests/_ui_support.py stand in for the
models, which play no part in refusing input. "Nothing stored" means the row count and the full content of
every table, and the list of files in the photo folder, are identical before and after.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from tests._reliability_support import (
    DESCRIPTION,
    Snapshot,
    connect,
    heic_photo,
    noise_photo,
    png_header_only,
    table_rows,
)
from tests._ui_support import REVIEWERS, open_service, running_server
from ui._html import esc, thread_html
from ui.app import build_app
from ui.review import ReviewHandlers

pytestmark = pytest.mark.slow

ORDER, EMAIL = "DEMO-1002", "demo@example.com"
MEGABYTE = 1024 * 1024


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _encoded(fmt: str, seed: int) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(noise_photo(seed))).save(out, fmt)
    return out.getvalue()


def _bomb() -> bytes:
    """A real decompression bomb: 100 megapixels of one colour in a few kilobytes."""
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, "PNG")
    return out.getvalue()


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
HTML = b"<!doctype html><html><body><script>fetch('/steal?c='+document.cookie)</script></body></html>"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _gif() -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(noise_photo(7))).save(out, "GIF")
    return out.getvalue()


@dataclass
class World:
    """The running server, its data folder, two filed claims and the hostile files."""

    url: str
    data_dir: Path
    service: object
    files: dict[str, Path]
    claims: dict[str, dict]
    many: list[Path]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("data")
    folder = tmp_path_factory.mktemp("hostile")
    built = {
        "good.jpg": noise_photo(1),
        "truncated.jpg": _truncated(noise_photo(2)),
        "truncated.png": _truncated(_encoded("PNG", 3)),
        "truncated.webp": _truncated(_encoded("WEBP", 4)),
        "truncated.heic": _truncated(heic_photo(5)),
        "garbage-after-jpeg-magic.jpg": b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40,
        "bomb-header-only.png": png_header_only(30_000, 30_000),
        "bomb-10000x10000.png": _bomb(),
        "empty.jpg": b"",
        "drawing.jpg": SVG,
        "page.jpg": HTML,
        "document.png": PDF,
        "animation.jpg": _gif(),
        "notes.heic": b"just some text, not a phone photo\n" * 20,
        "good-for-evidence.jpg": noise_photo(6),
    }
    files = {}
    for name, data in built.items():
        (folder / name).write_bytes(data)
        files[name] = folder / name
    many = []
    for i in range(50):
        path = folder / f"many-{i:02d}.jpg"
        path.write_bytes(noise_photo(1000 + i, size=(64, 64)))
        many.append(path)
    # Many claims on the one test order from the one test address: tests/test_budgets.py tests those limits.
    service = open_service(data_dir, claims_per_order_per_hour=1000, claims_per_ip_per_hour=1000)
    try:
        with running_server(build_app(service)) as url:
            client = Client(url + "/", verbose=False)
            claims = {
                name: client.predict(
                    ORDER,
                    EMAIL,
                    DESCRIPTION,
                    [handle_file(str(files["good.jpg"]))] if i == 0 else [],
                    api_name="/submit_claim",
                )
                for i, name in enumerate(("a", "b"))
            }
            client.close()
            yield World(url, data_dir, service, files, claims, many)
    finally:
        service.close()


@pytest.fixture(scope="module")
def customer(world):
    client = Client(world.url + "/", verbose=False)
    yield client
    client.close()  # its heartbeat stream would hold the server's shutdown


@pytest.fixture(scope="module")
def reviewer(world):
    client = Client(world.url + "/review/", auth=("ann", REVIEWERS["ann"]), verbose=False)
    yield client
    client.close()


def _photos(world: World, *names: str) -> list:
    return [handle_file(str(world.files[n])) for n in names]


def _submit(order=ORDER, email=EMAIL, description=DESCRIPTION, photos=("good.jpg",)):
    return lambda w: ("/submit_claim", (order, email, description, _photos(w, *photos)))


def _token_of(name: str):
    return lambda w: w.claims[name]["access_token"]


def _id_of(name: str):
    return lambda w: w.claims[name]["claim_id"]


@dataclass(frozen=True)
class Case:
    id: str
    call: Callable[[World], tuple[str, tuple]]
    message: str  # a regex the error text must match (case-insensitive)
    reviewer: bool = False


NOT_A_PICTURE = r"photo 1 \(.*\) is not a picture we can read: please send a JPEG, PNG, WEBP or HEIC photo"
DAMAGED = r"photo 1 \(.*\) is (damaged or incomplete|not a picture we can read)"
NOT_FOUND = "could not find a claim with that reference and access code"
ORDER_MSG = "enter your order number as it appears in your confirmation email"
EMAIL_MSG = "enter the email address you used for the order"
SQL = "x'); DROP TABLE claims; --"
SQL_OR = "' OR '1'='1' --"
XSS = "<img src=x onerror=alert(document.cookie)>"

CASES = [
    # --- photos -----------------------------------------------------------------------------------------
    Case("truncated-jpeg", _submit(photos=("truncated.jpg",)), r"photo 1 \(truncated.jpg\) is damaged or incomplete"),
    Case("truncated-png", _submit(photos=("truncated.png",)), r"photo 1 \(truncated.png\) is damaged or incomplete"),
    Case("truncated-webp", _submit(photos=("truncated.webp",)), DAMAGED),
    Case("truncated-heic", _submit(photos=("truncated.heic",)), DAMAGED),
    Case("garbage-after-jpeg-magic", _submit(photos=("garbage-after-jpeg-magic.jpg",)), DAMAGED),
    Case(
        "png-bomb-header-only",
        _submit(photos=("bomb-header-only.png",)),
        r"photo 1 \(bomb-header-only.png\) is too large.*; the limit is 60 megapixels",
    ),
    Case(
        "png-bomb-100-megapixels",
        _submit(photos=("bomb-10000x10000.png",)),
        r"photo 1 \(bomb-10000x10000.png\) is too large.*; the limit is 60 megapixels",
    ),
    Case("zero-bytes", _submit(photos=("empty.jpg",)), r"photo 1 \(empty.jpg\) is empty \(0 bytes\)"),
    Case("svg-named-jpg", _submit(photos=("drawing.jpg",)), NOT_A_PICTURE),
    Case("html-named-jpg", _submit(photos=("page.jpg",)), NOT_A_PICTURE),
    Case("pdf-named-png", _submit(photos=("document.png",)), NOT_A_PICTURE),
    Case("gif-named-jpg", _submit(photos=("animation.jpg",)), NOT_A_PICTURE),
    Case("text-named-heic", _submit(photos=("notes.heic",)), NOT_A_PICTURE),
    Case(
        "a-good-photo-then-a-bad-one",
        _submit(photos=("good-for-evidence.jpg", "page.jpg")),
        r"photo 2 \(page.jpg\) is not a picture we can read",
    ),
    Case(
        "fifty-photos",
        lambda w: ("/submit_claim", (ORDER, EMAIL, DESCRIPTION, [handle_file(str(p)) for p in w.many])),
        "You sent 50 photos; please send at most 8",
    ),
    # --- the description --------------------------------------------------------------------------------
    Case("empty-description", _submit(description=""), "tell us in a few words what happened"),
    Case("blank-description", _submit(description=" \n\t "), "tell us in a few words what happened"),
    Case("control-characters-only", _submit(description="\x00\x01\x07\x1b\x7f"), "tell us in a few words"),
    Case(
        "one-megabyte-description",
        _submit(description="broken " * (MEGABYTE // 7)),
        r"Your description is \d+ characters long; please keep it under 5000 characters",
    ),
    # --- the email ----------------------------------------------------------------------------------------
    Case("email-without-at", _submit(email="not-an-email"), EMAIL_MSG),
    Case("email-empty", _submit(email=""), EMAIL_MSG),
    Case("email-sql-injection", _submit(email=SQL_OR), EMAIL_MSG),
    Case("email-html-injection", _submit(email="<script>alert(1)</script>@example.com"), EMAIL_MSG),
    Case("email-with-nul-and-newline", _submit(email="demo@example.com\x00\nBcc: x@evil.test"), EMAIL_MSG),
    Case("email-mixed-scripts", _submit(email="деmо@ехample.com"), EMAIL_MSG),
    Case("email-300-characters", _submit(email="a" * 300 + "@example.com"), EMAIL_MSG),
    # --- the order id -------------------------------------------------------------------------------------
    Case("order-id-punctuation", _submit(order="??"), ORDER_MSG),
    Case("order-id-empty", _submit(order=""), ORDER_MSG),
    Case("order-id-sql-injection", _submit(order="DEMO-1001'; DROP TABLE claims; --"), ORDER_MSG),
    Case("order-id-html-injection", _submit(order=XSS), ORDER_MSG),
    Case("order-id-cyrillic-lookalike", _submit(order="DЕMО-1001"), ORDER_MSG),
    Case("order-id-path-traversal", _submit(order="../../etc/passwd"), ORDER_MSG),
    Case("order-id-control-characters", _submit(order="DEMO-\x00\x1b[31m1001"), ORDER_MSG),
    Case("order-id-100-characters", _submit(order="A" * 100), ORDER_MSG),
    # --- claim ids and access tokens ----------------------------------------------------------------------
    Case("unknown-claim-id", lambda w: ("/claim_status", ("CLM-AAAAAAAAAA", w.claims["a"]["access_token"])), NOT_FOUND),
    Case("claim-id-sql-injection", lambda w: ("/claim_status", (SQL_OR, SQL_OR)), NOT_FOUND),
    Case("claim-id-html-injection", lambda w: ("/claim_status", (XSS, "token")), NOT_FOUND),
    Case("forged-token", lambda w: ("/claim_status", (w.claims["a"]["claim_id"], "A" * 32)), NOT_FOUND),
    Case("empty-token", lambda w: ("/claim_status", (w.claims["a"]["claim_id"], "")), NOT_FOUND),
    Case("one-megabyte-token", lambda w: ("/claim_status", (w.claims["a"]["claim_id"], "x" * MEGABYTE)), NOT_FOUND),
    Case(
        "another-claims-token-to-read",
        lambda w: ("/claim_status", (w.claims["a"]["claim_id"], w.claims["b"]["access_token"])),
        NOT_FOUND,
    ),
    Case(
        "another-claims-token-to-escalate",
        lambda w: ("/request_human", (w.claims["a"]["claim_id"], w.claims["b"]["access_token"], "hi")),
        NOT_FOUND,
    ),
    Case(
        "another-claims-token-to-add-photos",
        lambda w: (
            "/add_evidence",
            (w.claims["b"]["claim_id"], w.claims["a"]["access_token"], "mine now", _photos(w, "good-for-evidence.jpg")),
        ),
        NOT_FOUND,
    ),
    # --- follow-ups on one's own claim --------------------------------------------------------------------
    Case(
        "add-evidence-with-nothing",
        lambda w: ("/add_evidence", (w.claims["b"]["claim_id"], w.claims["b"]["access_token"], "  ", [])),
        "Please add a message or at least one photo",
    ),
    Case(
        "add-evidence-with-a-truncated-photo",
        lambda w: (
            "/add_evidence",
            (w.claims["b"]["claim_id"], w.claims["b"]["access_token"], "here", _photos(w, "truncated.jpg")),
        ),
        r"photo 1 \(truncated.jpg\) is damaged",
    ),
    Case(
        "add-evidence-one-megabyte-message",
        lambda w: ("/add_evidence", (w.claims["b"]["claim_id"], w.claims["b"]["access_token"], "x" * MEGABYTE, [])),
        r"The message is \d+ characters long; please keep it under 5000",
    ),
    Case(
        "request-human-one-megabyte-message",
        lambda w: ("/request_human", (w.claims["b"]["claim_id"], w.claims["b"]["access_token"], "x" * MEGABYTE)),
        r"The message is \d+ characters long",
    ),
    # --- the reviewer's endpoints (signed in) -------------------------------------------------------------
    Case(
        "review-unknown-action",
        lambda w: ("/review_decide", (w.claims["b"]["claim_id"], SQL, "note")),
        "Unknown action",
        reviewer=True,
    ),
    Case(
        "review-deny-without-note",
        lambda w: ("/review_decide", (w.claims["b"]["claim_id"], "deny", "  ")),
        "write a note for the customer",
        reviewer=True,
    ),
    Case(
        "review-one-megabyte-note",
        lambda w: ("/review_decide", (w.claims["b"]["claim_id"], "request_info", "x" * MEGABYTE)),
        r"The note is \d+ characters long",
        reviewer=True,
    ),
    Case("review-case-sql-injection", lambda w: ("/review_case", (SQL_OR,)), NOT_FOUND, reviewer=True),
    Case(
        "review-decide-unknown-claim",
        lambda w: ("/review_decide", ("CLM-AAAAAAAAAA", "approve_refund", "")),
        NOT_FOUND,
        reviewer=True,
    ),
]


def _still_answering(world: World, customer: Client) -> None:
    assert httpx.get(world.url + "/healthz", timeout=10).json() == {"ok": True}
    status = customer.predict(
        world.claims["a"]["claim_id"], world.claims["a"]["access_token"], api_name="/claim_status"
    )
    assert status["claim_id"] == world.claims["a"]["claim_id"]


def test_there_are_at_least_thirty_hostile_cases():
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_gets_a_clear_message_and_changes_nothing(case, world, customer, reviewer):
    endpoint, args = case.call(world)
    before = Snapshot.of(world.data_dir)
    with pytest.raises(AppError, match=f"(?i){case.message}"):
        (reviewer if case.reviewer else customer).predict(*args, api_name=endpoint)
    after = Snapshot.of(world.data_dir)
    assert after.counts == before.counts
    assert after.digests == before.digests
    assert after.files == before.files
    _still_answering(world, customer)


def test_a_60_megabyte_upload_is_refused_by_the_server_and_changes_nothing(world, customer, tmp_path):
    huge = b"\xff\xd8\xff\xe0" + b"\x00" * (60 * MEGABYTE)
    before = Snapshot.of(world.data_dir)
    response = httpx.post(
        world.url + "/gradio_api/upload", files={"files": ("huge.jpg", huge, "image/jpeg")}, timeout=120
    )
    assert response.status_code == 413
    assert "maximum allowed size" in response.text
    assert Snapshot.of(world.data_dir) == before
    # gradio_client refuses it before sending, with the server's limit in the message.
    big = tmp_path / "huge.jpg"
    big.write_bytes(huge)
    with pytest.raises(ValueError, match="exceeds the maximum file size of 26214400 bytes"):
        customer.predict(ORDER, EMAIL, DESCRIPTION, [handle_file(str(big))], api_name="/submit_claim")
    assert Snapshot.of(world.data_dir) == before
    _still_answering(world, customer)


# --- valid input that looks hostile: stored verbatim, shown escaped -----------------------------------------

STRANGE_BUT_VALID = {
    "html": "<script>alert('x')</script><img src=x onerror=alert(1)> The mug arrived broken, refund please.",
    "sql": "Robert'); DROP TABLE claims; -- the lamp is broken; SELECT * FROM reviewers; refund",
    "mixed-scripts": "Кружка разбита 💔 杯子碎了 الكوب مكسور — the mug is broken, refund ‮txt.exe",
}


def _other_rows(world: World, table: str, exclude_claim: str) -> list[tuple]:
    return [r for r in table_rows(world.data_dir / "claims.db", table) if exclude_claim not in r]


@pytest.mark.parametrize("kind", sorted(STRANGE_BUT_VALID))
def test_a_description_that_looks_like_an_attack_is_stored_verbatim_and_rendered_escaped(world, customer, kind):
    text = STRANGE_BUT_VALID[kind]
    db = world.data_dir / "claims.db"
    before = {t: table_rows(db, t) for t in ("claims", "orders", "reviewers", "claim_photos")}
    filed = customer.predict(ORDER, EMAIL, text, [], api_name="/submit_claim")
    claim_id = filed["claim_id"]
    with connect(db) as conn:
        stored = conn.execute("SELECT description FROM claims WHERE claim_id = ?", [claim_id]).fetchone()[0]
    assert stored == text
    assert filed["thread"][0]["text"] == text
    # Every other row is untouched: nothing was executed, no table dropped.
    assert _other_rows(world, "claims", claim_id) == before["claims"]
    for table in ("orders", "reviewers", "claim_photos"):
        assert table_rows(db, table) == before[table]
    # Rendered for the customer and for the reviewer, it is text, never markup.
    customer_html = thread_html(filed["thread"], viewer="customer")
    case = world.service.open_case(claim_id, "bob")
    reviewer_html = ReviewHandlers(world.service)._complaint(case["complaint"])
    for page in (customer_html, reviewer_html):
        assert "<script" not in page and "<img src=x" not in page
        assert esc(text.split(" ")[0]) in page


def test_control_characters_are_stripped_and_every_script_kept(world, customer):
    text = "Bro\x00ken\x1b[2J mug \x07— 壊れた マグ 🫖, refund\x7f please"
    filed = customer.predict(ORDER, EMAIL, text, [], api_name="/submit_claim")
    assert filed["thread"][0]["text"] == "Broken[2J mug — 壊れた マグ 🫖, refund please"


def test_a_reply_and_a_request_for_a_person_that_look_like_attacks_are_stored_verbatim(world, customer):
    claim = customer.predict(ORDER, EMAIL, DESCRIPTION, [], api_name="/submit_claim")
    others_before = _other_rows(world, "claims", claim["claim_id"])
    replied = customer.predict(
        claim["claim_id"], claim["access_token"], STRANGE_BUT_VALID["html"], [], api_name="/add_evidence"
    )
    asked = customer.predict(
        claim["claim_id"], claim["access_token"], STRANGE_BUT_VALID["sql"], api_name="/request_human"
    )
    texts = [m["text"] for m in asked["thread"] if m["actor"] == "customer"]
    assert STRANGE_BUT_VALID["html"] in texts and STRANGE_BUT_VALID["sql"] in texts
    assert replied["claim_id"] == asked["claim_id"] == claim["claim_id"]
    assert "<script" not in thread_html(asked["thread"])
    assert _other_rows(world, "claims", claim["claim_id"]) == others_before


def test_a_reviewer_note_that_looks_like_an_attack_reaches_the_customer_as_text(world, customer, reviewer):
    claim = customer.predict(ORDER, EMAIL, "Broken mug. I want to talk to a person.", [], api_name="/submit_claim")
    others_before = _other_rows(world, "claims", claim["claim_id"])
    note = STRANGE_BUT_VALID["html"] + " " + STRANGE_BUT_VALID["sql"]
    reviewer.predict(claim["claim_id"], api_name="/review_case")
    reviewer.predict(claim["claim_id"], "request_info", note, api_name="/review_decide")
    seen = customer.predict(claim["claim_id"], claim["access_token"], api_name="/claim_status")
    assert note in seen["thread"][-1]["text"]
    page = thread_html(seen["thread"], viewer="customer")
    assert "<script" not in page and "&lt;script&gt;" in page
    assert _other_rows(world, "claims", claim["claim_id"]) == others_before
    messages = [r for r in table_rows(world.data_dir / "claims.db", "messages") if r[1] == claim["claim_id"]]
    assert [(m[3], m[7]) for m in messages if m[3] == "reviewer"] == [("reviewer", "ann")]  # actor, author
