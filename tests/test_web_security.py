"""The web perimeter through the real server: CORS and cross-site refusal on the review desk, the closed token
route, expiring sessions, a logout that is a POST, security headers, logins off the event loop, upload caps.

Requests name a real hostname (`Host: claims.example.com`) where Gradio behaves differently from localhost.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn

from tests._ui_support import REVIEWERS, free_port, make_photo, open_service, running_server
from ui import _gradio_compat as compat
from ui.app import build_app

pytestmark = pytest.mark.slow  # every test starts a server

ANN = {"username": "ann", "password": REVIEWERS["ann"]}
HOST = "claims.example.com"
EVIL = "https://evil.example"
SHOP = "https://shop.example.com"
REVIEW_CALL = "/review/gradio_api/call/review_queue"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = open_service(tmp_path_factory.mktemp("data"), cors_allow_origins=SHOP, max_upload_request_bytes=2_000_000)
    yield svc
    svc.close()


@pytest.fixture(scope="module")
def app(service, tmp_path_factory):
    # An upload folder of its own: other test runs on this machine write to the shared default one.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("GRADIO_TEMP_DIR", str(tmp_path_factory.mktemp("gradio-uploads")))
        return build_app(service)


@pytest.fixture(scope="module")
def url(app):
    with running_server(app) as base:
        yield base


@contextmanager
def signed_in(url: str, **headers: str) -> Iterator[httpx.Client]:
    """A client signed in as ann (its default headers go with every request, the login too)."""
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        response = http.post("/review/login", data=ANN)
        assert response.status_code == 200, response.text
        yield http


# ---- CORS and cross-site requests ----------------------------------------------------------------------------


@pytest.mark.parametrize("mount", ["/review", "/dashboard", ""])
def test_a_foreign_origin_gets_no_cors_echo(url, mount):
    with signed_in(url, host=HOST) as http:
        for response in (
            http.get(f"{mount}/gradio_api/info", headers={"origin": EVIL}),
            http.options(
                f"{mount}/gradio_api/queue/join", headers={"origin": EVIL, "access-control-request-method": "POST"}
            ),
        ):
            assert "access-control-allow-origin" not in response.headers  # so the browser lets the page read nothing


@pytest.mark.parametrize(
    "path", [REVIEW_CALL, "/review/gradio_api/queue/join", "/dashboard/gradio_api/queue/join", "/review/logout"]
)
def test_a_signed_in_reviewers_browser_refuses_a_call_from_another_site(url, path):
    with signed_in(url, host=HOST) as http:
        for headers in ({"origin": EVIL}, {"origin": "null"}, {"sec-fetch-site": "cross-site"}):
            response = http.post(path, json={"data": []}, headers=headers)
            assert response.status_code == 403, (headers, response.text)
            assert "access-control-allow-origin" not in response.headers
        assert http.get("/review/config").status_code == 200  # the session survived the attempts


def test_another_site_cannot_read_the_desk_with_the_reviewers_cookie(url):
    with signed_in(url, host=HOST) as http:
        fetch = {"sec-fetch-site": "cross-site", "sec-fetch-mode": "cors", "sec-fetch-dest": "empty", "origin": EVIL}
        assert http.get("/review/config", headers=fetch).status_code == 403
        frame = {"sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate", "sec-fetch-dest": "iframe"}
        assert http.get("/review/", headers=frame).status_code == 403
        link = {"sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate", "sec-fetch-dest": "document"}
        assert http.get("/review/", headers=link).status_code == 200  # a plain link to the desk still opens it


def test_a_cross_site_login_is_refused_and_opens_no_session(url, app):
    tokens = compat.mounted_app(app, "/review").tokens
    before = dict(tokens)
    response = httpx.post(f"{url}/review/login", data=ANN, headers={"host": HOST, "origin": EVIL})
    assert response.status_code == 403
    assert "set-cookie" not in response.headers
    assert tokens == before


def test_the_desks_own_pages_api_clients_and_allowed_origins_still_work(url):
    with signed_in(url, host=HOST) as http:
        own = http.post(
            REVIEW_CALL, json={"data": []}, headers={"origin": f"http://{HOST}", "sec-fetch-site": "same-origin"}
        )
        assert own.status_code == 200, own.text
        assert http.post(REVIEW_CALL, json={"data": []}).status_code == 200  # no Origin: an API client
        allowed = http.post(REVIEW_CALL, json={"data": []}, headers={"origin": SHOP, "sec-fetch-site": "cross-site"})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == SHOP


def test_the_customer_app_stays_open_to_api_calls_from_anywhere(url):
    response = httpx.post(f"{url}/gradio_api/call/claim_status", json={"data": ["x", "y"]}, headers={"origin": EVIL})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers  # but another site cannot read the answer


@pytest.mark.parametrize("path", ["/review/gradio_api/token", "/dashboard/gradio_api/token/", "/gradio_api/token"])
def test_the_token_route_is_closed(url, path):
    with signed_in(url, host=HOST) as http:
        response = http.get(path)
        assert response.status_code == 404
        assert http.cookies.jar and all(c.value not in response.text for c in http.cookies.jar)


# ---- sessions ------------------------------------------------------------------------------------------------


def test_the_session_cookie_is_strict_and_http_only_and_not_secure_over_http(url):
    response = httpx.post(f"{url}/review/login", data=ANN, headers={"host": HOST})
    cookie = response.headers["set-cookie"].lower()
    assert "samesite=strict" in cookie and "httponly" in cookie and "path=/" in cookie
    assert "secure" not in cookie.replace("unsecure", "")


@contextmanager
def served_as_claimbot_serves(app) -> Iterator[str]:
    """uvicorn as `claimbot serve` runs it: believing no X-Forwarded-* header of its own accord."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning", proxy_headers=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the test server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_forwarded_headers_are_ignored_unless_trusted(service):
    with served_as_claimbot_serves(build_app(service)) as url:
        response = httpx.post(
            f"{url}/review/login",
            data=ANN,
            headers={"host": HOST, "x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.9"},
        )
    assert response.status_code == 200
    assert "secure" not in response.headers["set-cookie"].lower().replace("unsecure", "")
    assert "strict-transport-security" not in response.headers


def test_a_wrong_password_gets_gradios_answer_and_no_cookie(url):
    response = httpx.post(f"{url}/review/login", data={"username": "ann", "password": "wrong"})
    assert response.status_code == 400
    assert "set-cookie" not in response.headers


def test_get_logout_ends_nothing_and_post_logout_ends_only_that_session(url):
    with signed_in(url, host=HOST) as first, signed_in(url, host=HOST) as second:
        page = first.get("/review/logout")
        assert page.status_code == 200 and '<form method="post"' in page.text
        assert first.get("/review/config").status_code == 200
        out = first.post("/review/logout", headers={"origin": f"http://{HOST}"})
        assert out.status_code == 303
        assert first.get("/review/config").status_code == 401
        assert first.get("/dashboard/config").status_code == 401
        assert second.get("/review/config").status_code == 200  # ann's other session lives on
        assert second.get("/dashboard/config").status_code == 200


@pytest.fixture(scope="module")
def short_sessions(tmp_path_factory):
    """A server whose sessions end after 1.5 s idle or 4 s in all, behind a trusted TLS proxy."""
    svc = open_service(
        tmp_path_factory.mktemp("short"),
        session_idle_minutes=1.5 / 60,
        session_max_hours=4 / 3600,
        trust_forwarded_headers=True,
    )
    app = build_app(svc)
    try:
        with running_server(app) as base:
            yield base, app
    finally:
        svc.close()


def test_a_session_ends_after_the_idle_time(short_sessions):
    url, app = short_sessions
    with signed_in(url) as http:
        time.sleep(0.8)
        assert http.get("/review/config").status_code == 200
        time.sleep(0.8)
        assert http.get("/review/config").status_code == 200  # each request keeps it alive
        time.sleep(2.0)
        ended = http.get("/review/config")
        assert ended.status_code == 401
        assert not compat.mounted_app(app, "/review").tokens  # gone from Gradio's table too
        page = http.get("/review/", headers={"accept": "text/html"})
        assert page.status_code == 200 and '"auth_required":true' in page.text.replace(" ", "")


def test_a_session_ends_after_the_absolute_time_however_busy(short_sessions):
    url, _ = short_sessions
    with signed_in(url) as http:
        started = time.monotonic()
        while time.monotonic() - started < 3.5:
            assert http.get("/review/config").status_code == 200
            time.sleep(0.5)
        time.sleep(max(0.0, 4.6 - (time.monotonic() - started)))
        assert http.get("/review/config").status_code == 401


def test_behind_a_trusted_proxy_the_cookie_is_secure_and_hsts_is_sent(short_sessions):
    url, _ = short_sessions
    response = httpx.post(f"{url}/review/login", data=ANN, headers={"host": HOST, "x-forwarded-proto": "https"})
    cookie = response.headers["set-cookie"].lower()
    assert "secure" in cookie.replace("unsecure", "") and "samesite=strict" in cookie
    assert response.headers["strict-transport-security"].startswith("max-age=")
    # The browser sends the Secure cookie back over HTTPS, from the page's own https origin.
    name, token = response.headers["set-cookie"].split(";")[0].split("=", 1)
    call = httpx.post(
        f"{url}{REVIEW_CALL}",
        json={"data": []},
        headers={"host": HOST, "x-forwarded-proto": "https", "origin": f"https://{HOST}", "cookie": f"{name}={token}"},
    )
    assert call.status_code == 200, call.text


# ---- security headers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/review/", "/dashboard/", "/healthz", "/review/config", "/no-such-page"])
def test_every_response_carries_the_security_headers(url, path):
    response = httpx.get(url + path, headers={"host": HOST})
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in response.headers  # plain HTTP


# ---- logins off the event loop -------------------------------------------------------------------------------


def _healthz_times(url: str, stop: threading.Event) -> list[float]:
    times = []
    with httpx.Client(timeout=30) as http:
        while not stop.is_set():
            start = time.perf_counter()
            assert http.get(f"{url}/healthz").status_code == 200
            times.append(time.perf_counter() - start)
            time.sleep(0.02)
    return times


def _logins(url: str, count: int, password: str) -> list[int]:
    codes: list[int] = []

    def one(i: int) -> None:
        with httpx.Client(timeout=60) as http:
            codes.append(http.post(f"{url}/review/login", data={"username": "ann", "password": password}).status_code)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return codes


def test_a_slow_password_check_does_not_delay_healthz(tmp_path):
    svc = open_service(tmp_path)
    seen_ips = []
    real = svc.authenticate

    def slow_authenticate(username, password, client_ip=None):
        seen_ips.append(client_ip)
        time.sleep(0.5)  # as a blocking scrypt and SQLite write would, if they ran on the event loop
        return real(username, password)

    svc.authenticate = slow_authenticate
    try:
        with running_server(build_app(svc)) as url:
            stop = threading.Event()
            times: list[float] = []
            probe = threading.Thread(target=lambda: times.extend(_healthz_times(url, stop)))
            probe.start()
            codes = _logins(url, 4, REVIEWERS["ann"])
            stop.set()
            probe.join()
    finally:
        svc.close()
    assert codes == [200] * 4
    assert seen_ips == ["127.0.0.1"] * 4  # the client's address reaches the password check
    assert len(times) >= 5 and max(times) < 0.2, times


def test_healthz_stays_fast_during_a_login_flood(url):
    stop = threading.Event()
    times: list[float] = []
    probe = threading.Thread(target=lambda: times.extend(_healthz_times(url, stop)))
    probe.start()
    try:
        _logins(url, 20, REVIEWERS["ann"])
    finally:
        stop.set()
        probe.join()
    assert len(times) >= 5 and statistics.median(times) < 0.1, times


# ---- uploads -------------------------------------------------------------------------------------------------


def _upload_folder_files(app) -> set[Path]:
    folder = Path(compat.mounted_app(app, "").uploaded_file_dir)
    return set(folder.rglob("*")) if folder.exists() else set()


def _multipart(size: int) -> tuple[bytes, str]:
    boundary = "claimbot-test-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    body += b"\xff" * size + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_an_upload_over_the_cap_gets_413_and_writes_nothing(url, app):
    before = _upload_folder_files(app)
    body, content_type = _multipart(2_100_000)
    response = httpx.post(f"{url}/gradio_api/upload", content=body, headers={"content-type": content_type})
    assert response.status_code == 413
    assert "/" not in response.text and len(response.text) < 80  # short, and no path
    chunked = httpx.post(
        f"{url}/gradio_api/upload",
        content=(body[i : i + 65536] for i in range(0, len(body), 65536)),  # no Content-Length
        headers={"content-type": content_type},
    )
    assert chunked.status_code == 413
    assert _upload_folder_files(app) == before


def test_an_upload_under_the_cap_still_works_chunked_or_not(url, app, tmp_path):
    photo = make_photo(tmp_path / "ok.jpg", seed=5)
    plain = httpx.post(f"{url}/gradio_api/upload", files={"files": ("ok.jpg", photo.read_bytes(), "image/jpeg")})
    assert plain.status_code == 200 and Path(plain.json()[0]).read_bytes() == photo.read_bytes()
    body, content_type = _multipart(300_000)
    chunked = httpx.post(
        f"{url}/gradio_api/upload",
        content=(body[i : i + 65536] for i in range(0, len(body), 65536)),
        headers={"content-type": content_type},
    )
    assert chunked.status_code == 200, chunked.text
    assert Path(chunked.json()[0]).stat().st_size == 300_000


@pytest.mark.parametrize("mount", ["/review", "/dashboard"])
def test_the_reviewer_apps_take_no_uploads(url, app, mount, tmp_path):
    photo = make_photo(tmp_path / "p.jpg", seed=6)
    before = _upload_folder_files(app)
    with signed_in(url) as http:
        response = http.post(f"{mount}/gradio_api/upload", files={"files": ("p.jpg", photo.read_bytes(), "image/jpeg")})
    assert response.status_code == 403
    assert _upload_folder_files(app) == before


def test_an_oversized_api_call_is_refused_before_it_is_read(url):
    response = httpx.post(f"{url}/gradio_api/call/claim_status", content=b'{"data": ["' + b"x" * 9_000_000 + b'"]}')
    assert response.status_code == 413


def test_one_address_gets_a_bounded_upload_budget_per_hour(tmp_path):
    svc = open_service(tmp_path, max_upload_request_bytes=1_000_000, upload_bytes_per_ip_per_hour=2_500_000)
    body, content_type = _multipart(900_000)
    try:
        with running_server(build_app(svc)) as url:
            codes = [
                httpx.post(f"{url}/gradio_api/upload", content=body, headers={"content-type": content_type}).status_code
                for _ in range(4)
            ]
            refused = httpx.post(f"{url}/gradio_api/upload", content=body, headers={"content-type": content_type})
    finally:
        svc.close()
    assert codes == [200, 200, 429, 429]
    assert refused.status_code == 429 and "/" not in refused.text
