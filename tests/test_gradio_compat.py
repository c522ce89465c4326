"""The Gradio workarounds of ui/_gradio_compat.py and the startup self-check that guards them.

The check must pass on the installed Gradio and raise, naming the Gradio version, when Gradio is made to
behave otherwise: a mounted app without session attributes, sessions no longer shared, an upload check that
ignores `has_launched` (or no longer needs it), a file route that moved, a Gradio CORS middleware that no longer
stands aside, a token route that moved, a session table Gradio no longer reads, a login route of Gradio's that
answers before ours.
"""

from __future__ import annotations

import types

import fastapi
import gradio as gr
import pytest
from fastapi.testclient import TestClient
from gradio import processing_utils
from gradio.context import LocalContext

from tests._ui_support import open_service
from ui import _gradio_compat as compat
from ui.app import ReviewerLogin, build_app

pytestmark = pytest.mark.slow  # builds and serves the real Gradio apps


SHARED = ("/review", "/dashboard")
VERSION = f"Gradio {gr.__version__}"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = open_service(tmp_path_factory.mktemp("data"))
    yield svc
    svc.close()


@pytest.fixture(scope="module")
def app(service):
    return build_app(service)


@pytest.fixture
def fresh_app(service):
    """An app of its own, for tests that break it."""
    return build_app(service)


# ---- on the installed Gradio ---------------------------------------------------------------------------------


def test_self_check_passes_on_the_installed_gradio(app):
    compat.self_check(app, shared_login=SHARED)


def test_build_app_applies_every_workaround(app):
    apps = compat.mounted_apps(app)
    assert set(apps) == {"", "/review", "/dashboard"}
    assert apps["/dashboard"].tokens is apps["/review"].tokens
    assert apps["/dashboard"].cookie_id == apps["/review"].cookie_id
    assert apps[""].cookie_id != apps["/review"].cookie_id  # customers share nothing with reviewers
    assert all(gradio_app.get_blocks().has_launched is True for gradio_app in apps.values())


def test_self_check_leaves_no_probe_session_and_the_real_login_in_place(app):
    review = compat.mounted_app(app, "/review")
    compat.self_check(app, shared_login=SHARED)
    assert review.tokens == {}
    assert isinstance(review.auth, ReviewerLogin)
    assert all(gradio_app.get_blocks().has_launched is True for gradio_app in compat.mounted_apps(app).values())


@pytest.mark.parametrize(
    "path",
    [
        "/gradio_api/file=/etc/hosts",
        "/review/gradio_api/file/etc/hosts",
        "/dashboard/gradio_api/proxy=https://example.com/x.jpg",
    ],
)
def test_file_routes_answer_not_found(service, path):
    client = TestClient(build_app(service))  # its own app: a request freezes the middleware stack
    response = client.get(path)
    assert (response.status_code, response.text) == (404, "Not found")


# ---- one login for the desk and the dashboard ----------------------------------------------------------------


def test_self_check_raises_when_the_dashboard_keeps_its_own_sessions(fresh_app):
    compat.mounted_app(fresh_app, "/dashboard").tokens = {}
    with pytest.raises(RuntimeError, match=rf"{VERSION} .*not valid on the other"):
        compat.self_check(fresh_app, shared_login=SHARED)


def test_self_check_raises_when_the_dashboard_names_its_cookie_differently(fresh_app):
    compat.mounted_app(fresh_app, "/dashboard").cookie_id = "another"
    with pytest.raises(RuntimeError, match="not valid on the other"):
        compat.self_check(fresh_app, shared_login=SHARED)


def test_self_check_raises_when_the_dashboard_needs_no_login(fresh_app):
    compat.mounted_app(fresh_app, "/dashboard").auth = None
    with pytest.raises(RuntimeError, match="no login at all"):
        compat.self_check(fresh_app, shared_login=SHARED)


def test_build_app_raises_when_mounted_apps_have_no_tokens(service, monkeypatch):
    configure = gr.routes.App.configure_app

    def configure_without_tokens(self, blocks):  # as if Gradio had renamed its session table
        configure(self, blocks)
        del self.tokens

    monkeypatch.setattr(gr.routes.App, "configure_app", configure_without_tokens)
    with pytest.raises(RuntimeError, match=rf"{VERSION} .*has no tokens attribute"):
        build_app(service)


def test_share_login_refuses_an_app_without_a_cookie_id():
    with pytest.raises(RuntimeError, match="has no cookie_id attribute"):
        compat.share_login(types.SimpleNamespace(tokens={}, cookie_id="x"), types.SimpleNamespace(tokens={}))


# ---- uploads confined to the upload folder -------------------------------------------------------------------


def _check_allowed_reading(attribute: str):
    """Gradio's upload check, as if it were switched on by `attribute` instead of `has_launched`."""
    original = processing_utils._check_allowed

    def check_allowed(path, check_in_upload_folder):
        blocks = LocalContext.blocks.get(None)
        if not getattr(blocks, attribute, False):
            return None
        saved, blocks.has_launched = blocks.has_launched, True
        try:
            return original(path, check_in_upload_folder)
        finally:
            blocks.has_launched = saved

    return check_allowed


def test_build_app_raises_when_gradio_no_longer_reads_has_launched(service, monkeypatch):
    monkeypatch.setattr(processing_utils, "_check_allowed", _check_allowed_reading("is_launched"))
    with pytest.raises(RuntimeError, match=rf"{VERSION} .*accepts a file the client did not upload"):
        build_app(service)


def test_build_app_raises_when_gradio_checks_uploads_without_has_launched(service, monkeypatch):
    monkeypatch.setattr(processing_utils, "_check_allowed", _check_allowed_reading("__class__"))  # always set
    with pytest.raises(RuntimeError, match="mark_launched is likely obsolete"):
        build_app(service)


def test_self_check_raises_when_a_mounted_blocks_is_not_marked(fresh_app):
    compat.mounted_app(fresh_app, "/").get_blocks().has_launched = False
    with pytest.raises(RuntimeError, match="not marked launched"):
        compat.self_check(fresh_app, shared_login=SHARED)


def test_mark_launched_refuses_a_blocks_gradio_gave_no_has_launched():
    with pytest.raises(RuntimeError, match="has no has_launched attribute"):
        compat.mark_launched(types.SimpleNamespace())


# ---- the file route ------------------------------------------------------------------------------------------


def _gradio_like(**paths: str) -> fastapi.FastAPI:
    """A FastAPI app with one GET route per name, at the given path."""
    app = fastapi.FastAPI()
    for name, path in paths.items():
        app.add_api_route(path, lambda: None, name=name)
    return app


GRADIO_PATHS = {
    "file": "/gradio_api/file={path_or_url:path}",
    "file_deprecated": "/gradio_api/file/{path:path}",
    "reverse_proxy": "/gradio_api/proxy={url_path:path}",
}


def test_check_file_routes_accepts_gradios_own_layout():
    compat.check_file_routes(_gradio_like(**GRADIO_PATHS))


def test_check_file_routes_raises_when_a_route_moves_where_the_regex_does_not_reach():
    moved = _gradio_like(**{**GRADIO_PATHS, "file": "/gradio_api/files/{path_or_url:path}"})
    with pytest.raises(RuntimeError, match=rf"{VERSION} .*/gradio_api/files/probe.jpg.*does not close"):
        compat.check_file_routes(moved)


def test_check_file_routes_raises_when_a_route_is_renamed():
    renamed = _gradio_like(
        **{k: v for k, v in GRADIO_PATHS.items() if k != "reverse_proxy"}, proxy=GRADIO_PATHS["reverse_proxy"]
    )
    with pytest.raises(RuntimeError, match="no route named 'reverse_proxy'"):
        compat.check_file_routes(renamed)


def test_mounted_app_raises_when_nothing_is_mounted_there():
    with pytest.raises(RuntimeError, match=rf"{VERSION} .*no starlette Mount at '/review'"):
        compat.mounted_app(fastapi.FastAPI(), "/review")


# ---- CORS, the token route, sessions and our own login -------------------------------------------------------


def test_build_app_gives_the_parent_its_own_cors(app):
    from starlette.middleware.cors import CORSMiddleware

    assert [m for m in app.user_middleware if m.cls is CORSMiddleware]


def test_build_app_raises_when_gradios_cors_no_longer_stands_aside(service, monkeypatch):
    from gradio import route_utils

    monkeypatch.setattr(route_utils.CustomCORSMiddleware, "parent_configures_cors", lambda self: False)
    with pytest.raises(RuntimeError, match=rf"{VERSION} .*Access-Control-Allow-Origin 'https://evil.example'"):
        build_app(service)


def test_check_cors_deferred_raises_when_the_parent_has_no_cors(fresh_app):
    with pytest.raises(RuntimeError, match="no starlette CORSMiddleware"):
        compat.check_cors_deferred(fastapi.FastAPI(), compat.mounted_app(fresh_app, "/review"))


def test_check_token_route_raises_when_the_route_moves():
    moved = _gradio_like(get_token="/gradio_api/session_token")
    with pytest.raises(RuntimeError, match="/gradio_api/session_token, which TOKEN_ROUTE does not close"):
        compat.check_token_route(moved)


def test_check_session_table_raises_when_tokens_no_longer_hold_the_sessions(fresh_app, monkeypatch):
    review = compat.mounted_app(fresh_app, "/review")
    monkeypatch.setattr(review, "tokens", _ForgetfulTokens())
    with pytest.raises(RuntimeError, match=rf"{VERSION} .*no longer finds the session"):
        compat.check_session_table(review)


class _ForgetfulTokens(dict):
    """A session table Gradio no longer consults: writes land, reads find nothing."""

    def get(self, key, default=None):
        return default


def test_self_check_raises_when_gradios_login_route_answers_first(service):
    app = build_app(service)
    # As if Gradio's own routes had been registered before ours: move our login routes behind the mounts.
    ours = [r for r in app.router.routes if getattr(r, "path", "") in ("/review/login", "/review/login/")]
    for route in ours:
        app.router.routes.remove(route)
        app.router.routes.append(route)
    with pytest.raises(RuntimeError, match=r"POST /review/login reaches Gradio's own route"):
        compat.check_own_login(app, "/review")
