"""Access control on the real server: reviewer login, claim tokens, photo files, audit and rate limits.

Everything goes over HTTP (gradio_client or plain httpx) to `ui.app.build_app` under uvicorn, over a real
store and photo folder; the model doubles of tests/_ui_support.py stand in for the models.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from tests._reliability_support import DESCRIPTION, Snapshot, connect, noise_photo
from tests._ui_support import REVIEWERS, open_service, raw_submit, running_server, upload
from ui.app import build_app

pytestmark = pytest.mark.slow

ANN = ("ann", REVIEWERS["ann"])
FLOOD_LIMIT = 4
NOT_FOUND = "could not find a claim with that reference and access code"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def service(data_dir):
    svc = open_service(data_dir, submissions_per_email_per_hour=FLOOD_LIMIT)
    yield svc
    svc.close()


@pytest.fixture(scope="module")
def url(service):
    with running_server(build_app(service)) as base:
        yield base


@pytest.fixture(scope="module")
def customer(url):
    client = Client(url + "/", verbose=False)
    yield client
    client.close()


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("photos")


def _photo(photo_dir: Path, seed: int) -> Path:
    path = photo_dir / f"photo-{seed}.jpg"
    path.write_bytes(noise_photo(30_000 + seed))
    return path


@pytest.fixture(scope="module")
def two_claims(customer, photo_dir):
    """Two customers' claims (different emails), each with its own photo."""
    filed = {}
    for name, seed in (("alice", 1), ("bert", 2)):
        filed[name] = customer.predict(
            "DEMO-1003",
            f"{name}@example.com",
            DESCRIPTION,
            [handle_file(str(_photo(photo_dir, seed)))],
            api_name="/submit_claim",
        )
    return filed


def _stored_path(service, claim) -> Path:
    return service.customer_photo(claim["claim_id"], claim["access_token"], claim["photos"][0]["sha256"])


# --- reviewer pages and endpoints -------------------------------------------------------------------------

REVIEWER_ROUTES = [
    ("get", "/review/"),
    ("get", "/review/config"),
    ("get", "/review/gradio_api/info"),
    ("post", "/review/gradio_api/call/review_queue"),
    ("post", "/review/gradio_api/call/review_case"),
    ("post", "/review/gradio_api/call/review_decide"),
    ("post", "/review/gradio_api/queue/join"),
    ("get", "/dashboard/"),
    ("get", "/dashboard/config"),
    ("get", "/dashboard/gradio_api/info"),
    ("post", "/dashboard/gradio_api/queue/join"),
]


def _request(http: httpx.Client, method: str, url: str) -> httpx.Response:
    if method == "get":
        return http.get(url)
    return http.post(
        url,
        json={
            "data": ["CLM-AAAAAAAAAA", "approve_refund", ""],
            "fn_index": 0,
            "session_hash": "anon",
            "event_data": None,
        },
    )


def _refused(response: httpx.Response) -> bool:
    """Refused: 401/403, or (for a page) the login form: a config that asks for login and holds no component."""
    if response.status_code in (401, 403):
        return True
    text = response.text
    return response.status_code == 200 and '"auth_required":true' in text and '"components":[]' in text


@pytest.fixture(scope="module")
def wrong_password(url):
    """One client per mount that tried ann's name with a wrong password (one failure each: ann is not locked out)."""
    clients = {}
    for mount in ("/review", "/dashboard"):
        http = httpx.Client()
        login = http.post(f"{url}{mount}/login", data={"username": "ann", "password": "not-" + REVIEWERS["ann"]})
        assert login.status_code in (400, 401)
        clients[mount] = http
    yield clients
    for http in clients.values():
        http.close()


@pytest.mark.parametrize(("method", "route"), REVIEWER_ROUTES, ids=[f"{m}-{r}" for m, r in REVIEWER_ROUTES])
def test_reviewer_routes_refuse_without_login_and_with_a_wrong_password(url, wrong_password, method, route):
    with httpx.Client() as anonymous:
        response = _request(anonymous, method, url + route)
        assert _refused(response), (response.status_code, response.text[:200])
    response = _request(wrong_password["/" + route.split("/")[1]], method, url + route)
    assert _refused(response), (response.status_code, response.text[:200])


@pytest.mark.parametrize("mount", ["/review", "/dashboard"])
def test_a_signed_in_reviewer_gets_through(url, mount):
    with httpx.Client() as http:
        assert http.post(f"{url}{mount}/login", data={"username": ANN[0], "password": ANN[1]}).status_code == 200
        assert http.get(f"{url}{mount}/config").status_code == 200
        assert not _refused(http.get(f"{url}{mount}/"))  # the check above can tell the app from the login form


def test_gradio_client_cannot_open_the_review_desk_with_a_wrong_password(url):
    with pytest.raises(Exception, match="(?i)login|credentials"):
        Client(url + "/review/", auth=("ann", "wrong"), verbose=False)


# --- claims belong to their token -------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["/claim_status", "/request_human", "/add_evidence"])
def test_a_customers_token_opens_only_their_own_claim(url, customer, two_claims, data_dir, photo_dir, endpoint):
    alice, bert = two_claims["alice"], two_claims["bert"]
    args = {
        "/claim_status": (bert["claim_id"], alice["access_token"]),
        "/request_human": (bert["claim_id"], alice["access_token"], "let me in"),
        "/add_evidence": (
            bert["claim_id"],
            alice["access_token"],
            "mine now",
            [handle_file(str(_photo(photo_dir, 9)))],
        ),
    }[endpoint]
    before = Snapshot.of(data_dir)
    with pytest.raises(AppError, match=NOT_FOUND):
        customer.predict(*args, api_name=endpoint)
    assert Snapshot.of(data_dir) == before
    own = customer.predict(alice["claim_id"], alice["access_token"], api_name="/claim_status")
    assert own["claim_id"] == alice["claim_id"]
    assert bert["photos"][0]["sha256"] not in str(own)


def test_the_service_gives_a_claims_photo_only_with_that_claims_token(service, two_claims):
    from claims.errors import ClaimNotFound

    alice, bert = two_claims["alice"], two_claims["bert"]
    assert _stored_path(service, alice).is_file()
    with pytest.raises(ClaimNotFound):
        service.customer_photo(alice["claim_id"], alice["access_token"], bert["photos"][0]["sha256"])
    with pytest.raises(ClaimNotFound):
        service.customer_photo(bert["claim_id"], alice["access_token"], bert["photos"][0]["sha256"])


# --- photo files through Gradio's file routes ------------------------------------------------------------


def _file_route_variants(stored: Path, repo_cwd: Path) -> dict[str, str]:
    absolute = str(stored)
    gradio_cache = Path(os.environ.get("GRADIO_TEMP_DIR") or "/tmp/gradio")
    sha = stored.stem
    return {
        "absolute": absolute,
        "relative-to-server-cwd": os.path.relpath(absolute, repo_cwd),
        "traversal-from-gradio-cache": str(gradio_cache) + "/.." * 8 + absolute,
        "url-encoded-traversal": urllib.parse.quote(str(gradio_cache) + "/../.." + absolute, safe=""),
        "double-slashes": "//" + absolute.replace("/", "//"),
        "guessed-cache-path": f"{gradio_cache}/{sha}/{stored.name}",
        "photo-folder": str(stored.parent.parent),
        "database": str(stored.parent.parent.parent / "claims.db"),
    }


@pytest.mark.parametrize("prefix", ["", "/review", "/dashboard"])
@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in-reviewer"])
def test_no_photo_or_database_file_can_be_fetched_through_gradios_file_routes(
    url, service, two_claims, prefix, signed_in
):
    stored = _stored_path(service, two_claims["bert"])
    secret = stored.read_bytes()
    with httpx.Client() as http:
        if signed_in and prefix:
            http.post(f"{url}{prefix}/login", data={"username": ANN[0], "password": ANN[1]})
        for name, variant in _file_route_variants(stored, Path.cwd()).items():
            for route in (f"{url}{prefix}/gradio_api/file={variant}", f"{url}{prefix}/file={variant}"):
                response = http.get(route)
                assert response.status_code in (401, 403, 404), (name, route, response.status_code)
                assert secret not in response.content


def test_a_replayed_upload_path_does_not_give_the_photo_to_someone_else(url, service, customer, photo_dir):
    photo = _photo(photo_dir, 77)
    with httpx.Client() as owner:
        uploaded = upload(owner, url, photo)
        reply = raw_submit(
            owner,
            url,
            uploaded,
            order="DEMO-1002",
            email="carol@example.com",
            description=DESCRIPTION,
            orig_name=photo.name,
        )
    assert "event: complete" in reply  # the claim was filed with this upload
    with httpx.Client() as stranger:
        replayed = stranger.get(f"{url}/gradio_api/file={uploaded}")
    assert photo.read_bytes() not in replayed.content
    assert replayed.status_code in (403, 404)


# --- audit and rate limits ---------------------------------------------------------------------------------


def _events(service, kind: str) -> list[dict]:
    return [e for e in _all_events(service) if e["kind"] == kind]


def _all_events(service) -> list[dict]:
    with connect(service.store.path) as conn:
        rows = [dict(r) for r in conn.execute("SELECT * FROM events ORDER BY id")]
    return rows


def test_reviewer_logins_are_audited_whether_they_succeed_or_fail(url, service):
    before = {kind: len(_events(service, kind)) for kind in ("login_succeeded", "login_failed")}
    with httpx.Client() as http:
        http.post(f"{url}/review/login", data={"username": "ann", "password": "nope"})
        http.post(f"{url}/review/login", data={"username": ANN[0], "password": ANN[1]})
    failed = _events(service, "login_failed")[before["login_failed"] :]
    succeeded = _events(service, "login_succeeded")[before["login_succeeded"] :]
    assert [e["actor"] for e in failed] == ["reviewer:ann"]
    assert [e["actor"] for e in succeeded] == ["reviewer:ann"]
    assert "nope" not in str(failed) and ANN[1] not in str(succeeded)  # passwords never reach the audit trail


def test_reviewer_decisions_are_audited_with_the_reviewers_name(url, service, customer, photo_dir):
    filed = customer.predict(
        "DEMO-1009",
        "dora@example.com",
        "Broken. I want to talk to a person.",
        [handle_file(str(_photo(photo_dir, 21)))],
        api_name="/submit_claim",
    )
    assert filed["status"] == "in_review"
    ann = Client(url + "/review/", auth=ANN, verbose=False)
    try:
        ann.predict(filed["claim_id"], api_name="/review_case")
        ann.predict(filed["claim_id"], "deny", "The photo shows no damage to the item.", api_name="/review_decide")
    finally:
        ann.close()
    events = [e for e in _all_events(service) if e["claim_id"] == filed["claim_id"]]
    assert [e["kind"] for e in events if e["actor"] == "reviewer:ann"] == ["review_opened", "reviewed"]
    reviewed = next(e for e in events if e["kind"] == "reviewed")
    assert reviewed["status"] == "denied"
    assert "The photo shows no damage" in reviewed["detail"]
    detail = json.loads(reviewed["detail"])
    assert (detail["action"], detail["previous_status"]) == ("deny", "in_review")


def test_repeated_failed_logins_lock_the_name_out_even_with_the_right_password(url, service):
    limit = service.settings.login_max_failures
    with httpx.Client() as http:
        for _ in range(limit):
            assert http.post(f"{url}/review/login", data={"username": "bob", "password": "guess"}).status_code != 200
        locked = http.post(f"{url}/review/login", data={"username": "bob", "password": REVIEWERS["bob"]})
        assert locked.status_code != 200
        assert http.get(f"{url}/review/config").status_code == 401
    assert any(e["kind"] == "login_blocked" and e["actor"] == "reviewer:bob" for e in _all_events(service))
    with httpx.Client() as http:  # another reviewer is not affected
        assert http.post(f"{url}/review/login", data={"username": ANN[0], "password": ANN[1]}).status_code == 200


def test_a_flood_of_submissions_from_one_email_is_rate_limited(customer, data_dir, photo_dir):
    email = "flood@example.com"
    for i in range(FLOOD_LIMIT):
        customer.predict("DEMO-1005", email, f"{DESCRIPTION} ({i})", [], api_name="/submit_claim")
    before = Snapshot.of(data_dir)
    with pytest.raises(AppError, match="many claims from this email address in the last hour"):
        customer.predict(
            "DEMO-1005", email, DESCRIPTION, [handle_file(str(_photo(photo_dir, 31)))], api_name="/submit_claim"
        )
    with pytest.raises(AppError, match="many claims from this email address"):
        customer.predict("DEMO-1005", email.upper(), DESCRIPTION, [], api_name="/submit_claim")  # same address
    assert Snapshot.of(data_dir) == before
    other = customer.predict("DEMO-1005", "someone-else@example.com", DESCRIPTION, [], api_name="/submit_claim")
    assert other["claim_id"].startswith("CLM-")
