"""The customer's app, public, mounted at `/`: file a claim, track it, talk to a person.

Public API (api_name is part of the contract, see DESIGN.md): `submit_claim`, `claim_status`, `request_human`,
`add_evidence`. Each returns the service's dict unchanged; the page renders it in a second, private event.

Long: one Blocks layout with its event wiring, which Gradio builds inside a single `with` block;
the handlers themselves are small top-level methods.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import gradio as gr

from claims import lifecycle
from claims.errors import ClaimError
from ui._errors import shown_as
from ui._html import card, esc, status_copy, status_pill, thread_html, thumbnail_data_uri

HUMAN_FALLBACK_DESCRIPTION = "I would like to talk to a person about my delivery."


def reply_box_update(result: dict):
    # Shown while the customer can still add a message or photos (the service decides again).
    return gr.update(visible=result.get("status") in lifecycle.CUSTOMER_MAY_ADD)


# The service's specific errors become a message on the page (and an error for API clients).
user_errors = shown_as("Please check")


def _paths(files) -> list[str]:
    """Gradio hands uploads over as paths (or FileData-like objects); keep only the paths."""
    out = []
    for f in files or []:
        path = f if isinstance(f, (str, Path)) else getattr(f, "path", None) or getattr(f, "name", None)
        if path:
            out.append(str(path))
    return out


def _session(result: dict | None) -> dict:
    if not result or not result.get("claim_id"):
        return {}
    return {"claim_id": result["claim_id"], "access_token": result.get("access_token", "")}


class CustomerHandlers:
    """Thin handlers over `ClaimService`; one instance per app, shared by all sessions (it holds no state)."""

    def __init__(self, service):
        self.service = service

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
        progress=gr.Progress(),  # noqa: B008 (Gradio injects the tracker through this default)
    ) -> dict:
        """File a claim. A retry with the same `idempotency_key` returns the first answer and files nothing.

        API callers choose the key; the web form uses its own per-form key (`form_key`, not an API parameter).
        """
        progress(0.1, desc="Checking your photos and reading your message")
        key = (idempotency_key or "").strip() or (form_key or "").strip() or None
        return self.service.submit_claim(
            order_id or "", email or "", description or "", _paths(photos), idempotency_key=key
        )

    @user_errors
    def claim_status(self, claim_id: str, access_token: str) -> dict:
        return self.service.claim_status((claim_id or "").strip(), (access_token or "").strip())

    @user_errors
    def request_human(self, claim_id: str, access_token: str, message: str = "") -> dict:
        return self.service.request_human((claim_id or "").strip(), (access_token or "").strip(), message or "")

    @user_errors
    def add_evidence(
        self,
        claim_id: str,
        access_token: str,
        message: str,
        photos: list | None,
        progress=gr.Progress(),  # noqa: B008
    ) -> dict:
        progress(0.1, desc="Adding this to your claim")
        return self.service.add_evidence(
            (claim_id or "").strip(), (access_token or "").strip(), message or "", _paths(photos)
        )

    # ---- private UI events -------------------------------------------------------------------
    def preview_photos(self, files) -> str:
        """Thumbnails of what the customer picked, before anything is sent."""
        paths = _paths(files)
        if not paths:
            return ""
        figures = []
        for p in paths:
            name = esc(Path(p).name)
            uri = thumbnail_data_uri(p, max_side=220, max_pixels=self.service.settings.max_image_pixels)
            inner = (
                f'<img src="{uri}" alt="{name}">' if uri else '<div class="cb-bad-file">Not a photo we can read</div>'
            )
            figures.append(f"<figure>{inner}<figcaption>{name}</figcaption></figure>")
        return f'<div class="cb-preview">{"".join(figures)}</div>'

    def photo_uri(self, claim_id: str, access_token: str):
        """A function giving a thumbnail for one of this claim's photos, checked by the service."""

        def uri(sha256: str) -> str | None:
            try:
                return thumbnail_data_uri(self.service.customer_photo(claim_id, access_token, sha256), max_side=200)
            except ClaimError:
                return None

        return uri

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

    def thread_for(self, result: dict, session: dict) -> str:
        photo_uri = self.photo_uri(session.get("claim_id", ""), session.get("access_token", "")) if session else None
        return thread_html(result.get("thread", []), photo_uri=photo_uri, viewer="customer")

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

    def show_status(self, result: dict, claim_id: str, access_token: str):
        """After tracking or replying: the thread, and the claim becomes this session's claim."""
        session = {"claim_id": (claim_id or "").strip(), "access_token": (access_token or "").strip()}
        summary = self.result_card(result, show_secrets=False)
        # The status card now says where the claim stands; an earlier "a person will take it" card would be stale.
        return (summary, self.thread_for(result, session), session, reply_box_update(result), gr.update(visible=False))

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
    ):
        """The always-visible button: escalate at once with everything the customer has already given.

        With a claim in this session (or typed into "Track my claim") that claim goes to a person. Before any
        claim exists the form's contents are filed as a claim that goes straight to a person. Only when not
        even an order number and email are known do we explain what a person needs.
        """
        session = dict(session or {})
        claim_id = session.get("claim_id") or (track_id or "").strip()
        token = session.get("access_token") or (track_token or "").strip()
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
            result = self.service.submit_claim(
                order_id, email, (description or "").strip() or HUMAN_FALLBACK_DESCRIPTION, _paths(photos)
            )
            claim_id, token = result["claim_id"], result["access_token"]
        else:
            result = self.service.claim_status(claim_id, token)
        already = result["status"] == "in_review" and "human_requested" in result["reasons"]
        if not already or (reply or "").strip():  # pressing twice does not queue the claim twice
            result = self.service.request_human(claim_id, token, (reply or "").strip())
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
                    reply_previews = gr.HTML()
                    reply_btn = gr.Button("Send", variant="primary", elem_id="send-reply")
                status_result = gr.JSON(label="claim", visible=False)

        # ---- wiring: public endpoints first, their rendering chained privately -----------------------
        gr.api(h.request_human, api_name="request_human")
        demo.load(new_submission_key, None, submission_key, api_visibility="private", show_progress="hidden")
        photos.change(h.preview_photos, photos, previews, api_visibility="private", show_progress="hidden")
        reply_photos.change(
            h.preview_photos, reply_photos, reply_previews, api_visibility="private", show_progress="hidden"
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
    return demo


__all__ = ["CustomerHandlers", "build_customer_app"]
