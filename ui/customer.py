"""The customer's app, public, mounted at `/`: file a claim, track it, talk to a person.

Public API (api_name is part of the contract, see DESIGN.md): `submit_claim`, `claim_status`, `request_human`,
`add_evidence`. Each returns the service's dict unchanged; the page renders it in a second, private event.

Every function of this app can be called by anyone through Gradio's `queue/join` with its `fn_index`,
private or not, so each one is safe to call with anything: photos are only ever read through the
service's intake checks (size, format allow-list, pixel limits, decode budget), photo links are refused before any
network access (`refuse_links`), and no exception text reaches a client (`ui._errors`). Uploaded files are
removed from Gradio's upload folder as soon as a submission has stored them or was refused.

This module is long because Gradio builds one Blocks layout with its event wiring inside a single `with`
block; the handlers themselves are small top-level methods.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import uuid
from collections import OrderedDict
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder

from claims import lifecycle
from claims.errors import ClaimError, PhotoRejected
from ui._errors import guard_blocks, shown_as
from ui._html import card, esc, image_data_uri, status_copy, status_pill, thread_html

log = logging.getLogger("claimbot.ui")

HUMAN_FALLBACK_DESCRIPTION = "I would like to talk to a person about my delivery."


def reply_box_update(result: dict):
    # Shown while the customer can still add a message or photos (the service decides again).
    return gr.update(visible=result.get("status") in lifecycle.CUSTOMER_MAY_ADD)


# The service's specific errors become a message on the page (and an error for API clients); anything
# else becomes a generic message with a reference id.
user_errors = shown_as("Please check")
# The private events' handlers: they raise no ClaimError of their own, but nothing unexpected may leak either.
internal = shown_as("Sorry")

LINK_REFUSED = "Please attach the photo itself: we do not fetch photos from links."


def _is_link(value) -> bool:
    return str(value or "").strip().lower().startswith(("http://", "https://", "ftp://", "//"))


def refuse_links(files: gr.File) -> gr.File:
    """Make a file input refuse links: Gradio downloads a FileData whose `path` is an http(s) URL before any
    handler runs; this input refuses it before any network access. (A subclass of gr.File would make Gradio
    write a stub file beside this module, hence instance attributes.)"""
    async_move = files.async_move_resource_to_block_cache
    move = files.move_resource_to_block_cache

    def refuse(url_or_file_path) -> None:
        if _is_link(url_or_file_path):
            raise gr.Error(LINK_REFUSED, title="Please check", print_exception=False)

    async def async_move_resource_to_block_cache(url_or_file_path):
        refuse(url_or_file_path)
        return await async_move(url_or_file_path)

    def move_resource_to_block_cache(url_or_file_path):
        refuse(url_or_file_path)
        return move(url_or_file_path)

    files.async_move_resource_to_block_cache = async_move_resource_to_block_cache  # type: ignore[method-assign]
    files.move_resource_to_block_cache = move_resource_to_block_cache  # type: ignore[method-assign]
    return files


def _paths(files) -> list[str]:
    """Gradio hands uploads over as paths (or FileData-like objects); keep only the paths.

    Anything else (a link, a number, a nested structure) is refused as a photo we cannot read."""
    if files is None:
        return []
    if isinstance(files, (str, Path)) or not isinstance(files, (list, tuple)):
        files = [files]
    out = []
    for f in files:
        path = f if isinstance(f, (str, Path)) else getattr(f, "path", None) or getattr(f, "name", None)
        if not path:
            continue
        if not isinstance(path, (str, Path)):
            raise PhotoRejected("One of the photos is not a file we can read: please attach it again.")
        if _is_link(path):
            raise PhotoRejected(LINK_REFUSED)
        out.append(str(path))
    return out


def _client_ip(request: gr.Request | None) -> str:
    """The caller's address as the server saw it (a proxy in front must be trusted by uvicorn to forward it)."""
    client = getattr(request, "client", None)
    return str(getattr(client, "host", None) or "unknown")


class Uploads:
    """Removes uploaded files from Gradio's upload folder once a submission has stored them or was refused
    (Gradio would keep them an hour). Only files inside that folder are touched, whatever a caller named.

    Gradio names an upload by its content, so two customers who upload the same file share one path: the
    second must still be able to send it after the first's claim removed it. So for an hour (at most
    `_REMEMBERED` paths) a removed upload that was stored is answered with the stored copy."""

    _REMEMBERED = 2048
    _FOR_SECONDS = 3600.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stored: OrderedDict[str, tuple[float, str]] = OrderedDict()  # upload path -> (when, stored file)

    def resolve(self, paths: list[str]) -> list[str]:
        """`paths` with each removed upload that was stored replaced by its stored copy."""
        now = time.monotonic()
        out = []
        with self._lock:
            for name in paths:
                remembered = self._stored.get(name)
                if remembered and now - remembered[0] < self._FOR_SECONDS and not Path(name).exists():
                    name = remembered[1]
                out.append(name)
        return out

    def discard(self, paths: list[str], stored: dict[str, str]) -> None:
        """Remove the uploads among `paths`; `stored` maps a file's SHA-256 to where the claim keeps it."""
        folder = Path(get_upload_folder()).resolve()
        for name in paths:
            try:
                path = Path(name).resolve()
                if folder not in path.parents or not path.is_file():
                    continue
                if stored:
                    kept = stored.get(hashlib.sha256(path.read_bytes()).hexdigest())
                    if kept:
                        self._remember(name, kept)
                path.unlink(missing_ok=True)
                if path.parent != folder:
                    os.rmdir(path.parent)  # Gradio keeps each upload in a folder of its own; only if now empty
            except OSError:
                continue

    def _remember(self, name: str, kept: str) -> None:
        with self._lock:
            self._stored[name] = (time.monotonic(), kept)
            self._stored.move_to_end(name)
            while len(self._stored) > self._REMEMBERED:
                self._stored.popitem(last=False)


def _session(result: dict | None) -> dict:
    if not result or not result.get("claim_id"):
        return {}
    return {"claim_id": result["claim_id"], "access_token": result.get("access_token", "")}


class CustomerHandlers:
    """Thin handlers over `ClaimService`; one instance per app, shared by all sessions (it holds no state)."""

    def __init__(self, service):
        self.service = service
        self.uploads = Uploads()

    def _stored_files(self, result: dict | None, claim_id: str = "", token: str = "") -> dict[str, str]:
        """SHA-256 -> stored file of the photos a successful submission kept (for `Uploads`)."""
        if not result:
            return {}
        claim_id = claim_id or result.get("claim_id", "")
        token = token or result.get("access_token", "")
        out = {}
        for photo in result.get("photos", []):
            try:
                out[photo["sha256"]] = str(self.service.customer_photo(claim_id, token, photo["sha256"]))
            except ClaimError:
                continue
        return out

    # ---- public API --------------------------------------------------------------------------
    @user_errors
    def submit_claim(
        self,
        order_id: str,
        email: str,
        description: str,
        photos: list | None,
        idempotency_key: str = "",
        form_key: str = "",
        request: gr.Request = None,  # type: ignore[assignment]  # Gradio injects it
        progress=gr.Progress(),  # noqa: B008 (Gradio injects the tracker through this default)
    ) -> dict:
        """File a claim. A retry with the same `idempotency_key` returns the first answer and files nothing.

        API callers choose the key; the web form uses its own per-form key (`form_key`, not an API parameter).
        """
        progress(0.1, desc="Checking your photos and reading your message")
        key = (str(idempotency_key or "")).strip() or (str(form_key or "")).strip() or None
        paths = self.uploads.resolve(_paths(photos))
        result = None
        try:
            result = self.service.submit_claim(
                _text(order_id),
                _text(email),
                _text(description),
                paths,
                idempotency_key=key,
                client_ip=_client_ip(request),
            )
            return result
        finally:
            self.uploads.discard(paths, self._stored_files(result))

    @user_errors
    def claim_status(self, claim_id: str, access_token: str) -> dict:
        return self.service.claim_status(_text(claim_id).strip(), _text(access_token).strip())

    @user_errors
    def request_human(self, claim_id: str, access_token: str, message: str = "") -> dict:
        return self.service.request_human(_text(claim_id).strip(), _text(access_token).strip(), _text(message))

    @user_errors
    def add_evidence(
        self,
        claim_id: str,
        access_token: str,
        message: str,
        photos: list | None,
        request: gr.Request = None,  # type: ignore[assignment]
        progress=gr.Progress(),  # noqa: B008
    ) -> dict:
        progress(0.1, desc="Adding this to your claim")
        paths = self.uploads.resolve(_paths(photos))
        result = None
        try:
            result = self.service.add_evidence(
                _text(claim_id).strip(),
                _text(access_token).strip(),
                _text(message),
                paths,
                client_ip=_client_ip(request),
            )
            return result
        finally:
            self.uploads.discard(
                paths, self._stored_files(result, _text(claim_id).strip(), _text(access_token).strip())
            )

    # ---- private UI events -------------------------------------------------------------------
    @internal
    def preview_photos(self, files) -> str:
        """Thumbnails of what the customer picked, before anything is sent: the intake's checks and budget
        apply (`ClaimService.photo_preview`), at most `max_photos` are looked at, and only cheaply."""
        try:
            paths = _paths(files)
        except PhotoRejected:
            return '<div class="cb-preview"><p>Please attach photos as files.</p></div>'
        if not paths:
            return ""
        settings = self.service.settings
        figures = []
        for p in paths[: settings.max_photos]:
            name = esc(Path(p).name)
            thumb = self.service.photo_preview(p, max_side=220)
            inner = (
                f'<img src="{image_data_uri(thumb)}" alt="{name}">'
                if thumb is not None
                else '<div class="cb-bad-file">Not a photo we can read</div>'
            )
            figures.append(f"<figure>{inner}<figcaption>{name}</figcaption></figure>")
        extra = len(paths) - settings.max_photos
        note = f"<p>You picked {len(paths)} photos; please keep at most {settings.max_photos}.</p>" if extra > 0 else ""
        return f'<div class="cb-preview">{"".join(figures)}{note}</div>'

    def photo_uri(self, claim_id: str, access_token: str):
        """A function giving a thumbnail for one of this claim's photos, checked by the service."""

        def uri(sha256: str) -> str | None:
            try:
                thumb = self.service.customer_photo_preview(claim_id, access_token, sha256, max_side=200)
            except ClaimError:
                return None
            return image_data_uri(thumb) if thumb is not None else None

        return uri

    @internal
    def result_card(self, result: dict, show_secrets: bool = True) -> str:
        headline, tone, next_steps = status_copy(result.get("status", ""))
        message = esc(result.get("message", "")).replace("\n", "<br>")
        ref = ""
        if show_secrets and result.get("access_token"):
            ref = (
                '<div class="cb-ref">'
                f'<div><small>Reference</small><code id="cb-claim-id">{esc(result["claim_id"])}</code></div>'
                f'<div><small>Access code</small><code id="cb-access-token">{esc(result["access_token"])}</code></div>'
                '</div><p class="cb-next">Keep these two: with them you can follow your claim under '
                "“Track my claim” from any device.</p>"
            )
        body = f"<p>{status_pill(result.get('status', ''))}</p><p>{message}</p>{ref}" + (
            f'<p class="cb-next"><b>What happens next:</b> {esc(next_steps)}</p>' if next_steps else ""
        )
        return card(headline, body, tone, extra_class="cb-result")

    @internal
    def thread_for(self, result: dict, session: dict) -> str:
        photo_uri = self.photo_uri(session.get("claim_id", ""), session.get("access_token", "")) if session else None
        return thread_html(result.get("thread", []), photo_uri=photo_uri, viewer="customer")

    @internal
    def show_submission(self, result: dict):
        """After a submission: result card, remember the claim in this session, prefill tracking."""
        session = _session(result)
        return (
            gr.update(value=self.result_card(result), visible=True),
            session,
            session.get("claim_id", ""),
            session.get("access_token", ""),
            self.result_card(result, show_secrets=False),
            self.thread_for(result, session),
            gr.update(visible=True),
            # One press, one claim: sending the same form again would file a duplicate.
            gr.update(value="Claim sent", interactive=False),
            gr.update(visible=True),
        )

    @internal
    def new_claim(self):
        """A clean form for another claim (say, a second order). The earlier claim is left to its reference
        and access code, so "Talk to a person" now concerns the new form."""
        return (
            "",
            "",
            "",
            None,
            "",
            gr.update(value="", visible=False),
            gr.update(value="Send my claim", interactive=True),
            gr.update(visible=False),
            gr.update(visible=False),
            {},
            "",
            "",
            "",
            "",
            gr.update(visible=False),
            new_submission_key(),
        )

    @internal
    def show_status(self, result: dict, claim_id: str, access_token: str):
        """After tracking or replying: the thread, and the claim becomes this session's claim."""
        session = {"claim_id": (claim_id or "").strip(), "access_token": (access_token or "").strip()}
        summary = self.result_card(result, show_secrets=False)
        # The status card now says where the claim stands; an earlier "a person will take it" card would be stale.
        return (summary, self.thread_for(result, session), session, reply_box_update(result), gr.update(visible=False))

    @internal
    def clear_reply(self):
        return "", None, ""

    @user_errors
    def talk_to_person(
        self,
        session: dict,
        order_id: str,
        email: str,
        description: str,
        photos,
        track_id: str,
        track_token: str,
        reply: str,
        request: gr.Request = None,  # type: ignore[assignment]
    ):
        """The always-visible button: escalate at once with everything the customer has already given.

        With a claim in this session (or typed into "Track my claim") that claim goes to a person. Before any
        claim exists the form's contents are filed as a claim that goes straight to a person. Only when not
        even an order number and email are known do we explain what a person needs.
        """
        session = dict(session) if isinstance(session, dict) else {}
        claim_id = _text(session.get("claim_id")) or _text(track_id).strip()
        token = _text(session.get("access_token")) or _text(track_token).strip()
        if not (claim_id and token):
            if not ((order_id or "").strip() and (email or "").strip()):
                body = (
                    "<p>A person from our team is happy to help. So they can find your order, type your "
                    "<b>order number</b> and <b>email</b> in the form below (that is all they need) and press "
                    "“Talk to a person” again. Anything else you add, words or photos, goes to them too.</p>"
                    "<p>Already have a claim? Enter its reference and access code under “Track my claim” "
                    "first.</p>"
                )
                return (
                    gr.update(value=card("Let's get you to a person", body, "ask"), visible=True),
                    session,
                    gr.skip(),
                    gr.skip(),
                    gr.skip(),
                    gr.skip(),
                )
            # Filing already returns the claim's status: no second look-up.
            paths = self.uploads.resolve(_paths(photos))
            filed = None
            try:
                result = filed = self.service.submit_claim(
                    _text(order_id),
                    _text(email),
                    _text(description).strip() or HUMAN_FALLBACK_DESCRIPTION,
                    paths,
                    client_ip=_client_ip(request),
                )
            finally:
                self.uploads.discard(paths, self._stored_files(filed))
            claim_id, token = result["claim_id"], result["access_token"]
        else:
            result = self.service.claim_status(claim_id, token)
        already = result["status"] == "in_review" and "human_requested" in result["reasons"]
        if not already or _text(reply).strip():  # pressing twice does not queue the claim twice
            result = self.service.request_human(claim_id, token, _text(reply).strip())
        session = {"claim_id": claim_id, "access_token": token}
        body = (
            "<p>Your claim is now with a member of our team, at high priority. They can see everything you "
            "sent, so you will not have to repeat anything. They will reply in your conversation.</p>"
            '<div class="cb-ref">'
            f"<div><small>Reference</small><code>{esc(claim_id)}</code></div>"
            f"<div><small>Access code</small><code>{esc(token)}</code></div></div>"
        )
        return (
            gr.update(value=card("A person will take it from here", body, "wait", "cb-human"), visible=True),
            session,
            claim_id,
            token,
            self.result_card(result, show_secrets=False),
            self.thread_for(result, session),
        )


def _text(value) -> str:
    """A text field as a string, whatever an API caller sent in its place."""
    return value if isinstance(value, str) else "" if value is None else str(value)


def show():
    return gr.update(visible=True)


def new_submission_key() -> str:
    return "form-" + uuid.uuid4().hex


def go_to_tracking():
    return gr.Tabs(selected="track")


INTRO = """
<div class="cb-header"><div><h1>Delivery arrived damaged?</h1>
<div class="cb-sub">Tell us what happened and add a photo or two. Clear cases are settled on the spot; anything
else goes to a person, with everything you sent.</div></div></div>
"""


def build_customer_app(service) -> gr.Blocks:
    h = CustomerHandlers(service)
    settings = service.settings
    with gr.Blocks(title="Damage claims", analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        session = gr.State({})
        with gr.Row():
            with gr.Column(scale=4, min_width=260):
                gr.HTML(INTRO)
            with gr.Column(scale=1, min_width=180):
                talk_btn = gr.Button(
                    "Talk to a person", variant="secondary", elem_id="talk-to-person", elem_classes=["cb-talk"]
                )
        human_card = gr.HTML(visible=False, elem_id="human-card")

        with gr.Tabs(elem_id="customer-tabs") as tabs:
            with gr.Tab("File a claim", id="file"):
                with gr.Row():
                    with gr.Column(min_width=280):
                        order_id = gr.Textbox(
                            label="Order number", placeholder="e.g. DEMO-1001", max_length=40, elem_id="order-id"
                        )
                        email = gr.Textbox(
                            label="Email used for the order",
                            type="email",
                            placeholder="name@example.com",
                            max_length=254,
                            elem_id="email",
                        )
                        description = gr.Textbox(
                            label="What happened?",
                            lines=5,
                            max_length=settings.max_description_chars,
                            placeholder="e.g. The box was crushed and the mug inside is broken. "
                            "I'd like a replacement.",
                            elem_id="description",
                        )
                    with gr.Column(min_width=280):
                        photos = gr.File(
                            label=f"Photos of the damage (up to {settings.max_photos})",
                            file_count="multiple",
                            file_types=["image", ".heic", ".heif"],
                            elem_id="photos",
                        )
                        refuse_links(photos)
                        previews = gr.HTML(elem_id="photo-previews")
                        gr.Markdown(
                            "Tip: one photo of the box and one of the item, in good light.", elem_classes=["cb-next"]
                        )
                submit_btn = gr.Button("Send my claim", variant="primary", elem_id="submit-claim")
                result_card = gr.HTML(visible=False, elem_id="result-card")
                with gr.Row():
                    open_thread_btn = gr.Button(
                        "Open the conversation", visible=False, size="md", elem_id="open-thread"
                    )
                    new_claim_btn = gr.Button("Start another claim", visible=False, size="md", elem_id="new-claim")
                submit_result = gr.JSON(label="claim", visible=False)
                # One key per filled-in form: pressing again, or a retry after a dropped connection, returns the
                # claim already filed instead of filing a second one. A State is not an API parameter; API callers
                # pass their own key in the hidden, optional `idempotency_key` box (gradio_client defaults it to "").
                submission_key = gr.State("")
                api_idempotency_key = gr.Textbox(value="", visible=False, label="idempotency_key", max_length=128)

            with gr.Tab("Track my claim", id="track"):
                with gr.Row():
                    track_id = gr.Textbox(label="Reference", placeholder="CLM-...", elem_id="track-id", min_width=200)
                    track_token = gr.Textbox(label="Access code", type="password", elem_id="track-token", min_width=200)
                track_btn = gr.Button("Show my claim", variant="primary", elem_id="track-claim")
                status_card = gr.HTML(elem_id="status-card")
                thread = gr.HTML(elem_id="thread")
                with gr.Group(visible=False, elem_id="reply-box") as reply_box:
                    reply = gr.Textbox(
                        label="Reply",
                        lines=3,
                        max_length=settings.max_message_chars,
                        placeholder="Answer a question or add anything we should know",
                        elem_id="reply",
                    )
                    reply_photos = gr.File(
                        label="Add photos",
                        file_count="multiple",
                        file_types=["image", ".heic", ".heif"],
                        elem_id="reply-photos",
                    )
                    refuse_links(reply_photos)
                    reply_previews = gr.HTML()
                    reply_btn = gr.Button("Send", variant="primary", elem_id="send-reply")
                status_result = gr.JSON(label="claim", visible=False)

        # ---- wiring: public endpoints first, their rendering chained privately -----------------------
        gr.api(h.request_human, api_name="request_human")
        demo.load(new_submission_key, None, submission_key, api_visibility="private", show_progress="hidden")
        # Previews share one small queue: however many calls arrive, they hold at most two threads.
        for picker, shown in ((photos, previews), (reply_photos, reply_previews)):
            picker.change(
                h.preview_photos,
                picker,
                shown,
                api_visibility="private",
                show_progress="hidden",
                concurrency_limit=2,
                concurrency_id="photo-preview",
            )

        submit_btn.click(
            h.submit_claim,
            [order_id, email, description, photos, api_idempotency_key, submission_key],
            submit_result,
            api_name="submit_claim",
            trigger_mode="once",
            show_progress_on=[result_card, submit_btn],
        ).success(
            h.show_submission,
            submit_result,
            [
                result_card,
                session,
                track_id,
                track_token,
                status_card,
                thread,
                open_thread_btn,
                submit_btn,
                new_claim_btn,
            ],
            api_visibility="private",
        ).success(reply_box_update, submit_result, reply_box, api_visibility="private")
        open_thread_btn.click(go_to_tracking, None, tabs, api_visibility="private")
        new_claim_btn.click(
            h.new_claim,
            None,
            [
                order_id,
                email,
                description,
                photos,
                previews,
                result_card,
                submit_btn,
                open_thread_btn,
                new_claim_btn,
                session,
                track_id,
                track_token,
                status_card,
                thread,
                human_card,
                submission_key,
            ],
            api_visibility="private",
        )

        gr.on(
            [track_btn.click, track_token.submit],
            h.claim_status,
            [track_id, track_token],
            status_result,
            api_name="claim_status",
        ).success(
            h.show_status,
            [status_result, track_id, track_token],
            [status_card, thread, session, reply_box, human_card],
            api_visibility="private",
        )

        reply_btn.click(
            h.add_evidence,
            [track_id, track_token, reply, reply_photos],
            status_result,
            api_name="add_evidence",
            trigger_mode="once",
        ).success(
            h.show_status,
            [status_result, track_id, track_token],
            [status_card, thread, session, reply_box, human_card],
            api_visibility="private",
        ).success(h.clear_reply, None, [reply, reply_photos, reply_previews], api_visibility="private")

        talk_btn.click(
            h.talk_to_person,
            [session, order_id, email, description, photos, track_id, track_token, reply],
            [human_card, session, track_id, track_token, status_card, thread],
            api_visibility="private",
            trigger_mode="once",
        ).success(show, None, reply_box, api_visibility="private")

    demo.queue(default_concurrency_limit=settings.concurrency_limit)
    return guard_blocks(demo)


__all__ = ["CustomerHandlers", "build_customer_app"]
