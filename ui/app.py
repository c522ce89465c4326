"""One FastAPI server for the three apps: customers at `/`, reviewers at `/review`, managers at `/dashboard`.

`claimbot serve` calls `serve(settings, host, port)`; tests and integrators call `build_app(service)` and run
the result under any ASGI server.
"""

from __future__ import annotations

import inspect
import sys
import threading
from pathlib import Path

import fastapi
import gradio as gr
from fastapi.responses import RedirectResponse

from claims.config import Settings
from claims.errors import ClaimError
from ui import _gradio_compat as compat
from ui import _web_security as web
from ui._theme import CSS, theme
from ui.customer import build_customer_app
from ui.dashboard import build_dashboard_app
from ui.review import build_review_app

LOGIN_MESSAGE = "Review desk and dashboard: sign in with your reviewer account."
REVIEWER_MOUNTS = ("/review", "/dashboard")


class ReviewerLogin:
    """The reviewers' password check over `service.authenticate`; a rate-limited name is simply refused.

    ui._web_security's login route calls it in a worker thread with the client's address; Gradio keeps it as
    the mounted apps' `auth` (so they require login) but never reaches it, our route answering first.
    """

    def __init__(self, service):
        self.service = service
        try:
            self._takes_ip = "client_ip" in inspect.signature(service.authenticate).parameters
        except (TypeError, ValueError):
            self._takes_ip = False

    def __call__(self, username: str, password: str, *, client_ip: str | None = None) -> bool:
        try:
            if self._takes_ip:
                return bool(self.service.authenticate(username, password, client_ip=client_ip))
            return bool(self.service.authenticate(username, password))
        except ClaimError:  # RateLimited: same answer as a wrong password, the lock-out is audited by the service
            return False


def private_dirs(service) -> list[str]:
    """Folders Gradio must never serve or accept as an upload: the database's folder and the photo store."""
    dirs = {Path(service.settings.data_dir)}
    store_path = getattr(getattr(service, "store", None), "path", None)
    if store_path and store_path != ":memory:":
        dirs.add(Path(store_path).parent)
    photo_root = getattr(getattr(service, "photos", None), "root", None)
    if photo_root:
        dirs.add(Path(photo_root))
    return sorted(str(d.resolve()) for d in dirs)


def build_app(service) -> fastapi.FastAPI:
    settings: Settings = service.settings
    app = fastapi.FastAPI(title="claimbot", docs_url=None, redoc_url=None, openapi_url=None)
    perimeter = web.PerimeterConfig.from_settings(settings, protected=REVIEWER_MOUNTS, upload_mounts=("",))
    # Before anything is mounted: with the parent's own CORS (an explicit allow-list), Gradio's stands aside.
    compat.defer_cors(app, sorted(perimeter.allowed_origins))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict:  # async: it needs no worker thread, so busy threads never delay it
        return {"ok": True}

    # "/review" without the slash would fall through to the customer app's mount at "/"; send it home.
    # Relative targets keep working behind a proxy that serves the whole app under a prefix.
    @app.get("/review", include_in_schema=False)
    def review_home() -> RedirectResponse:
        return RedirectResponse("review/", status_code=307)

    @app.get("/dashboard", include_in_schema=False)
    def dashboard_home() -> RedirectResponse:
        return RedirectResponse("dashboard/", status_code=307)

    # Nobody needs Gradio's file route (photos and plots go out inline), so it answers 404; so does its
    # token route, which would hand the session cookie to any script that can read the answer.
    compat.close_file_routes(app)

    login = ReviewerLogin(service)
    sessions = web.Sessions(
        idle_seconds=settings.session_idle_minutes * 60, max_seconds=settings.session_max_hours * 3600
    )
    # Registered before the mounts, so these answer instead of Gradio's own login and logout.
    web.add_session_routes(app, REVIEWER_MOUNTS, sessions, login)
    common = dict(
        theme=theme(),
        css=CSS,
        blocked_paths=private_dirs(service),
        allowed_paths=[],
        max_file_size=settings.max_photo_bytes,
        run_history=False,
        ssr_mode=False,
    )
    customer, review, dashboard = build_customer_app(service), build_review_app(service), build_dashboard_app(service)
    # Starlette matches mounts in order, so "/" (which matches everything) comes last.
    gr.mount_gradio_app(app, review, "/review", auth=login, auth_message=LOGIN_MESSAGE, footer_links=["api"], **common)
    gr.mount_gradio_app(app, dashboard, "/dashboard", auth=login, auth_message=LOGIN_MESSAGE, footer_links=[], **common)
    gr.mount_gradio_app(app, customer, "/", footer_links=["api"], **common)

    # One login for the desk and the dashboard.
    compat.share_login(compat.mounted_app(app, "/review"), compat.mounted_app(app, "/dashboard"))
    sessions.bind(compat.mounted_app(app, "/review"))
    # Uploads must be files the client really uploaded, never any server file it names.
    for blocks in (customer, review, dashboard):
        compat.mark_launched(blocks)
    # Outermost last: the proxy's word (if trusted), then security headers on every answer, then the perimeter.
    app.add_middleware(
        web.Perimeter,
        config=perimeter,
        sessions=sessions,
        budget=web.UploadBudget(settings.upload_bytes_per_ip_per_hour),
    )
    app.add_middleware(web.SecurityHeaders)
    if settings.trust_forwarded_headers:
        app.add_middleware(web.ForwardedHeaders)
    # Each of the above leans on Gradio internals: fail now, loudly, if this Gradio no longer works that way.
    compat.self_check(app, shared_login=("/review", "/dashboard"), own_login=REVIEWER_MOUNTS)
    return app


def warm_up(service) -> None:
    try:
        service.vision, service.text  # noqa: B018  (the properties load the models)
    except Exception as e:  # the first claim will raise the same error where a person sees it
        print(f"warning: could not load the models yet: {e}", file=sys.stderr, flush=True)


def serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from claims import accounts
    from claims.service import ClaimService
    from ui._memory import limit_malloc_arenas

    limit_malloc_arenas()

    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    service = ClaimService.open(Path(settings.data_dir) / "claims.db", settings=settings)
    try:
        if service.generated_reviewer:  # started without the CLI, which otherwise announces it
            print(accounts.announcement(*service.generated_reviewer), file=sys.stderr, flush=True)
        print(
            f"Customers: http://{host}:{port}/   Reviewers: http://{host}:{port}/review/   "
            f"Dashboard: http://{host}:{port}/dashboard/",
            flush=True,
        )
        service.start_dispatcher()
        # Load the models while the server starts, so the first customer does not wait for them.
        threading.Thread(target=warm_up, args=(service,), name="claimbot-warm-up", daemon=True).start()
        # proxy_headers off: uvicorn would otherwise believe X-Forwarded-* from any local client; the app
        # reads them itself, and only when trust_forwarded_headers says a proxy sets them.
        uvicorn.run(build_app(service), host=host, port=port, log_level="warning", proxy_headers=False)
    finally:
        service.close()
