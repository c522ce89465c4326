"""A customer and a reviewer in a real browser (Playwright driving Debian's chromium).

The customer files a claim with photos, sees the result card and presses "Talk to a person"; a reviewer
logs in, opens the case and approves it; the customer's tracking view shows the approval. Every screen is
saved as a screenshot (under docs/ for the README when run as `make screenshots`), so this test runs the real complaint reader, the real vision model when
its weights are present (a double otherwise) and the project's demo photos. The flow does not depend on
what the models decide: "Talk to a person" sends any claim to the desk.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from PIL import Image

from tests._ui_support import (
    REPO,
    REVIEWERS,
    FakeVision,
    open_service,
    real_vision_available,
    running_server,
    sample_photo,
)
from ui.app import build_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Screenshots refresh docs/ only when asked (`make screenshots`), so a plain `make test` leaves the tree clean.
DOCS = (
    REPO / os.environ["CLAIMBOT_SCREENSHOTS"]
    if os.environ.get("CLAIMBOT_SCREENSHOTS")
    else Path(tempfile.mkdtemp(prefix="claimbot-screenshots-"))
)
TIMEOUT_MS = 60_000

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's chromium is not installed at /usr/bin/chromium (`make test` installs it when run as root)",
    ),
]


def _shot(page, name: str, element: str | None = None) -> None:
    """A screenshot in DOCS (the full page, or one element), as a palette PNG to keep the repository small."""
    DOCS.mkdir(exist_ok=True)
    path = DOCS / f"{name}.png"
    page.mouse.move(0, 0)  # no hover styles in the picture
    # Let chained events finish: Gradio dims the outputs of a running event.
    page.wait_for_function("() => !document.querySelector('.pending, .generating')")
    page.wait_for_timeout(400)
    if element:
        page.locator(element).screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=True)
    with Image.open(path) as img:
        small = img.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE)
    small.save(path, optimize=True)


# Earlier claims, so the queue and the dashboard have something to show (order, words, demo photo).
EARLIER_CLAIMS = (
    (
        "DEMO-1007",
        "The wrapping was torn open and the cookbook cover is scuffed. A replacement would be lovely.",
        ("torn_packaging", 0),
    ),
    ("DEMO-1005", "Two of the cups arrived broken. Could you replace them?", ("broken", 0)),
    (
        "DEMO-1008",
        "The lamp box was soaking wet and the shade has a water stain. I'd like a refund.",
        ("water_damage", 0),
    ),
    ("DEMO-1003", "The phone screen is cracked straight out of the box. Replacement please.", ("broken", 4)),
    ("DEMO-1004", "There is a stain on the blanket.", ("surface_damage", 0)),
    ("DEMO-1009", "The kettle arrived dented.", None),
    (
        "DEMO-1002",
        "This is the second vase that arrives smashed. I am furious, I want to speak to a manager!",
        ("broken", 5),
    ),
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    photos = tmp_path_factory.mktemp("photos")
    # Every demo order shares one email; lift the velocity check so the seeded history is not all "fraud".
    service = open_service(
        data, vision=None if real_vision_available() else FakeVision(), text=None, velocity_max_claims=100
    )
    service.start_dispatcher(poll_seconds=0.2)  # workflows run to the local ledger, for the dashboard
    for order, description, photo in EARLIER_CLAIMS:
        service.submit_claim(order, "demo@example.com", description, [sample_photo(*photo, photos)] if photo else [])
    # One earlier case in the queue whose photo is reused by a later claim, so the desk shows a fraud signal.
    reused = sample_photo("broken", 3, photos)
    service.submit_claim("DEMO-1006", "demo@example.com", "The headphones arrived broken, refund please.", [reused])
    service.submit_claim("DEMO-1010", "demo@example.com", "The table top is broken. Refund please.", [reused])
    try:
        with running_server(build_app(service)) as url:
            yield url, service, photos
    finally:
        service.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_a_claim_goes_from_customer_to_reviewer_and_back(server, browser):
    url, service, folder = server
    photos = [str(sample_photo("crushed_packaging", 1, folder)), str(sample_photo("broken", 1, folder))]

    # --- the customer files a claim ----------------------------------------------------------------------
    customer = browser.new_page(viewport={"width": 1200, "height": 900})
    customer.set_default_timeout(TIMEOUT_MS)
    customer.goto(url + "/")
    _field(customer, "order-id").fill("DEMO-1001")
    _field(customer, "email").fill("demo@example.com")
    _field(customer, "description").fill(
        "The box arrived crushed and the cutting board inside is cracked. Could I get a refund, please?"
    )
    customer.locator("#photos input[type=file]").set_input_files(photos)
    customer.locator("#photo-previews img").nth(1).wait_for()
    _shot(customer, "customer-form")

    customer.locator("#submit-claim").click()
    result = customer.locator("#result-card .cb-card")
    result.wait_for()
    claim_id = customer.locator("#cb-claim-id").inner_text().strip()
    token = customer.locator("#cb-access-token").inner_text().strip()
    assert claim_id.startswith("CLM-") and token
    filed = service.claim_status(claim_id, token)
    assert len(filed["photos"]) == 2
    assert filed["message"].splitlines()[0] in result.inner_text()
    _shot(customer, "customer-result")

    # --- "Talk to a person": escalated at once, nothing retyped --------------------------------------------
    customer.locator("#talk-to-person").click()
    human = customer.locator("#human-card .cb-card")
    human.wait_for()
    assert claim_id in human.inner_text()
    status = service.claim_status(claim_id, token)
    assert (status["status"], status["priority"]) == ("in_review", "high")
    customer.get_by_role("tab", name="Track my claim").click()
    customer.locator("#thread .cb-msg").nth(2).wait_for()
    assert customer.locator("#thread img.cb-thumb").count() == 2
    _shot(customer, "customer-thread")

    # --- a reviewer logs in, opens the case and approves it --------------------------------------------------
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    desk = context.new_page()
    desk.set_default_timeout(TIMEOUT_MS)
    desk.goto(url + "/review/")
    desk.locator("input[type=text]").fill("ann")
    desk.locator("input[type=password]").fill(REVIEWERS["ann"])
    _shot(desk, "review-login")
    desk.get_by_role("button", name="Login").click()
    queue = desk.locator("#queue-table")
    queue.wait_for()
    desk.locator("#queue-table tr", has_text=claim_id).wait_for()
    assert "Human requested" in desk.locator("#queue-table tr", has_text=claim_id).inner_text()
    _shot(desk, "review-queue")

    # The duplicate-photo case first, for the screenshot of a fraud signal beside the earlier photo.
    fraud_case = next(i for i in service.queue() if "duplicate_photo" in i["reasons"])["claim_id"]
    _open_case(desk, fraud_case)
    desk.locator("#fraud .cb-side img").nth(1).wait_for()
    _shot(desk, "review-fraud", element="#fraud")

    _open_case(desk, claim_id)
    assert desk.locator("#case-photos img").count() == 2
    assert "You hold this case" in desk.locator("#case-header").inner_text()
    _shot(desk, "review-case")
    desk.locator("#approve-refund").click()
    desk.locator(".cb-decided").wait_for()
    desk.locator("#case-header", has_text="Approved refund").wait_for()
    assert "holds this case" not in desk.locator("#case-header").inner_text()
    assert service.claim_status(claim_id, token)["status"] == "approved_refund"

    # --- the manager's dashboard shares the reviewer's login ---------------------------------------------------
    dash = context.new_page()
    dash.set_default_timeout(TIMEOUT_MS)
    dash.goto(url + "/dashboard/")
    dash.locator("#kpis").wait_for()
    dash.locator("img, canvas").nth(5).wait_for()
    _shot(dash, "dashboard")
    context.close()

    # --- the customer sees the approval in the same conversation ------------------------------------------------
    customer.locator("#track-claim").click()
    customer.locator("#status-card .cb-pill-good").wait_for()
    assert "Approved refund" in customer.locator("#status-card").inner_text()
    assert customer.locator("#thread .cb-actor-reviewer").count() == 1
    _shot(customer, "customer-approved", element="#status-card")
    customer.close()


def _field(page, elem_id: str):
    """The text field inside a Gradio component (a textarea or an input, depending on its type)."""
    return page.locator(f"#{elem_id} textarea, #{elem_id} input").first


def _open_case(desk, claim_id: str) -> None:
    desk.get_by_role("tab", name="Queue").click()
    pick = _field(desk, "case-pick")
    pick.fill(claim_id)
    pick.press("Enter")
    desk.locator("#open-case").click()
    desk.locator("#case-header", has_text=claim_id).wait_for()


def test_the_claim_form_fits_a_phone_screen(server, browser):
    url, _service, _folder = server
    phone = browser.new_page(
        viewport={"width": 390, "height": 844}, device_scale_factor=1, is_mobile=True, has_touch=True
    )
    phone.set_default_timeout(TIMEOUT_MS)
    phone.goto(url + "/")
    phone.locator("#submit-claim").wait_for()
    widths = phone.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1] + 1, f"the page scrolls sideways on a phone: {widths}"
    for element in ("#order-id", "#email", "#description", "#photos", "#talk-to-person", "#submit-claim"):
        box = phone.locator(element).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 391, element
    _shot(phone, "customer-phone")
    phone.close()


def test_talk_to_a_person_before_filing_asks_only_for_order_and_email(server, browser):
    url, _service, _folder = server
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url + "/")
    page.locator("#talk-to-person").click()
    card = page.locator("#human-card .cb-card")
    card.wait_for()
    assert "order number" in card.inner_text() and "email" in card.inner_text()
    page.close()


def test_one_press_files_one_claim_and_another_can_be_started(server, browser):
    url, service, folder = server
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url + "/")
    _field(page, "order-id").fill("DEMO-1007")
    _field(page, "email").fill("demo@example.com")
    _field(page, "description").fill("The cookbook's cover is torn. Replacement please.")
    page.locator("#photos input[type=file]").set_input_files([str(sample_photo("torn_packaging", 2, folder))])
    page.locator("#submit-claim").click()
    page.locator("#result-card .cb-card").wait_for()
    assert page.locator("#submit-claim").is_disabled()
    page.locator("#new-claim").click()
    page.locator("#submit-claim:not([disabled])").wait_for()
    assert _field(page, "order-id").input_value() == ""
    assert not page.locator("#result-card .cb-card").is_visible()
    page.close()
