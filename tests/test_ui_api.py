"""The Gradio API of the real server: every public endpoint called with gradio_client, logins, file safety."""

from __future__ import annotations

import itertools
from datetime import UTC

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from tests._ui_support import REVIEWERS, make_photo, open_service, raw_submit, running_server, upload
from ui.app import ReviewerLogin, build_app
from ui.customer import CustomerHandlers
from ui.dashboard import DashboardHandlers, summarize
from ui.review import ReviewHandlers

pytestmark = pytest.mark.slow

DESCRIPTION = "The box was crushed and the mug inside is broken. I would like a refund."
ANN = ("ann", REVIEWERS["ann"])
BOB = ("bob", REVIEWERS["bob"])


class Photos(dict):
    """Named test photos; `fresh()` makes a new, distinct one (a reused photo is a fraud signal)."""

    def __init__(self, folder):
        super().__init__()
        self.folder = folder
        self.seeds = itertools.count(100)
        not_a_photo = folder / "notes.jpg"
        not_a_photo.write_text("this is not a picture")
        self.update(broken=make_photo(folder / "broken.jpg", seed=1), not_a_photo=not_a_photo)

    def fresh(self):
        seed = next(self.seeds)
        return make_photo(self.folder / f"photo-{seed}.jpg", seed=seed)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return Photos(tmp_path_factory.mktemp("photos"))


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    # Many claims from the one demo email: lift the per-email limits that would otherwise hold them.
    # Many claims from the one demo email, the one test address and a few orders: lift the limits that would
    # otherwise hold them (tests/test_budgets.py tests those limits).
    svc = open_service(
        tmp_path_factory.mktemp("data"),
        velocity_max_claims=1000,
        submissions_per_email_per_hour=1000,
        claims_per_ip_per_hour=1000,
        claims_per_order_per_hour=1000,
    )
    yield svc
    svc.close()


@pytest.fixture(scope="module")
def url(service):
    with running_server(build_app(service)) as base:
        yield base


@pytest.fixture(scope="module")
def customer(url):
    return Client(url + "/", verbose=False)


@pytest.fixture(scope="module")
def ann(url):
    return Client(url + "/review/", auth=ANN, verbose=False)


def _file(customer, photos, order="DEMO-1001", description=DESCRIPTION):
    return customer.predict(
        order, "demo@example.com", description, [handle_file(str(photos.fresh()))], api_name="/submit_claim"
    )


# --- the customer endpoints ------------------------------------------------------------------------


def test_submit_claim_with_a_photo_returns_reference_access_code_and_decision(customer, photos):
    result = _file(customer, photos)
    assert result["claim_id"].startswith("CLM-")
    assert len(result["access_token"]) >= 16
    assert result["status"] == "auto_refund"
    assert result["resolution"] == "refund"
    assert result["claim_id"] in result["message"]
    assert isinstance(result["reasons"], list)
    assert [set(p) for p in result["photos"]] == [{"sha256"}]  # no model label or confidence for customers


def test_claim_status_shows_the_thread_to_the_holder_of_the_access_code(customer, photos):
    filed = _file(customer, photos, order="DEMO-1005")
    status = customer.predict(filed["claim_id"], filed["access_token"], api_name="/claim_status")
    assert status["claim_id"] == filed["claim_id"]
    assert "access_token" not in status
    assert status["thread"][0]["actor"] == "customer"
    assert status["thread"][0]["text"] == DESCRIPTION
    assert status["thread"][0]["photos"] == [p["sha256"] for p in filed["photos"]]


def test_claim_status_with_a_wrong_access_code_is_refused_like_an_unknown_claim(customer, photos):
    filed = _file(customer, photos, order="DEMO-1006")
    with pytest.raises(AppError, match="could not find a claim") as wrong:
        customer.predict(filed["claim_id"], "not-the-code", api_name="/claim_status")
    with pytest.raises(AppError, match="could not find a claim") as unknown:
        customer.predict("CLM-NOSUCHCLAIM", filed["access_token"], api_name="/claim_status")
    assert str(wrong.value) == str(unknown.value)


@pytest.mark.parametrize(
    ("order", "email", "description", "photo", "message"),
    [
        ("DEMO-1001", "not-an-email", DESCRIPTION, "broken", "email address"),
        ("??", "demo@example.com", DESCRIPTION, "broken", "order number"),
        ("DEMO-1001", "demo@example.com", "  ", "broken", "what happened"),
        ("DEMO-1001", "demo@example.com", DESCRIPTION, "not_a_photo", "photo"),
    ],
)
def test_bad_input_gets_a_clear_message_and_files_nothing(
    customer, service, photos, order, email, description, photo, message
):
    before = len(service.store.claims_created_between(_epoch(), _far_future()))
    with pytest.raises(AppError, match=f"(?i){message}"):
        customer.predict(order, email, description, [handle_file(str(photos[photo]))], api_name="/submit_claim")
    assert len(service.store.claims_created_between(_epoch(), _far_future())) == before


def test_request_human_sends_the_claim_to_a_person_at_high_priority(customer, photos):
    filed = _file(customer, photos, order="DEMO-1007")
    result = customer.predict(filed["claim_id"], filed["access_token"], "Please call me.", api_name="/request_human")
    assert result["status"] == "in_review"
    assert result["priority"] == "high"
    assert "human_requested" in result["reasons"]
    assert result["thread"][-2]["text"] == "Please call me."


def test_add_evidence_adds_photos_to_the_thread_and_decides_again(customer, photos):
    first = customer.predict("DEMO-1008", "demo@example.com", DESCRIPTION, [], api_name="/submit_claim")
    assert first["status"] == "needs_more_photos"
    result = customer.predict(
        first["claim_id"],
        first["access_token"],
        "Here is a photo.",
        [handle_file(str(photos.fresh()))],
        api_name="/add_evidence",
    )
    assert result["status"] == "auto_refund"
    added = [m for m in result["thread"] if m["text"] == "Here is a photo."]
    assert len(added) == 1 and len(added[0]["photos"]) == 1


def test_the_customer_api_lists_exactly_the_documented_endpoints(customer):
    endpoints = customer.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert set(endpoints) == {"/submit_claim", "/claim_status", "/request_human", "/add_evidence"}
    assert [p["parameter_name"] for p in endpoints["/submit_claim"]["parameters"]] == [
        "order_id",
        "email",
        "description",
        "photos",
        "idempotency_key",
    ]
    assert [p["parameter_name"] for p in endpoints["/add_evidence"]["parameters"]] == [
        "claim_id",
        "access_token",
        "message",
        "photos",
    ]


@pytest.mark.parametrize("mount", ["/review", "/dashboard"])
def test_the_reviewer_apps_answer_without_a_trailing_slash(url, mount):
    response = httpx.get(url + mount, follow_redirects=True)
    assert response.status_code == 200 and str(response.url) == url + mount + "/"


# --- the reviewer endpoints ------------------------------------------------------------------------


@pytest.mark.parametrize("mount", ["/review/", "/dashboard/"])
def test_reviewer_pages_refuse_without_login(url, mount):
    with pytest.raises(Exception, match="(?i)credentials|login"):
        Client(url + mount, verbose=False)
    with pytest.raises(Exception, match="(?i)login"):
        Client(url + mount, auth=("ann", "wrong-password"), verbose=False)
    assert httpx.get(url + mount + "config").status_code == 401


def test_one_login_opens_the_desk_and_the_dashboard_and_one_logout_closes_both(url):
    with httpx.Client() as http:
        assert http.post(f"{url}/review/login", data={"username": ANN[0], "password": ANN[1]}).status_code == 200
        assert http.get(f"{url}/dashboard/config").status_code == 200
        http.post(f"{url}/dashboard/logout")  # a GET only shows the sign-out form
        assert http.get(f"{url}/review/config").status_code == 401
        assert http.get(f"{url}/dashboard/config").status_code == 401


@pytest.mark.parametrize("endpoint", ["review_queue", "review_case", "review_decide"])
def test_reviewer_endpoints_refuse_a_direct_call_without_login(url, endpoint):
    response = httpx.post(f"{url}/review/gradio_api/call/{endpoint}", json={"data": []})
    assert response.status_code == 401
    join = httpx.post(
        f"{url}/review/gradio_api/queue/join",
        json={"data": [], "fn_index": 0, "session_hash": "anon", "event_data": None},
    )
    assert join.status_code == 401


def test_the_reviewer_api_lists_exactly_the_documented_endpoints(ann):
    assert set(ann.view_api(print_info=False, return_format="dict")["named_endpoints"]) == {
        "/review_queue",
        "/review_case",
        "/review_decide",
    }


def test_the_dashboard_exposes_no_api(url):
    dashboard = Client(url + "/dashboard/", auth=ANN, verbose=False)
    assert dashboard.view_api(print_info=False, return_format="dict")["named_endpoints"] == {}


def test_a_reviewer_works_a_case_from_queue_to_decision(url, customer, ann, photos):
    filed = _file(
        customer,
        photos,
        order="DEMO-1009",
        description="The mug is broken and I want to talk to a person. Refund please.",
    )
    assert filed["status"] == "in_review"

    queue = ann.predict(api_name="/review_queue")
    item = next(i for i in queue if i["claim_id"] == filed["claim_id"])
    assert item["priority"] == "high" and "wants_human" in item["reasons"]
    assert item["sla_seconds_left"] > 0

    case = ann.predict(filed["claim_id"], api_name="/review_case")
    assert case["lock"]["reviewer"] == "ann"
    assert case["photos"][0]["label"] == "broken" and "path" not in case["photos"][0]
    assert case["complaint"]["summary"]

    bob = Client(url + "/review/", auth=BOB, verbose=False)
    with pytest.raises(AppError, match="ann is working on this case"):
        bob.predict(filed["claim_id"], api_name="/review_case")
    assert (
        next(i for i in bob.predict(api_name="/review_queue") if i["claim_id"] == filed["claim_id"])["locked_by"]
        == "ann"
    )

    with pytest.raises(AppError, match="(?i)note"):
        ann.predict(filed["claim_id"], "deny", "", api_name="/review_decide")
    decided = ann.predict(filed["claim_id"], "approve_refund", "", api_name="/review_decide")
    assert decided["status"] == "approved_refund"

    seen = customer.predict(filed["claim_id"], filed["access_token"], api_name="/claim_status")
    assert seen["status"] == "approved_refund"
    assert seen["thread"][-1]["actor"] == "reviewer"
    assert "ann" not in str(seen["thread"][-1])
    assert filed["claim_id"] not in [i["claim_id"] for i in ann.predict(api_name="/review_queue")]


def test_request_info_reaches_the_customer_who_answers_in_the_same_thread(customer, ann, photos):
    filed = _file(customer, photos, order="DEMO-1010", description="Broken. I want to talk to a person.")
    ann.predict(filed["claim_id"], api_name="/review_case")
    asked = ann.predict(filed["claim_id"], "request_info", "Was the outer box damaged too?", api_name="/review_decide")
    assert asked["status"] == "info_requested"
    seen = customer.predict(filed["claim_id"], filed["access_token"], api_name="/claim_status")
    assert "Was the outer box damaged too?" in seen["thread"][-1]["text"]
    answered = customer.predict(
        filed["claim_id"], filed["access_token"], "Yes, crushed on one side.", [], api_name="/add_evidence"
    )
    assert answered["status"] == "in_review"


# --- files: nobody reads the photo store through Gradio ---------------------------------------------


def test_a_client_cannot_name_a_server_file_as_its_upload(url, service, customer, photos):
    filed = _file(customer, photos)
    stored = service.customer_photo(filed["claim_id"], filed["access_token"], filed["photos"][0]["sha256"])
    for path in (str(stored), str(photos["broken"])):
        reply = raw_submit(httpx, url, path, order="DEMO-1001", email="demo@example.com", description=DESCRIPTION)
        assert reply.startswith("event: error"), reply
        assert "auto_refund" not in reply


@pytest.mark.parametrize("mount", ["", "/review", "/dashboard"])
def test_the_photo_store_is_not_served_by_gradios_file_route(url, service, customer, photos, mount):
    filed = _file(customer, photos)
    stored = service.customer_photo(filed["claim_id"], filed["access_token"], filed["photos"][0]["sha256"])
    with httpx.Client() as http:
        if mount:
            http.post(f"{url}{mount}/login", data={"username": ANN[0], "password": ANN[1]})
        assert http.get(f"{url}{mount}/gradio_api/file={stored}").status_code in (403, 404)


def test_an_upload_is_never_served_back_by_path(url, photos):
    photo = photos.fresh()
    with httpx.Client() as http:
        uploaded = upload(http, url, photo)
        for prefix in ("", "/review", "/dashboard"):
            for route in ("file=", "file/"):
                response = http.get(f"{url}{prefix}/gradio_api/{route}{uploaded}")
                assert response.status_code == 404 and photo.read_bytes() not in response.content
        reply = raw_submit(
            http,
            url,
            uploaded,
            order="DEMO-1003",
            email="demo@example.com",
            description=DESCRIPTION,
            orig_name=photo.name,
        )
        assert "event: complete" in reply
        assert http.get(f"{url}/gradio_api/file={uploaded}").status_code == 404


def test_two_customers_uploading_the_same_file_both_file_their_claims(url, photos):
    photo = photos.fresh()
    replies = []
    for order in ("DEMO-1004", "DEMO-1006"):
        with httpx.Client() as http:
            replies.append(
                raw_submit(
                    http,
                    url,
                    upload(http, url, photo),
                    order=order,
                    email="demo@example.com",
                    description=DESCRIPTION,
                    orig_name=photo.name,
                )
            )
    assert all("event: complete" in r for r in replies), replies


def test_the_form_files_one_claim_however_often_it_is_sent(service, photos):
    h = CustomerHandlers(service)
    photo = str(photos.fresh())
    first = h.submit_claim(
        "DEMO-1005", "demo@example.com", DESCRIPTION, [photo], "form-key-1", progress=lambda *a, **k: None
    )
    count = len(service.store.claims_created_between(_epoch(), _far_future()))
    again = h.submit_claim(
        "DEMO-1005", "demo@example.com", DESCRIPTION, [photo], "form-key-1", progress=lambda *a, **k: None
    )
    assert again["claim_id"] == first["claim_id"] and again["access_token"] == first["access_token"]
    assert len(service.store.claims_created_between(_epoch(), _far_future())) == count


# --- handlers, called directly -----------------------------------------------------------------------


def test_talk_to_a_person_before_any_claim_explains_what_a_person_needs(service):
    card, session, *_ = CustomerHandlers(service).talk_to_person({}, "", "", "", None, "", "", "")
    assert "order number" in card["value"] and "email" in card["value"]
    assert session == {}


def test_talk_to_a_person_files_what_the_form_holds_and_escalates_it(service, photos):
    h = CustomerHandlers(service)
    card, session, claim_id, token, _status, thread = h.talk_to_person(
        {}, "DEMO-1002", "demo@example.com", "", [str(photos.fresh())], "", "", ""
    )
    status = service.claim_status(claim_id, token)
    assert session == {"claim_id": claim_id, "access_token": token}
    assert (status["status"], status["priority"]) == ("in_review", "high")
    assert "human_requested" in status["reasons"]
    assert len(status["photos"]) == 1
    assert "data:image/jpeg;base64," in thread


def test_pressing_talk_to_a_person_twice_asks_once(service, photos):
    h = CustomerHandlers(service)
    filed = service.submit_claim("DEMO-1007", "demo@example.com", DESCRIPTION, [photos.fresh()])
    session = {"claim_id": filed["claim_id"], "access_token": filed["access_token"]}
    for _ in range(2):
        h.talk_to_person(session, "", "", "", None, "", "", "")
    thread = service.claim_status(filed["claim_id"], filed["access_token"])["thread"]
    assert [m["kind"] for m in thread].count("human_requested") == 1


def test_the_customer_thread_shows_photos_as_data_uris_never_as_paths(service, photos):
    h = CustomerHandlers(service)
    result = h.submit_claim(
        "DEMO-1001", "demo@example.com", DESCRIPTION, [str(photos.fresh())], progress=lambda *a, **k: None
    )
    card, session, _id, _token, _status, thread, *_buttons = h.show_submission(result)
    assert thread.count("data:image/jpeg;base64,") == 1
    assert str(service.photos.root) not in thread and "file=" not in thread
    assert result["access_token"] in card["value"]


def test_previews_flag_a_file_that_is_not_a_photo(service, photos):
    html = CustomerHandlers(service).preview_photos([str(photos["broken"]), str(photos["not_a_photo"])])
    assert html.count("data:image/jpeg;base64,") == 1
    assert "Not a photo we can read" in html


def test_customer_text_is_escaped_in_the_page(service, photos):
    h = CustomerHandlers(service)
    result = h.submit_claim(
        "DEMO-1001",
        "demo@example.com",
        "<img src=x onerror=alert(1)> broken, refund",
        [str(photos.fresh())],
        progress=lambda *a, **k: None,
    )
    thread = h.show_submission(result)[5]
    assert "<img src=x" not in thread and "&lt;img src=x" in thread


def test_a_rate_limited_reviewer_login_is_refused_without_an_error(tmp_path):
    with open_service(tmp_path) as own:
        login = ReviewerLogin(own)
        for _ in range(own.settings.login_max_failures + 1):
            assert login("bob", "wrong") is False
        assert login("bob", REVIEWERS["bob"]) is False  # locked out for the window, even with the right password
        assert login("ann", REVIEWERS["ann"]) is True


def test_the_case_view_shows_a_duplicate_photo_beside_the_earlier_one(service, photos):
    reused = photos.fresh()
    first = service.submit_claim("DEMO-1001", "demo@example.com", DESCRIPTION, [reused])
    second = service.submit_claim("DEMO-1002", "demo@example.com", DESCRIPTION, [reused])
    case = service.open_case(second["claim_id"], "ann")
    fraud_html = ReviewHandlers(service)._fraud(case["fraud_signals"], case["photos"])
    assert "duplicate" in fraud_html.lower()
    assert first["claim_id"] in fraud_html
    assert fraud_html.count("data:image/jpeg;base64,") == 2


def test_the_dashboard_counts_automation_and_draws_every_plot(service):
    h = DashboardHandlers(service)
    kpis, *figures = h.refresh("Last 7 days")
    assert len(figures) == 6 and all(f.axes for f in figures)
    from ui.dashboard import period_bounds

    data = service.dashboard_data(*period_bounds("Last 7 days"))
    summary = summarize(data)
    assert summary["claims"] == len(data["claims"]) > 0
    assert summary["automated"] == sum(c["automated"] for c in data["claims"])
    assert f">{summary['claims']}<" in kpis


def _epoch():
    from datetime import datetime

    return datetime(2000, 1, 1, tzinfo=UTC)


def _far_future():
    from datetime import datetime

    return datetime(2100, 1, 1, tzinfo=UTC)


def test_a_reviewer_label_correction_is_kept_as_a_training_example(service, photos):
    filed = service.submit_claim("DEMO-1002", "demo@example.com", "Broken. Talk to a person please.", [photos.fresh()])
    sha = filed["photos"][0]["sha256"]
    request = type("Request", (), {"username": "ann"})()
    saved = ReviewHandlers(service).correct_label(filed["claim_id"], sha, "surface_damage", request)
    assert "surface_damage" in saved
    assert any(e["sha256"] == sha and e["label"] == "surface_damage" for e in service.labelled_examples())


def test_serve_prints_the_generated_reviewer_password_once_and_runs_the_app(tmp_path, monkeypatch, capsys):
    import uvicorn

    import ui.app
    from claims.config import Settings

    served = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append((app, kw)))
    monkeypatch.setattr(ui.app, "warm_up", lambda service: None)  # no real models in this test
    ui.app.serve(Settings(data_dir=tmp_path, reviewers=""), "127.0.0.1", 8123)
    err = capsys.readouterr().err
    assert "Created reviewer account 'reviewer' with password: " in err
    password = err.split("password: ")[1].split()[0]
    ((app, kwargs),) = served
    assert kwargs["port"] == 8123 and app.title == "claimbot"
    ui.app.serve(Settings(data_dir=tmp_path, reviewers=""), "127.0.0.1", 8123)
    assert "password" not in capsys.readouterr().err  # shown once only
    from claims.service import ClaimService

    with ClaimService.open(
        tmp_path / "claims.db", demo=True, settings=Settings(data_dir=tmp_path, reviewers="")
    ) as svc:
        assert svc.authenticate("reviewer", password)


def test_dashboard_summary_counts_people_photos_and_reasons_separately():
    data = {
        "claims": [
            {
                "status": "auto_refund",
                "automated": True,
                "created_at": "2026-01-01T10:00:00+00:00",
                "decided_at": "2026-01-01T10:00:01+00:00",
                "reasons": ["intent_refund"],
            },
            {
                "status": "approved_refund",
                "automated": False,
                "created_at": "2026-01-01T10:00:00+00:00",
                "decided_at": "2026-01-01T12:00:00+00:00",
                "reasons": ["low_confidence", "intent_refund"],
                "sla_due_at": "2026-01-02T10:00:00+00:00",
                "sla_breached": False,
            },
            {
                "status": "in_review",
                "automated": False,
                "created_at": "2026-01-01T10:00:00+00:00",
                "decided_at": None,
                "reasons": ["human_requested", "low_confidence"],
                "sla_due_at": "2026-01-01T11:00:00+00:00",
                "sla_breached": True,
            },
            {
                "status": "needs_more_photos",
                "automated": False,
                "created_at": "2026-01-01T10:00:00+00:00",
                "decided_at": None,
                "reasons": ["no_photos"],
            },
        ],
        "photo_confidences": [],
        "workflows": [],
    }
    summary = summarize(data)
    assert (summary["claims"], summary["automated"], summary["escalated"]) == (4, 1, 2)
    assert summary["waiting_for_photos"] == 1 and summary["open"] == 2 and summary["sla_breaches"] == 1
    assert summary["automation_rate"] == 0.25
    assert summary["median_hours_person"] == 2.0
    assert summary["escalation_reasons"] == {"low_confidence": 2, "human_requested": 1}
