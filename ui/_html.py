"""HTML fragments shared by the three apps: escaping, thumbnails, badges, the claim thread.

Photos are shown as small JPEG data URIs made per request, never as file paths: a path handed to a Gradio
output is copied into Gradio's cache, which any visitor of the public app can fetch by path. A data URI
lives only in the response of the person who asked for it.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image, ImageOps

# Display only: the reason codes' plain-English explanations live with the policy that emits them.
from claims.policy import FRAUD_REASONS, PERSON_REASONS, explain

# Decoding is refused above this many pixels even for a preview (the service applies its own setting).
PREVIEW_MAX_PIXELS = 60_000_000

_HEIF_REGISTERED = False


def esc(value: object) -> str:
    """Escape anything a customer, reviewer or model wrote before it goes into HTML."""
    return html.escape("" if value is None else str(value), quote=True)


def _register_heif() -> None:
    global _HEIF_REGISTERED
    if not _HEIF_REGISTERED:
        try:
            import pillow_heif

            pillow_heif.register_heif_opener()
        except ImportError:  # HEIC previews are a nicety; the service decides what it accepts
            pass
        _HEIF_REGISTERED = True


def thumbnail_data_uri(
    source: str | Path | bytes, max_side: int = 240, max_pixels: int = PREVIEW_MAX_PIXELS
) -> str | None:
    """A small JPEG of `source` as a `data:` URI, or None when it is not a readable image."""
    _register_heif()
    try:
        stream = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115 (closed below)
        with stream, Image.open(stream) as img:
            if img.width * img.height > max_pixels:
                return None
            img.draft("RGB", (max_side * 2, max_side * 2))  # fast JPEG downscale while decoding
            thumb = ImageOps.exif_transpose(img).convert("RGB")
            thumb.thumbnail((max_side, max_side))
            out = io.BytesIO()
            thumb.save(out, format="JPEG", quality=82)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def image_data_uri(image: Image.Image, quality: int = 82) -> str:
    """An already small image (see `claims.photos.preview`) as a JPEG `data:` URI."""
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def parse_time(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = datetime.fromisoformat(str(value))
        except ValueError:
            return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def fmt_time(value: str | datetime | None) -> str:
    dt = parse_time(value)
    return dt.astimezone(UTC).strftime("%d %b %Y, %H:%M UTC") if dt else ""


def fmt_duration(seconds: float | None) -> str:
    """'45 min', '3 h 10 min', '2 d 4 h'; negative values read as overdue."""
    if seconds is None:
        return ""
    overdue = seconds < 0
    s = int(abs(seconds))
    days, rem = divmod(s, 86400)
    hours, rem = divmod(rem, 3600)
    minutes = rem // 60
    if days:
        text = f"{days} d {hours} h"
    elif hours:
        text = f"{hours} h {minutes} min"
    elif minutes:
        text = f"{minutes} min"
    else:
        text = f"{s} s"
    return f"overdue {text}" if overdue else text


def humanize(code: str) -> str:
    return str(code).replace("_", " ").strip().capitalize()


def reason_badge(code: str) -> str:
    """A coloured badge: red when a person is needed urgently, purple for fraud signals, blue otherwise."""
    kind = "urgent" if code in PERSON_REASONS else "fraud" if code in FRAUD_REASONS else "info"
    return f'<span class="cb-badge cb-badge-{kind}" title="{esc(explain(code))}">{esc(humanize(code))}</span>'


def reason_badges(codes: Iterable[str]) -> str:
    return "".join(reason_badge(c) for c in codes or ())


def priority_badge(priority: str | None) -> str:
    if not priority:
        return ""
    kind = "urgent" if priority == "high" else "info"
    return f'<span class="cb-badge cb-badge-{kind}">{esc(priority)} priority</span>'


# Customer-facing words for each status: a headline, a tone, and what happens next.
STATUS_COPY: dict[str, tuple[str, str, str]] = {
    "auto_refund": (
        "Your refund is on its way",
        "good",
        "The refund goes back to the payment method you used, usually within 3 to 5 business days. "
        "You do not need to send the item back.",
    ),
    "auto_replacement": (
        "A replacement is on its way",
        "good",
        "We are shipping a new one; you will get a tracking email when it leaves the warehouse. "
        "You do not need to send the damaged item back.",
    ),
    "approved_refund": (
        "Your refund was approved",
        "good",
        "The refund goes back to the payment method you used, usually within 3 to 5 business days.",
    ),
    "approved_replacement": (
        "Your replacement was approved",
        "good",
        "We are shipping a new one; you will get a tracking email when it leaves the warehouse.",
    ),
    "needs_more_photos": (
        "We need a clearer photo",
        "ask",
        "Open “Track my claim”, add one or two well-lit photos of the damage and press Send. "
        "Your claim is decided again straight away; nothing you already told us is lost.",
    ),
    "info_requested": (
        "We need a little more information",
        "ask",
        "Open “Track my claim”, answer the question in the conversation and press Send.",
    ),
    "in_review": (
        "A person is looking at your claim",
        "wait",
        "A member of our team has everything you sent and will reply in this conversation. "
        "Keep your reference and access code to check back.",
    ),
    "denied": (
        "We could not approve this claim",
        "bad",
        "The conversation explains why. If something is missing, reply there or press “Talk to a person”.",
    ),
}


def status_copy(status: str) -> tuple[str, str, str]:
    return STATUS_COPY.get(status, (humanize(status), "wait", ""))


def status_pill(status: str) -> str:
    headline, tone, _ = status_copy(status)
    return f'<span class="cb-pill cb-pill-{tone}">{esc(humanize(status))}</span>'


_ACTOR_NAMES = {"customer": "You", "bot": "Claimbot", "system": "Claimbot", "reviewer": "Customer care team"}
# Thread entry kinds worth a word next to the sender; the rest speak for themselves.
_KIND_LABELS = {
    "human_requested": "asked for a person",
    "more_evidence": "added to the claim",
    "request_info": "question",
    "approve_refund": "approved a refund",
    "approve_replacement": "approved a replacement",
    "deny": "declined",
}


def thread_html(
    thread: list[dict], photo_uri: Callable[[str], str | None] | None = None, viewer: str = "customer"
) -> str:
    """The conversation as chat bubbles. `viewer` decides whose messages sit on the right."""
    if not thread:
        return '<div class="cb-thread cb-empty">No messages yet.</div>'
    parts = ['<div class="cb-thread">']
    for item in thread:
        actor = item.get("actor", "bot")
        if viewer == "customer":
            name = _ACTOR_NAMES.get(actor, "Customer care team")
        else:
            name = {"customer": "Customer", "bot": "Claimbot", "system": "Claimbot"}.get(actor, "Reviewer")
            if item.get("author"):
                name = f"{name} ({item['author']})"
        side = "mine" if actor == "customer" and viewer == "customer" else "theirs"
        if viewer != "customer" and actor != "customer":
            side = "mine"
        kind = _KIND_LABELS.get(item.get("kind", ""), "")
        kind_label = f'<span class="cb-kind">{esc(kind)}</span>' if kind else ""
        photos = ""
        if photo_uri and item.get("photos"):
            thumbs = []
            for sha in item["photos"]:
                uri = photo_uri(sha)
                if uri:
                    thumbs.append(f'<img class="cb-thumb" src="{uri}" alt="photo {esc(sha[:8])}">')
            photos = f'<div class="cb-thumbs">{"".join(thumbs)}</div>' if thumbs else ""
        text = esc(item.get("text", "")).replace("\n", "<br>")
        parts.append(
            f'<div class="cb-msg cb-msg-{side} cb-actor-{esc(actor)}">'
            f'<div class="cb-msg-head"><b>{esc(name)}</b> {kind_label}'
            f'<span class="cb-time">{esc(fmt_time(item.get("at")))}</span></div>'
            f'<div class="cb-msg-body">{text}</div>{photos}</div>'
        )
    parts.append("</div>")
    return "".join(parts)


def highlight(text: str, phrases: Iterable[str], css_class: str = "cb-mark") -> str:
    """Escape `text` and wrap every case-insensitive occurrence of each phrase in <mark>."""
    text = text or ""
    spans: list[tuple[int, int]] = []
    lower = text.lower()
    for phrase in sorted({p for p in phrases if p and p.strip()}, key=len, reverse=True):
        start = 0
        needle = phrase.lower()
        while (i := lower.find(needle, start)) != -1:
            end = i + len(needle)
            if not any(i < e and end > s for s, e in spans):
                spans.append((i, end))
            start = end
    spans.sort()
    out, pos = [], 0
    for s, e in spans:
        out.append(esc(text[pos:s]))
        out.append(f'<mark class="{css_class}">{esc(text[s:e])}</mark>')
        pos = e
    out.append(esc(text[pos:]))
    return "".join(out).replace("\n", "<br>")


def card(title: str, body: str, tone: str = "wait", extra_class: str = "") -> str:
    return (
        f'<div class="cb-card cb-card-{tone} {extra_class}" role="status">'
        f'<div class="cb-card-title">{esc(title)}</div>'
        f"{body}</div>"
    )
