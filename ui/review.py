"""The reviewer's desk, mounted at `/review` behind login: the queue, the case, the decision.

Public API (login required): `review_queue() -> list`, `review_case(claim_id) -> dict`,
`review_decide(claim_id, action, note) -> dict`. The reviewer is whoever logged in (`request.username`).
Photos from the store are shown as data URIs made per request, never as paths Gradio would cache.

This module is long because Gradio builds one Blocks layout with its event wiring inside a single `with`
block.
"""

from __future__ import annotations

import gradio as gr

from claims.errors import ClaimError
from ui._errors import shown_as
from ui._html import (
    card,
    esc,
    fmt_duration,
    fmt_time,
    highlight,
    humanize,
    priority_badge,
    reason_badge,
    reason_badges,
    status_pill,
    thread_html,
    thumbnail_data_uri,
)
from vision_models.labels import DAMAGE_LABELS, LABEL_DESCRIPTIONS

ACTIONS = ("approve_refund", "approve_replacement", "deny", "request_info")


reviewer_errors = shown_as("Cannot do that")


def _reviewer(request: gr.Request | None) -> str:
    name = getattr(request, "username", None) if request is not None else None
    if not name:  # the mount requires login, so this only happens when someone wires the app without auth
        raise gr.Error("Please sign in as a reviewer.", title="Not signed in")
    return name


def _without_paths(value):
    """Drop server file paths from a case. Reviewers see photos as images; and Gradio's client would take any
    dict with a "path" for a file to download (which the server refuses: the photo store is blocked)."""
    if isinstance(value, dict):
        return {k: _without_paths(v) for k, v in value.items() if not (k == "path" and isinstance(v, str))}
    if isinstance(value, list):
        return [_without_paths(v) for v in value]
    return value


class ReviewHandlers:
    def __init__(self, service):
        self.service = service

    # ---- public API --------------------------------------------------------------------------
    @reviewer_errors
    def review_queue(self, request: gr.Request) -> list:
        _reviewer(request)
        return self.service.queue()

    @reviewer_errors
    def review_case(self, claim_id: str, request: gr.Request) -> dict:
        claim_id = (claim_id or "").strip()
        if not claim_id:
            raise gr.Error("Pick a case from the queue first.", title="No case selected")
        return _without_paths(self.service.open_case(claim_id, _reviewer(request)))

    @reviewer_errors
    def review_decide(self, claim_id: str, action: str, note: str, request: gr.Request) -> dict:
        claim_id = (claim_id or "").strip()
        if not claim_id:
            raise gr.Error("Open a case before deciding it.", title="No case selected")
        return self.service.decide(claim_id, _reviewer(request), action, note or "")

    # ---- private UI events -------------------------------------------------------------------
    def whoami(self, request: gr.Request) -> str:
        name = getattr(request, "username", None) or "?"
        return (
            '<div class="cb-header"><div><h1>Review desk</h1><div class="cb-sub">Cases a person must look at, '
            f'most urgent first.</div></div><div style="margin-left:auto">Signed in as <b>{esc(name)}</b> · '
            '<a href="/dashboard/">Dashboard</a> · <a href="/review/logout">Sign out</a></div></div>'
        )

    def show_queue(self, queue: list, current: str | None = None):
        rows = []
        for item in queue or []:
            left = item.get("sla_seconds_left")
            sla_cls = "cb-overdue" if left is not None and left < 0 else ""
            lock = ""
            if item.get("locked_by"):
                lock = f'<span class="cb-lock-chip">{esc(item["locked_by"])} until {esc(fmt_time(item.get("lock_until"))[-9:])}</span>'
            rows.append(
                "<tr>"
                f"<td>{priority_badge(item.get('priority'))}</td>"
                f"<td><code>{esc(item.get('claim_id'))}</code><br>{status_pill(item.get('status', ''))}</td>"
                f'<td class="{sla_cls}">{esc(fmt_duration(left))}</td>'
                f"<td>{reason_badges(item.get('reasons', []))}</td>"
                f"<td>{esc(item.get('item_name') or item.get('order_id') or '')}</td>"
                f"<td>{esc(item.get('summary', ''))}</td>"
                f"<td>{lock}</td>"
                "</tr>"
            )
        if not rows:
            table = '<div class="cb-empty">The queue is empty. Nothing needs a person right now.</div>'
        else:
            table = (
                '<table class="cb-table" id="queue-table"><thead><tr><th>Priority</th><th>Case</th><th>SLA left</th>'
                "<th>Why a person</th><th>Item</th><th>Summary</th><th>With</th></tr></thead><tbody>"
                + "".join(rows)
                + "</tbody></table>"
            )
        choices = [
            (f"{item['claim_id']} · {item.get('priority') or ''} · {item.get('item_name') or ''}", item["claim_id"])
            for item in queue or []
        ]
        value = current if current in {c[1] for c in choices} else (choices[0][1] if choices else None)
        return table, gr.update(choices=choices, value=value)

    def _photo_uri(self, sha256: str, max_side: int = 480) -> str | None:
        try:
            return thumbnail_data_uri(self.service.photo_path(sha256), max_side=max_side)
        except (ClaimError, OSError):
            return None

    def _header(self, case: dict, reviewer: str) -> str:
        claim = case.get("claim", {})
        lock = case.get("lock") or {}
        holder = lock.get("reviewer")
        lock_html = ""
        if holder:
            who = "You hold" if holder == reviewer else f"{esc(holder)} holds"
            lock_html = f'<div class="cb-lock">{who} this case until {esc(fmt_time(lock.get("until")))}</div>'
        return (
            f'<div class="cb-card cb-card-wait" id="case-header"><div class="cb-card-title">'
            f"{esc(claim.get('claim_id'))} {status_pill(claim.get('status', ''))} "
            f"{priority_badge(claim.get('priority'))}</div>"
            f"<p>{reason_badges(claim.get('reasons', []))}</p>"
            f'<dl class="cb-kv"><dt>Filed</dt><dd>{esc(fmt_time(claim.get("created_at")))}</dd>'
            f"<dt>Customer</dt><dd>{esc(claim.get('email', ''))}</dd>"
            f"<dt>Order</dt><dd>{esc(claim.get('order_id', ''))}</dd>"
            + (f"<dt>SLA due</dt><dd>{esc(fmt_time(claim.get('sla_due_at')))}</dd>" if claim.get("sla_due_at") else "")
            + f"</dl>{lock_html}</div>"
        )

    def _photos(self, photos: list[dict]) -> str:
        if not photos:
            return '<div class="cb-empty">No photos on this claim.</div>'
        cards = []
        for p in photos:
            uri = self._photo_uri(p["sha256"], max_side=1024)
            conf = float(p.get("confidence") or 0.0)
            label = p.get("label") or "?"
            corrected = p.get("corrected_label")
            label_html = (
                f"<s>{esc(label)}</s> → <b>{esc(corrected)}</b> (corrected)" if corrected else f"<b>{esc(label)}</b>"
            )
            looks = ", ".join(f"{esc(n)} {float(s):.0%}" for n, s in (p.get("looks_like") or [])[:3])
            issues = "".join(reason_badge(f"photo_{i}") for i in p.get("quality_issues") or [])
            low = " cb-low" if conf < self.service.settings.vision_confidence_threshold else ""
            zoom_id = f"zoom-{esc(p['sha256'][:16])}"
            # A click shows the photo full screen (a CSS toggle: the picture is already in the page).
            img = (
                (
                    f'<input type="checkbox" id="{zoom_id}" class="cb-zoom-toggle">'
                    f'<label for="{zoom_id}" title="Click to enlarge"><img src="{uri}" '
                    f'alt="photo {esc(p["sha256"][:8])}"></label>'
                )
                if uri
                else '<div class="cb-empty">unreadable</div>'
            )
            cards.append(
                f'<div class="cb-photo">{img}<div>{label_html} · {conf:.0%}'
                f'<div class="cb-conf{low}"><div class="cb-conf-fill" style="width:{conf * 100:.0f}%"></div></div>'
                + (f"<small>Looks like: {looks}</small><br>" if looks else "")
                + f"{issues}<small><code>{esc(p['sha256'][:12])}</code></small></div></div>"
            )
        return f'<div class="cb-photos">{"".join(cards)}</div>'

    def _complaint(self, complaint: dict) -> str:
        phrases = [ph for group in (complaint.get("evidence") or {}).values() for ph in group]
        sentiment = float(complaint.get("sentiment") or 0.0)
        frustration = float(complaint.get("frustration_score") or 0.0)
        flags = []
        if complaint.get("wants_human"):
            flags.append(reason_badge("wants_human"))
        if complaint.get("frustrated"):
            flags.append(reason_badge("customer_frustrated"))
        found_by_signal = [
            f"{esc(humanize(signal).lower())}: " + ", ".join(f"“{esc(p)}”" for p in found)
            for signal, found in (complaint.get("evidence") or {}).items()
            if found
        ]
        evidence_rows = f"<dt>Read from</dt><dd>{'; '.join(found_by_signal)}</dd>" if found_by_signal else ""
        return (
            f'<div class="cb-card" id="complaint"><div class="cb-card-title">What the customer wrote</div>'
            f"<p>{highlight(complaint.get('text', ''), phrases)}</p>"
            f"<p><b>Summary:</b> {esc(complaint.get('summary', ''))}</p>{''.join(flags)}"
            f'<dl class="cb-kv"><dt>Asks for</dt><dd>{esc(complaint.get("intent", "unspecified"))}</dd>'
            f"<dt>Damage named</dt><dd>{esc(', '.join(complaint.get('damage_types') or []) or 'none')}</dd>"
            f'<dt>Sentiment</dt><dd>{sentiment:+.2f}<div class="cb-meter">'
            f'<i style="left:calc({(sentiment + 1) / 2 * 100:.0f}% - 2px)"></i></div></dd>'
            f"<dt>Frustration</dt><dd>{frustration:.0%}</dd>{evidence_rows}</dl></div>"
        )

    def _order(self, order: dict | None) -> str:
        if not order:
            return card("Order", '<p class="cb-empty">No order on file with this number.</p>', "bad")
        keys = [
            ("item_name", "Item"),
            ("category", "Category"),
            ("value", "Value"),
            ("currency", "Currency"),
            ("customer_name", "Name"),
            ("email", "Email"),
            ("ordered_at", "Ordered"),
            ("delivered_at", "Delivered"),
            ("in_stock", "In stock"),
            ("stock_count", "Stock"),
        ]
        rows = []
        for key, name in keys:
            if key in order and order[key] not in (None, ""):
                value = fmt_time(order[key]) if key.endswith("_at") else order[key]
                rows.append(f"<dt>{name}</dt><dd>{esc(value)}</dd>")
        return card(f"Order {order.get('order_id', '')}", f'<dl class="cb-kv">{"".join(rows)}</dl>', "wait")

    def _fraud(self, signals: list[dict], photos: list[dict]) -> str:
        if not signals:
            return card("Fraud signals", '<p class="cb-empty">None.</p>', "good")
        parts = []
        for s in signals:
            ev = s.get("evidence") or {}
            side = ""
            other = ev.get("other_photo_sha256") or ev.get("other_photo")
            mine = ev.get("photo_sha256") or ev.get("photo") or (photos[0]["sha256"] if photos and other else None)
            if other:
                a, b = self._photo_uri(mine, 360) if mine else None, self._photo_uri(other, 360)
                side = (
                    '<div class="cb-side">'
                    f'<figure><img src="{a or ""}" alt="this claim"><figcaption>This claim</figcaption></figure>'
                    f'<figure><img src="{b or ""}" alt="matching photo"><figcaption>'
                    + (f"Earlier claim {esc(ev['other_claim_id'])}" if ev.get("other_claim_id") else "Same claim")
                    + (f" · distance {esc(ev['distance'])}" if "distance" in ev else "")
                    + "</figcaption></figure></div>"
                )
            extra = "".join(
                f"<dt>{esc(humanize(k))}</dt><dd>{esc(v)}</dd>"
                for k, v in ev.items()
                if k not in ("other_photo_sha256", "other_photo", "photo_sha256", "photo")
                and not (side and k in ("other_claim_id", "distance"))  # already under the photos
            )
            parts.append(
                f'<div class="cb-fraud">{reason_badge(s.get("code", ""))} {esc(s.get("detail", ""))}'
                f'<dl class="cb-kv">{extra}</dl>{side}</div>'
            )
        return card("Fraud signals", "".join(parts), "bad", "cb-fraud-card")

    def _audit(self, events: list[dict]) -> str:
        rows = "".join(
            f"<tr><td>{esc(fmt_time(e.get('at')))}</td><td>{esc(e.get('actor', ''))}</td>"
            f"<td>{esc(humanize(e.get('kind', '')))}</td><td>{esc(e.get('status') or '')}</td>"
            f"<td>{reason_badges(e.get('reasons') or [])}</td></tr>"
            for e in events or []
        )
        return (
            '<table class="cb-table" id="audit-trail"><thead><tr><th>When</th><th>Who</th><th>What</th>'
            f"<th>Status</th><th>Reasons</th></tr></thead><tbody>{rows}</tbody></table>"
        )

    def show_case(self, case: dict, request: gr.Request):
        reviewer = getattr(request, "username", None) or ""
        photos = case.get("photos") or []
        claim_id = (case.get("claim") or {}).get("claim_id", "")
        photo_choices = [
            (f"{p['sha256'][:12]} · {p.get('corrected_label') or p.get('label')}", p["sha256"]) for p in photos
        ]
        return (
            self._header(case, reviewer),
            self._photos(photos),
            self._complaint(case.get("complaint") or {}),
            self._order(case.get("order")),
            self._fraud(case.get("fraud_signals") or [], photos),
            thread_html(case.get("thread") or [], viewer="reviewer"),
            self._audit(case.get("events") or []),
            claim_id,
            gr.update(choices=photo_choices, value=photo_choices[0][1] if photo_choices else None),
            gr.Tabs(selected="case"),
            "",
        )

    @reviewer_errors
    def decide(self, claim_id: str, note: str, action: str, case: dict | None, request: gr.Request):
        """A decision from the case view: record it, then show the case as decided (and no longer locked)."""
        result = self.review_decide(claim_id, action, note, request)
        text = (
            f"<p>{status_pill(result.get('status', ''))} Decision recorded for "
            f"<code>{esc(result.get('claim_id'))}</code>. The customer sees it in their conversation now.</p>"
        )
        header = gr.skip()
        if case and (case.get("claim") or {}).get("claim_id") == result.get("claim_id"):
            claim = {**case["claim"], **{k: result.get(k) for k in ("status", "resolution", "priority")}}
            header = self._header({**case, "claim": claim, "lock": None}, _reviewer(request))
        return card("Done", text, "good", "cb-decided"), "", header

    @reviewer_errors
    def correct_label(self, claim_id: str, sha256: str, label: str, request: gr.Request) -> str:
        if not (claim_id and sha256 and label):
            raise gr.Error("Pick a photo and the label it should have.", title="Nothing to correct")
        self.service.correct_label(claim_id, sha256, label, _reviewer(request))
        return f"Saved: photo {sha256[:12]} is **{label}**. It will be used as a training example."


def build_review_app(service) -> gr.Blocks:
    h = ReviewHandlers(service)
    with gr.Blocks(title="Review desk", analytics_enabled=False) as demo:
        header = gr.HTML()
        with gr.Tabs(elem_id="review-tabs") as tabs:
            with gr.Tab("Queue", id="queue"):
                with gr.Row():
                    case_pick = gr.Dropdown(
                        label="Case", choices=[], allow_custom_value=True, scale=3, elem_id="case-pick"
                    )
                    open_btn = gr.Button("Open case", variant="primary", scale=1, elem_id="open-case")
                    refresh_btn = gr.Button("Refresh", scale=1, elem_id="refresh-queue")
                queue_table = gr.HTML(elem_id="queue")
                queue_data = gr.JSON(visible=False)
            with gr.Tab("Case", id="case"):
                case_id = gr.Textbox(visible=False)
                case_header = gr.HTML()
                decided = gr.HTML()
                with gr.Row():
                    with gr.Column(scale=3, min_width=300):
                        gr.Markdown("### Photos")
                        photos = gr.HTML(elem_id="case-photos")
                        complaint = gr.HTML()
                        fraud = gr.HTML(elem_id="fraud")
                    with gr.Column(scale=2, min_width=280):
                        order = gr.HTML()
                        note = gr.Textbox(
                            label="Note to the customer",
                            lines=3,
                            elem_id="review-note",
                            info="Required to deny or to ask for information.",
                        )
                        with gr.Row():
                            approve_refund = gr.Button(
                                "Approve refund", variant="primary", elem_id="approve-refund", min_width=120
                            )
                            approve_replacement = gr.Button(
                                "Approve replacement", variant="primary", elem_id="approve-replacement", min_width=120
                            )
                        with gr.Row():
                            request_info = gr.Button("Request info", elem_id="request-info", min_width=120)
                            deny = gr.Button("Deny", variant="stop", elem_id="deny", min_width=120)
                        with gr.Accordion("Correct a photo's label", open=False):
                            photo_pick = gr.Dropdown(label="Photo", choices=[])
                            label_pick = gr.Dropdown(
                                label="Correct label",
                                choices=[(f"{k} — {v}", k) for k, v in LABEL_DESCRIPTIONS.items()],
                                value=DAMAGE_LABELS[0],
                            )
                            label_btn = gr.Button("Save label", size="md")
                            label_saved = gr.Markdown()
                gr.Markdown("### Conversation")
                thread = gr.HTML()
                with gr.Accordion("Audit trail", open=False):
                    audit = gr.HTML()
                case_data = gr.JSON(visible=False)
        timer = gr.Timer(30)

        # ---- wiring ---------------------------------------------------------------------------------
        # The public API first, so its names are taken before the page's private events reuse the handlers.
        gr.api(h.review_queue, api_name="review_queue")
        gr.api(h.review_case, api_name="review_case")
        gr.api(h.review_decide, api_name="review_decide")

        demo.load(h.whoami, None, header, api_visibility="private")
        gr.on(
            [demo.load, timer.tick], h.review_queue, None, queue_data, api_visibility="private", show_progress="hidden"
        ).success(
            h.show_queue,
            [queue_data, case_pick],
            [queue_table, case_pick],
            api_visibility="private",
            show_progress="hidden",
        )
        refresh_btn.click(h.review_queue, None, queue_data, api_visibility="private").success(
            h.show_queue, [queue_data, case_pick], [queue_table, case_pick], api_visibility="private"
        )

        case_outputs = [case_header, photos, complaint, order, fraud, thread, audit, case_id, photo_pick, tabs, decided]
        open_btn.click(h.review_case, case_pick, case_data, api_visibility="private").success(
            h.show_case, case_data, case_outputs, api_visibility="private"
        )

        for button, action in (
            (approve_refund, "approve_refund"),
            (approve_replacement, "approve_replacement"),
            (deny, "deny"),
            (request_info, "request_info"),
        ):
            button.click(
                h.decide,
                [case_id, note, gr.State(action), case_data],
                [decided, note, case_header],
                api_visibility="private",
                trigger_mode="once",
            ).success(h.review_queue, None, queue_data, api_visibility="private").success(
                h.show_queue, [queue_data, case_pick], [queue_table, case_pick], api_visibility="private"
            )
        label_btn.click(h.correct_label, [case_id, photo_pick, label_pick], label_saved, api_visibility="private")

    demo.queue(default_concurrency_limit=max(1, min(4, service.settings.concurrency_limit)))
    return demo
