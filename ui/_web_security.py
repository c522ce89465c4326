"""The web perimeter: what every request passes before a Gradio app sees it.

Gradio is built for demos on localhost; the review desk runs on a real hostname. So `ui.app.build_app` puts
these plain ASGI middlewares and routes in front of the three mounted apps:

- `ForwardedHeaders` (only with `trust_forwarded_headers`): the scheme and client address a TLS proxy
  reports become the request's own, so everything below (cookies, HSTS, per-IP budgets) sees one truth.
- `SecurityHeaders`: CSP, frame-ancestors, nosniff, Referrer-Policy on every response; HSTS over HTTPS.
- `Perimeter`: on the reviewer mounts, refuses cross-site requests and expired sessions; everywhere, caps
  request bodies and charges uploads to a per-IP hourly budget before Gradio writes a byte to disk.
- `Sessions` with `add_session_routes`: our own login (the password check runs in a worker thread, off the
  event loop) and a logout that is a POST and ends only the session that asks.

Everything here is in process memory, guarded by locks: one server process per database (as `claimbot
serve` runs) is the deployment this serves.

This module is long because its four middlewares share one view of a request (scheme, client address,
mount) and are ordered together; split apart, that shared view would be copied into each.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import html
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio
import fastapi
from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_PORTS = {"http": 80, "https": 443}

# What Gradio's pages need and nothing more: its scripts and styles are its own (some inline; gr.HTML renders
# its templates with `new Function`, hence 'unsafe-eval'), photos are data URIs, file previews blob URLs, and
# it talks only to its own origin. No page may frame the apps; nothing may post a form or send data elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' data: blob:; font-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; worker-src 'self' blob:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'; object-src 'none'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)
HSTS = (b"strict-transport-security", b"max-age=31536000")

UPLOAD_PATH = "/gradio_api/upload"
HEARTBEAT_PATH = "/gradio_api/heartbeat/"
# Chunked upload bodies are held here (never in Gradio's upload folder) until their size is known.
_SPOOL_IN_MEMORY = 1024 * 1024
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class PerimeterConfig:
    protected: tuple[str, ...]  # mount paths behind the reviewers' login
    upload_mounts: tuple[str, ...]  # mount paths whose apps take files ("" is the root)
    allowed_origins: frozenset[str]
    max_upload_request_bytes: int
    max_request_bytes: int
    upload_bytes_per_ip_per_hour: int

    @classmethod
    def from_settings(cls, settings, *, protected: Iterable[str], upload_mounts: Iterable[str]) -> PerimeterConfig:
        return cls(
            protected=tuple(protected),
            upload_mounts=tuple(upload_mounts),
            allowed_origins=frozenset(parse_origins(settings.cors_allow_origins)),
            max_upload_request_bytes=upload_request_cap(settings),
            max_request_bytes=settings.max_request_bytes,
            upload_bytes_per_ip_per_hour=settings.upload_bytes_per_ip_per_hour,
        )


def upload_request_cap(settings) -> int:
    """`max_upload_request_bytes`, or when 0, room for `max_photos` photos of the largest size and the form."""
    if settings.max_upload_request_bytes:
        return int(settings.max_upload_request_bytes)
    return int(settings.max_photos * settings.max_photo_bytes + 1024 * 1024)


# ---- origins -------------------------------------------------------------------------------------------------


def normalize_origin(origin: str) -> str | None:
    """'HTTPS://Shop.Example.com:443/' -> 'https://shop.example.com'; None for what is no http(s) origin."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host:
        return None
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{scheme}://{host}" + (f":{port}" if port and port != DEFAULT_PORTS[scheme] else "")


def parse_origins(spec: str) -> list[str]:
    """The comma-separated `cors_allow_origins` setting as normalized origins; a malformed entry is an error."""
    origins = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        origin = normalize_origin(item)
        parts = urlsplit(item)
        if origin is None or parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
            raise ValueError(f"cors_allow_origins: {item!r} is not an origin like https://shop.example.com")
        origins.append(origin)
    return origins


def own_origin(scope: Scope, headers: Headers) -> str | None:
    """The origin this request was addressed to: its scheme and its Host header."""
    host = headers.get("host")
    if not host:
        return None
    return normalize_origin(f"{scope.get('scheme', 'http')}://{host}")


def cross_site_refusal(scope: Scope, headers: Headers, allowed: frozenset[str]) -> str | None:
    """Why a request to a reviewer app must be refused as cross-site, or None to let it through.

    A browser names the page that sent a request in `Origin` (on every POST and every CORS request) and says
    how it relates to the target in `Sec-Fetch-Site`. A request carrying neither comes from no browser (an API
    client such as gradio_client, which must sign in itself) and passes: cookies are what CSRF abuses, and
    only browsers attach them on their own.
    """
    method = scope.get("method", "GET")
    origin = headers.get("origin")
    if origin is not None:
        sender = normalize_origin(origin)
        if sender is not None and sender in allowed:
            return None
        own = own_origin(scope, headers)
        # Reading with a foreign Origin is a CORS request: refused as well, unless it only differs from ours
        # in scheme (a TLS proxy without trust_forwarded_headers), which cannot change anything.
        same_host = sender is not None and own is not None and _host(sender) == _host(own)
        if sender != own and not (method in SAFE_METHODS and same_host):
            return "foreign origin"
    if headers.get("sec-fetch-site") == "cross-site":
        # Another site may link to the desk (a top-level navigation), never call or embed it.
        navigating = method in SAFE_METHODS and headers.get("sec-fetch-mode") == "navigate"
        if not navigating or headers.get("sec-fetch-dest", "document") != "document":
            return "cross-site request"
    return None


def _host(origin: str) -> str:
    return origin.split("://", 1)[1]


# ---- responses -----------------------------------------------------------------------------------------------


async def _answer(scope: Scope, receive: Receive, send: Send, status: int, text: str, **headers: str) -> None:
    await PlainTextResponse(text, status_code=status, headers=headers or None)(scope, receive, send)


def client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _mount_of(path: str, mounts: Iterable[str]) -> str | None:
    for mount in mounts:
        if path == mount or path.startswith(mount + "/"):
            return mount
    return None


# ---- the proxy's word ----------------------------------------------------------------------------------------


class ForwardedHeaders:
    """Behind a TLS proxy (and only when `trust_forwarded_headers` says there is one): take the scheme from
    `X-Forwarded-Proto` and the client from the last `X-Forwarded-For` hop, the address our proxy saw.

    Never on by default: without a proxy that overwrites them, a client could claim any address (and escape
    its per-IP budgets) or claim HTTPS.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = Headers(scope=scope)
            proto = headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
            if proto in DEFAULT_PORTS:
                scope = dict(scope, scheme=proto if scope["type"] == "http" else proto.replace("http", "ws"))
            hops = [hop.strip() for hop in headers.get("x-forwarded-for", "").split(",") if hop.strip()]
            if hops:
                scope = dict(scope, client=(hops[-1], 0))
        await self.app(scope, receive, send)


# ---- security headers ----------------------------------------------------------------------------------------


class SecurityHeaders:
    """The same security headers on every response of every app (HSTS only when the request came over HTTPS:
    over plain HTTP the header means nothing and would pin a hostname that may not have TLS yet)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = [*SECURITY_HEADERS, *([HSTS] if scope.get("scheme") == "https" else [])]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message = dict(message)
                message["headers"] = [*message.get("headers", []), *[h for h in extra if h[0] not in present]]
            await send(message)

        await self.app(scope, receive, send_with_headers)


# ---- sessions ------------------------------------------------------------------------------------------------


@dataclass
class _Session:
    user: str
    created: float
    seen: float


class Sessions:
    """Idle and absolute expiry for the sessions of a Gradio app behind login.

    Gradio keeps a session as `app.tokens[token] = user` and a cookie holding the token, and never ends one
    on its own. We open sessions ourselves (`open`), remember when each began and was last used, and take a
    token out of `app.tokens` once it is too old: from then on Gradio itself refuses it. A token in
    `app.tokens` that we did not open is refused as well.
    """

    def __init__(self, *, idle_seconds: float, max_seconds: float, clock: Callable[[], float] = time.monotonic):
        self.idle_seconds = idle_seconds
        self.max_seconds = max_seconds
        self.clock = clock
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()
        self._app: Any = None
        self._last_sweep = 0.0

    def bind(self, gradio_app) -> None:
        """The mounted Gradio app whose `tokens` and `cookie_id` hold the sessions (set after share_login)."""
        self._app = gradio_app

    @property
    def tokens(self) -> dict[str, str]:
        return self._app.tokens

    @property
    def cookie_names(self) -> tuple[str, str]:
        """Gradio's two cookie names: the `Secure` one (HTTPS) and the plain one (HTTP), in the order it reads them."""
        cookie_id = self._app.cookie_id
        return f"access-token-{cookie_id}", f"access-token-unsecure-{cookie_id}"

    def token_of(self, headers: Headers) -> str | None:
        cookies = cookie_parser(headers.get("cookie", ""))
        secure, plain = self.cookie_names
        return cookies.get(secure) or cookies.get(plain)  # as Gradio's get_current_user reads them

    def open(self, user: str) -> str:
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self._lock:
            self._sessions[token] = _Session(user, now, now)
            self.tokens[token] = user
        return token

    def close(self, token: str | None) -> None:
        if not token:
            return
        with self._lock:
            self._sessions.pop(token, None)
            self.tokens.pop(token, None)

    def check(self, token: str, *, touch: bool = True) -> bool:
        """True if `token` is a live session (and, with `touch`, mark it used now); an expired or unknown token
        is dropped from Gradio's table."""
        now = self.clock()
        with self._lock:
            session = self._sessions.get(token)
            if session is not None and self.tokens.get(token) == session.user and not self._expired(session, now):
                if touch:
                    session.seen = now
                return True
            self._sessions.pop(token, None)
            self.tokens.pop(token, None)
            return False

    def sweep(self, every_seconds: float = 30.0) -> None:
        """Drop every expired session (at most once per `every_seconds`), so the tables do not grow."""
        now = self.clock()
        with self._lock:
            if now - self._last_sweep < every_seconds:
                return
            self._last_sweep = now
            for token, session in list(self._sessions.items()):
                if self._expired(session, now) or token not in self.tokens:
                    self._sessions.pop(token, None)
                    self.tokens.pop(token, None)

    def _expired(self, session: _Session, now: float) -> bool:
        return now - session.seen > self.idle_seconds or now - session.created > self.max_seconds

    def set_cookie(self, response: Response, token: str, *, https: bool) -> None:
        """The cookie Gradio reads: `Secure` under its secure name over HTTPS, the plain name over HTTP.

        SameSite=Strict: the browser never sends it with a request another site starts. Gradio's login page
        signs in with a same-origin fetch and then reloads itself, so Strict does not get in its way; the one
        cost is that following a link to the desk from another site (a mail client) shows the login form.
        """
        secure, plain = self.cookie_names
        response.set_cookie(secure if https else plain, token, path="/", httponly=True, samesite="strict", secure=https)

    def clear_cookies(self, response: Response) -> None:
        for name in self.cookie_names:
            response.delete_cookie(name, path="/", httponly=True, samesite="strict")


LOGOUT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign out</title></head>
<body style="font-family: system-ui, sans-serif; margin: 3rem auto; max-width: 28rem">
<h1>Sign out of the review desk?</h1>
<form method="post" action="{action}"><button type="submit">Sign out</button></form>
<p><a href="./">Back to the desk</a></p>
</body></html>
"""


def add_session_routes(
    app: fastapi.FastAPI,
    mounts: Iterable[str],
    sessions: Sessions,
    authenticate: Callable[..., bool],
    *,
    threads: int = 2,
) -> None:
    """Our `/login` and `/logout` for each mount in `mounts`, registered on the parent app before the mounts
    so they answer instead of Gradio's.

    Login: `authenticate(username, password, client_ip=...)` (scrypt and SQLite) runs in a worker thread of a
    small pool of its own, so neither the event loop nor Gradio's thread pool waits on a flood of logins.
    Answers as Gradio's does (200 `{"success": true}` or 400), which its login page and gradio_client expect.
    Logout: POST ends the one session whose cookie came with it; GET only shows a form that POSTs.
    """
    limiter = anyio.CapacityLimiter(threads)

    async def login(request: Request) -> Response:
        form = await request.form()
        username = str(form.get("username") or "").strip()
        password = str(form.get("password") or "")
        check = functools.partial(authenticate, username, password, client_ip=client_ip(request.scope))
        if not username or not password or not await anyio.to_thread.run_sync(check, limiter=limiter):
            return JSONResponse({"detail": "Incorrect credentials."}, status_code=400)
        response = JSONResponse({"success": True})
        sessions.set_cookie(response, sessions.open(username), https=request.url.scheme == "https")
        return response

    def logout(request: Request) -> Response:
        sessions.close(sessions.token_of(request.headers))
        response = RedirectResponse("./", status_code=303)
        sessions.clear_cookies(response)
        return response

    def logout_form(request: Request) -> Response:
        return HTMLResponse(LOGOUT_PAGE.format(action=html.escape(request.url.path.rsplit("/", 1)[-1])))

    for mount in mounts:
        for path in (f"{mount}/login", f"{mount}/login/"):
            app.add_api_route(path, login, methods=["POST"], include_in_schema=False)
        for path in (f"{mount}/logout", f"{mount}/logout/"):
            app.add_api_route(path, logout, methods=["POST"], include_in_schema=False)
        app.add_api_route(f"{mount}/logout", logout_form, methods=["GET"], include_in_schema=False)


# ---- upload budget -------------------------------------------------------------------------------------------


class UploadBudget:
    """Bytes each client address may upload within a sliding hour."""

    def __init__(self, bytes_per_hour: int, *, clock: Callable[[], float] = time.monotonic):
        self.bytes_per_hour = bytes_per_hour
        self.clock = clock
        self._spent: dict[str, collections.deque[tuple[float, int]]] = {}
        self._lock = threading.Lock()

    def charge(self, ip: str, size: int) -> bool:
        """Count `size` bytes against `ip`; False (and nothing counted) if that would exceed the budget."""
        now = self.clock()
        with self._lock:
            for key in [k for k, spent in self._spent.items() if spent and spent[-1][0] < now - 3600]:
                del self._spent[key]  # addresses quiet for an hour: forget them
            spent = self._spent.setdefault(ip, collections.deque())
            while spent and spent[0][0] < now - 3600:
                spent.popleft()
            if sum(n for _, n in spent) + size > self.bytes_per_hour:
                return False
            spent.append((now, size))
            return True


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


# ---- the perimeter -------------------------------------------------------------------------------------------


class Perimeter:
    """Cross-site refusal and session expiry on the reviewer mounts; body caps and the upload budget on all."""

    def __init__(self, app: ASGIApp, *, config: PerimeterConfig, sessions: Sessions, budget: UploadBudget) -> None:
        self.app = app
        self.config = config
        self.sessions = sessions
        self.budget = budget

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path: str = scope["path"]
        protected = _mount_of(path, self.config.protected)
        if protected is not None and cross_site_refusal(scope, headers, self.config.allowed_origins):
            await _answer(scope, receive, send, 403, "Cross-site request refused.")
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if protected is not None and not await self._session_ok(scope, receive, send, headers, path):
            return
        if scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        is_upload = path.rstrip("/").endswith(UPLOAD_PATH)
        if is_upload and _mount_of(path, self.config.protected) is not None:
            await _answer(scope, receive, send, 403, "Uploads are not accepted here.")
            return
        cap = self.config.max_upload_request_bytes if is_upload else self.config.max_request_bytes
        await self._capped(scope, receive, send, headers, cap, charge=is_upload)

    async def _session_ok(self, scope: Scope, receive: Receive, send: Send, headers: Headers, path: str) -> bool:
        """False (after answering) when the request carries a session that has ended."""
        self.sessions.sweep()
        if path.rstrip("/").endswith(("/login", "/logout")):
            return True  # signing in over an ended session, or out of one, must work
        token = self.sessions.token_of(headers)
        if not token or token not in self.sessions.tokens:
            return True  # no session: Gradio answers with its login form or a 401
        if self.sessions.check(token, touch=HEARTBEAT_PATH not in path):
            return True
        page_load = scope["method"] in ("GET", "HEAD") and "text/html" in headers.get("accept", "")
        if page_load:
            return True  # the token is gone now: Gradio shows the login form
        await _answer(scope, receive, send, 401, "Your session has ended. Sign in again.")
        return False

    async def _capped(
        self, scope: Scope, receive: Receive, send: Send, headers: Headers, cap: int, *, charge: bool
    ) -> None:
        too_large = (
            f"Upload too large: at most {cap // (1024 * 1024)} MB per request." if charge else "Request too large."
        )
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit() or int(length) > cap:
                await _answer(scope, receive, send, 413, too_large)
                return
            if charge and not self.budget.charge(client_ip(scope), int(length)):
                await _answer(scope, receive, send, 429, "Upload limit for this hour reached. Try again later.")
                return
            await self.app(scope, receive, send)  # the server delivers no more than Content-Length
            return
        # A chunked body: hold it aside until its size is known, so nothing over the cap reaches Gradio.
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as spool:
            try:
                size = await _spool(receive, spool, cap)
            except _TooLarge:
                await _answer(scope, receive, send, 413, too_large)
                return
            except _Disconnected:
                return
            if charge and not self.budget.charge(client_ip(scope), size):
                await _answer(scope, receive, send, 429, "Upload limit for this hour reached. Try again later.")
                return
            spool.seek(0)
            replay_headers = [(k, v) for k, v in scope["headers"] if k not in (b"transfer-encoding", b"content-length")]
            replay_headers.append((b"content-length", str(size).encode()))
            await self.app(dict(scope, headers=replay_headers), _replay(spool, receive), send)


async def _spool(receive: Receive, spool, cap: int) -> int:
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        body = message.get("body", b"")
        size += len(body)
        if size > cap:
            raise _TooLarge
        if body:
            await asyncio.to_thread(spool.write, body)
        if not message.get("more_body", False):
            return size


def _replay(spool, receive: Receive) -> Receive:
    done = False

    async def replay() -> Message:
        nonlocal done
        if done:
            return await receive()  # the client's disconnect, when it comes
        chunk = await asyncio.to_thread(spool.read, _CHUNK)
        more = len(chunk) == _CHUNK
        done = not more
        return {"type": "http.request", "body": chunk, "more_body": more}

    return replay
