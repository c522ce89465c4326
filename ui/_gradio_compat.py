"""The places where ui.app leans on Gradio internals, one function each, and the checks that they still hold.

Gradio's public API has no way to make a mounted app confine uploads to its upload folder, to share one login
between two mounted apps, to switch off the file and token routes, to expire a session, or to put a login of
our own in front of its own; its CORS middleware stands aside only when the parent app has its own. So `ui.app.build_app` does these by hand, through
the functions below, and then calls `self_check(app)`: each assumption is tested against the installed Gradio
(in process, no network, a few milliseconds) and a broken one raises `RuntimeError` naming the Gradio version
and what no longer holds. An upgrade that moves an internal then stops the server at startup (and every test
that builds the app) instead of quietly reopening the hole the workaround closed.

This module is long because every workaround sits next to the check that proves it still holds, on
purpose in one place.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import threading
from pathlib import Path

import fastapi
import gradio as gr
from fastapi import Request
from fastapi.responses import PlainTextResponse
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Match, Mount, NoMatchFound
from starlette.testclient import TestClient

# Gradio's routes that hand a file to whoever names it: the `/gradio_api/file=` route, its deprecated
# `/gradio_api/file/` twin and the `/gradio_api/proxy=` route.
FILE_ROUTE = re.compile(r"/gradio_api/(file[=/]|proxy=)")
# Gradio's route that hands the session cookie's value to any page that can read the response (`get_token`).
TOKEN_ROUTE = re.compile(r"/gradio_api/token/?$")
# The same routes by the names Gradio gives them (routes.py), each with a sample of its path parameters, so
# `check_file_routes` can ask Gradio where they live now.
FILE_ENDPOINTS = {
    "file": {"path_or_url": "probe.jpg"},
    "file_deprecated": {"path": "probe.jpg"},
    "reverse_proxy": {"url_path": "https://example.invalid/probe.jpg"},
}
# A file no client uploaded (inside Gradio's own package, so never in its upload folder); never created.
_PROBE_FILE = Path(gr.__file__).parent / "claimbot-compat-probe.jpg"


def _broken(what: str) -> RuntimeError:
    return RuntimeError(
        f"Gradio {gr.__version__} no longer behaves as ui/_gradio_compat.py assumes: {what}. "
        "The workaround there must be updated for this Gradio version before the server can start."
    )


# ---- mounted apps -------------------------------------------------------------------------------------------


def mounted_app(app: fastapi.FastAPI, path: str):
    """The Gradio app `gr.mount_gradio_app` mounted at `path`.

    Gradio gives no handle on the app it mounts; it adds a starlette `Mount` to the parent's routes.
    """
    for route in app.routes:
        if isinstance(route, Mount) and route.path == path.rstrip("/"):
            if not isinstance(route.app, gr.routes.App):
                raise _broken(f"the Mount at {path!r} holds a {type(route.app).__name__}, not a gradio.routes.App")
            return route.app
    raise _broken(f"gr.mount_gradio_app left no starlette Mount at {path!r}")


def mounted_apps(app: fastapi.FastAPI) -> dict[str, gr.routes.App]:
    """Every Gradio app mounted on `app`, by mount path ("" for the root)."""
    return {
        route.path: route.app
        for route in app.routes
        if isinstance(route, Mount) and isinstance(route.app, gr.routes.App)
    }


# ---- one login for two mounted apps -------------------------------------------------------------------------

_SESSION_ATTRIBUTES = ("tokens", "cookie_id")


def share_login(source, target) -> None:
    """Make a session signed in on `source` valid on `target`, and a sign-out on either end it on both.

    Each mounted Gradio app keeps its own session table (`tokens`: cookie value -> user name) and names its
    cookie after its own random `cookie_id`. Sharing both makes the login cookie one app sets the one the other
    reads, and the table it was recorded in the one the other consults.
    """
    for obj, name in ((source, "source"), (target, "target")):
        missing = [a for a in _SESSION_ATTRIBUTES if not hasattr(obj, a)]
        if missing:
            raise _broken(f"the mounted {name} app ({type(obj).__name__}) has no {', '.join(missing)} attribute")
    target.tokens = source.tokens
    target.cookie_id = source.cookie_id


def check_shared_login(source, target, *, where: str = "") -> None:
    """Sign in on `source` through Gradio's own /login route; the session must open `target`; a sign-out
    on `target` must close `source`.

    Only a throwaway account is accepted while the check runs: `source.auth` (the login callable Gradio
    consults) is swapped for the probe's and put back at once. Requests go to the mounted apps in process.
    """
    where = where or f"{type(source).__name__} -> {type(target).__name__}"
    for obj in (source, target):
        missing = [a for a in (*_SESSION_ATTRIBUTES, "auth") if not hasattr(obj, a)]
        if missing:
            raise _broken(f"{where}: a mounted app has no {', '.join(missing)} attribute")
    if target.auth is None:
        raise _broken(f"{where}: the app that should share the login has no login at all (auth is None)")
    user, password = f"compat-probe-{secrets.token_hex(8)}", secrets.token_urlsafe(16)
    real_auth = source.auth
    source.auth = lambda u, p: u == user and p == password
    try:
        with _client(source) as on_source, _client(target) as on_target:
            signed_in = on_source.post("/login", data={"username": user, "password": password})
            if signed_in.status_code != 200:
                raise _broken(f"{where}: signing in through Gradio's /login answered {signed_in.status_code}")
            cookies = dict(on_source.cookies)
            on_target.cookies.update(cookies)
            if _user(on_target) != user:
                raise _broken(
                    f"{where}: a session signed in on one mounted app is not valid on the other "
                    "(sharing `tokens` and `cookie_id` no longer shares the login)"
                )
            with _client(target) as stranger:
                if _user(stranger) is not None or _login_status(stranger) != 401:
                    raise _broken(f"{where}: the app sharing the login lets a request without a session in")
            on_target.get("/logout", follow_redirects=False)
            on_source.cookies.update(cookies)
            if _user(on_source) is not None:
                raise _broken(f"{where}: signing out of one mounted app leaves the session open on the other")
    finally:
        source.auth = real_auth
        for token in [t for t, name in source.tokens.items() if name == user]:
            source.tokens.pop(token, None)


def _client(gradio_app) -> contextlib.closing[TestClient]:
    # Not `with TestClient(...)`: that would run the app's startup events. The base URL is https so the
    # client sends Gradio's `secure` cookie back, as a browser would.
    return contextlib.closing(TestClient(gradio_app, base_url="https://testserver"))


def _user(client: TestClient) -> str | None:
    response = client.get("/gradio_api/user")
    if response.status_code != 200:
        raise _broken(f"Gradio's /gradio_api/user route answered {response.status_code}")
    return response.json()


def _login_status(client: TestClient) -> int:
    return client.get("/gradio_api/login_check").status_code


# ---- uploads confined to the upload folder -------------------------------------------------------------------


def mark_launched(blocks: gr.Blocks) -> None:
    """Make Gradio check that a file a client sends as an upload really is one of its uploads.

    Gradio only runs that check once the Blocks `has_launched` (gradio/processing_utils.py, `_check_allowed`,
    which `async_move_files_to_cache` calls from `Blocks.preprocess_data`), and only `launch()` sets it, never
    mounting; without it a client could name any server file (the photo store included) as its "upload".
    Mounted under uvicorn, these apps are launched.
    """
    if not hasattr(blocks, "has_launched"):
        raise _broken("gr.Blocks has no has_launched attribute")
    blocks.has_launched = True


def check_upload_confinement(blocks: gr.Blocks, *, where: str = "") -> None:
    """A file reference outside Gradio's upload folder must be refused for `blocks`, and the refusal must be
    the `has_launched` switch's doing: the same Blocks, briefly unmarked, lets the same reference through.
    (Call it before the app serves: the switch is off for the duration of one probe.)"""
    where = where or "a mounted app"
    if getattr(blocks, "has_launched", None) is not True:
        raise _broken(
            f"{where}: its Blocks is not marked launched (has_launched is "
            f"{getattr(blocks, 'has_launched', 'missing')!r})"
        )
    if not _upload_refused(blocks):
        raise _broken(
            f"{where}: with has_launched set, Gradio accepts a file the client did not upload "
            f"({_PROBE_FILE}) as an upload, so has_launched no longer switches its upload check on"
        )
    blocks.has_launched = False
    try:
        refused_unmarked = _upload_refused(blocks)
    finally:
        blocks.has_launched = True
    if refused_unmarked:
        raise _broken(
            f"{where}: a Blocks that has not launched already refuses files the client did not "
            "upload, so Gradio no longer gates that check on has_launched; mark_launched is likely "
            "obsolete (remove it and this check)"
        )


def _upload_refused(blocks: gr.Blocks) -> bool:
    """Run Gradio's preprocessing step for an uploaded file (the one `Blocks.preprocess_data` awaits) on a
    reference to a file nobody uploaded; True if Gradio refuses it."""
    from gradio import processing_utils
    from gradio.context import LocalContext
    from gradio.exceptions import InvalidPathError

    component = gr.File(render=False)
    payload = {"path": str(_PROBE_FILE), "meta": {"_type": "gradio.FileData"}}

    async def preprocess():
        LocalContext.blocks.set(blocks)  # what Gradio sets around every event handler
        await processing_utils.async_move_files_to_cache(payload, component, check_in_upload_folder=True)

    # A thread of its own: build_app may be called from inside a running event loop.
    outcome: list[Exception | None] = []

    def run():
        try:
            asyncio.run(preprocess())
            outcome.append(None)
        except Exception as e:  # handed back to the caller's thread below
            outcome.append(e)

    worker = threading.Thread(target=run, name="gradio-compat-probe")
    worker.start()
    worker.join()
    error = outcome[0] if outcome else RuntimeError("the probe thread ended without an outcome")
    if error is None:
        return False
    if isinstance(error, InvalidPathError):
        return True
    raise _broken(f"preprocessing a file reference raised {type(error).__name__}: {error}") from error


# ---- no file route -------------------------------------------------------------------------------------------


def close_file_routes(app: fastapi.FastAPI) -> None:
    """Answer 404 on every path FILE_ROUTE or TOKEN_ROUTE matches, before Gradio sees the request.

    Gradio serves any upload (and anything in its cache) to whoever presents its path. These apps never hand
    out a file: photos go out as data URIs and plots as inline images. So nobody needs the file route, and
    closing it means a leaked or replayed upload path gives nothing away. The token route returns the session
    cookie's value (which JavaScript cannot otherwise read): nothing of ours uses it.
    """

    @app.middleware("http")
    async def no_file_route(request: Request, call_next):
        if FILE_ROUTE.search(request.url.path) or TOKEN_ROUTE.search(request.url.path):
            return PlainTextResponse("Not found", status_code=404)
        return await call_next(request)


def check_file_routes(gradio_app, *, where: str = "") -> None:
    """Each of Gradio's file-serving routes (FILE_ENDPOINTS) must still exist and live at a path FILE_ROUTE
    matches; a renamed or moved route would otherwise be served again."""
    where = where or "the mounted app"
    for name, params in FILE_ENDPOINTS.items():
        try:
            path = gradio_app.url_path_for(name, **params)
        except NoMatchFound:
            raise _broken(
                f"{where} has no route named {name!r} (with parameters {sorted(params)}), so the "
                "file routes FILE_ROUTE closes may have been renamed or moved"
            ) from None
        if not FILE_ROUTE.search(str(path)):
            raise _broken(
                f"Gradio's {name!r} route now lives at {path}, which FILE_ROUTE ({FILE_ROUTE.pattern}) does not close"
            )


# ---- CORS: the parent app's, never Gradio's ------------------------------------------------------------------


def defer_cors(app: fastapi.FastAPI, origins: list[str]) -> None:
    """Give the parent app starlette's CORSMiddleware with our allow-list, so Gradio's own stands aside.

    Gradio adds a `CustomCORSMiddleware` to every app it mounts (gradio/route_utils.py). On any host but
    localhost it echoes whatever `Origin` a request names, with credentials allowed: any site could read the
    review desk with the reviewer's cookie. It does nothing when the parent's `user_middleware` holds
    starlette's `CORSMiddleware` (its `parent_configures_cors`, documented on `mount_gradio_app`). Gradio
    caches that answer at the first request, so this must run before the app serves anything.
    """
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_credentials=True,
        allow_methods=["GET", "POST"],
        allow_headers=["*"],
    )


def check_cors_deferred(app: fastapi.FastAPI, gradio_app, *, where: str = "") -> None:
    """The parent has starlette's CORSMiddleware, and the mounted app, asked from a foreign origin on a
    non-localhost host, echoes no origin (simple request and preflight)."""
    where = where or "the mounted app"
    if not any(m.cls is CORSMiddleware for m in getattr(app, "user_middleware", [])):
        raise _broken("the parent app has no starlette CORSMiddleware, so Gradio's own CORS middleware is in effect")
    foreign = {"host": "claims.example.com", "origin": "https://evil.example"}
    with _client(gradio_app) as client:
        simple = client.get("/gradio_api/app_id", headers=foreign)
        preflight = client.options(
            "/gradio_api/queue/join", headers={**foreign, "access-control-request-method": "POST"}
        )
    for name, response in (("a request", simple), ("a preflight", preflight)):
        if "access-control-allow-origin" in response.headers:
            raise _broken(
                f"{where} answers {name} from a foreign origin with Access-Control-Allow-Origin "
                f"{response.headers['access-control-allow-origin']!r}: Gradio's CORS middleware no longer "
                "stands aside for the parent app's CORSMiddleware"
            )


# ---- sessions: Gradio's table, our login in front of its own ------------------------------------------------


def check_session_table(gradio_app, *, where: str = "") -> None:
    """Gradio must accept a session exactly while its token is in `tokens`, read from the cookie named
    `access-token-<cookie_id>` (HTTPS) or `access-token-unsecure-<cookie_id>` (HTTP).

    ui._web_security.Sessions opens sessions by adding tokens there and ends them by taking them out.
    """
    where = where or "the mounted app"
    for attribute in _SESSION_ATTRIBUTES:
        if not hasattr(gradio_app, attribute):
            raise _broken(f"{where} has no {attribute} attribute")
    user, token = f"compat-probe-{secrets.token_hex(8)}", secrets.token_urlsafe(16)
    try:
        for name in (f"access-token-{gradio_app.cookie_id}", f"access-token-unsecure-{gradio_app.cookie_id}"):
            with _client(gradio_app) as client:
                gradio_app.tokens[token] = user
                if client.get("/gradio_api/user", headers={"cookie": f"{name}={token}"}).json() != user:
                    raise _broken(f"{where} no longer finds the session of a token in `tokens` sent as cookie {name!r}")
                gradio_app.tokens.pop(token, None)
                if client.get("/gradio_api/user", headers={"cookie": f"{name}={token}"}).json() is not None:
                    raise _broken(f"{where} still accepts a session whose token was taken out of `tokens`")
    finally:
        gradio_app.tokens.pop(token, None)


def check_own_login(app: fastapi.FastAPI, mount: str) -> None:
    """Gradio's login page posts to `login` beside itself, which Gradio serves at its route named 'login'
    (and signs out at 'logout'); on the parent app, a POST to those paths must reach our routes (registered
    before the mounts), never Gradio's own, and uploads must go to the path the perimeter caps."""
    from ui._web_security import UPLOAD_PATH

    gradio_app = mounted_app(app, mount)
    for name in ("login", "logout"):
        try:
            path = str(gradio_app.url_path_for(name))
        except NoMatchFound:
            raise _broken(f"the app mounted at {mount!r} has no route named {name!r}") from None
        if path.rstrip("/") != f"/{name}":
            raise _broken(f"Gradio's {name!r} route now lives at {path}, not /{name} where ours stands in front")
        scope = {"type": "http", "method": "POST", "path": f"{mount}/{name}", "root_path": "", "headers": []}
        first = next((route for route in app.routes if route.matches(scope)[0] is Match.FULL), None)
        if first is None or isinstance(first, Mount):
            raise _broken(f"POST {mount}/{name} reaches Gradio's own route, not ours")
    try:
        upload = str(gradio_app.url_path_for("upload_file"))
    except NoMatchFound:
        raise _broken(f"the app mounted at {mount!r} has no route named 'upload_file'") from None
    if upload != UPLOAD_PATH:
        raise _broken(f"Gradio's upload route now lives at {upload}, not {UPLOAD_PATH} where the perimeter caps it")


def check_token_route(gradio_app, *, where: str = "") -> None:
    """Gradio's token route (named 'get_token') must live where TOKEN_ROUTE closes it."""
    try:
        path = str(gradio_app.url_path_for("get_token"))
    except NoMatchFound:
        raise _broken(f"{where or 'the mounted app'} has no route named 'get_token'") from None
    if not TOKEN_ROUTE.search(path):
        raise _broken(f"Gradio's token route now lives at {path}, which TOKEN_ROUTE does not close")


# ---- everything at once --------------------------------------------------------------------------------------


def self_check(
    app: fastapi.FastAPI, *, shared_login: tuple[str, str] | None = None, own_login: tuple[str, ...] = ()
) -> None:
    """Check every workaround above on the built `app`; raise RuntimeError on the first that no longer holds.

    `shared_login` names the mount paths (source, target) that `share_login` joined; `own_login` the mount
    paths whose login, logout and sessions ui._web_security handles.
    """
    apps = mounted_apps(app)
    if not apps:
        raise _broken("gr.mount_gradio_app left no starlette Mount holding a gradio.routes.App")
    for path, gradio_app in apps.items():
        where = f"the app mounted at {path or '/'!r}"
        check_file_routes(gradio_app, where=where)
        check_token_route(gradio_app, where=where)
        check_cors_deferred(app, gradio_app, where=where)
        if not hasattr(gradio_app, "get_blocks"):
            raise _broken(f"{where} has no get_blocks()")
        check_upload_confinement(gradio_app.get_blocks(), where=where)
    if shared_login is not None:
        source, target = shared_login
        check_shared_login(
            mounted_app(app, source), mounted_app(app, target), where=f"login shared from {source!r} to {target!r}"
        )
    for mount in own_login:
        check_session_table(mounted_app(app, mount), where=f"the app mounted at {mount!r}")
        check_own_login(app, mount)
