"""What the customer reads after each decision: plain words, what happens next and when, the reference.

Every message ends with the reference number and the way to reach a person. Requests for better photos
explain what we could not see and how to fix it, without blame. Fraud signals never reach these texts: a
claim held for a fraud check reads like any other claim a person looks at.
"""

from __future__ import annotations

from claims.config import Settings
from claims.models import Decision, Order
from claims.policy import FRAUD_REASONS, PHOTO_REASONS

REFUND_TIMING = "within 3-5 business days to your original payment method"
TALK_BUTTON = '"Talk to a person"'

# What we could not see in a photo, and one concrete tip for each.
_PHOTO_HELP: dict[str, tuple[str, str]] = {
    "no_photos": (
        "We didn't receive a photo with your claim, and a photo is what lets us settle it quickly.",
        "Any phone camera is fine.",
    ),
    "photo_too_dark": (
        "One of your photos came out quite dark, so we can't make out the damage.",
        "Turning on a light or moving next to a window usually does it.",
    ),
    "photo_too_blurry": (
        "One of your photos came out a little blurry, so the damage is hard to see.",
        "Hold the phone steady (resting your elbows on something helps) and tap the damage on the screen to focus.",
    ),
    "photo_too_small": (
        "One of your photos is very small, so the detail gets lost.",
        "Send the original photo from your camera rather than a screenshot or a thumbnail.",
    ),
    "photo_nearly_uniform": (
        "One of your photos shows mostly a single flat colour, so we can't see the item in it.",
        "Step back a little so the whole box or item fits in the frame.",
    ),
}

# Why a person looks at the claim, in words a customer can hear. Fraud codes are deliberately absent.
_REVIEW_WHY: dict[str, str] = {
    "human_requested": "You asked to talk to a person, so your claim is now with our team.",
    "wants_human": "You asked to talk to a person, so your claim is now with our team.",
    "customer_frustrated": (
        "We're sorry this delivery has caused you so much trouble. "
        "We've passed your claim straight to a member of our team."
    ),
    "unknown_order": (
        "We couldn't match the order number to an order on our side, so a member of our team will look it up. "
        "If the number might have a typo, reply here with the one from your order confirmation email."
    ),
    "email_mismatch": (
        "The email address is different from the one on the order (that happens when a gift was ordered for you, "
        "for example), so a member of our team will confirm the details."
    ),
    "delivery_not_confirmed": "Our records don't show the delivery yet, so a member of our team will check it.",
    "outside_claim_window": (
        "Because the delivery was a while ago, a member of our team will look at your claim personally."
    ),
    "over_value_limit": "For an item of this value, a member of our team confirms the claim personally.",
    "already_claimed": "There is already a claim on this order, so a member of our team will look at both together.",
}
_REVIEW_WHY_DEFAULT = "A member of our team will look at your photos and message to make sure we get this right."


def compose(decision: Decision, *, claim_id: str, order: Order | None, settings: Settings) -> str:
    """The message for an automatic decision (or any decision, by its status)."""
    status = decision.status
    if status == "auto_refund":
        body = _refund_body(order, out_of_stock="out_of_stock_refund" in decision.reasons)
    elif status == "auto_replacement":
        body = _replacement_body(order, settings)
    elif status == "needs_more_photos":
        body = _more_photos_body(decision.reasons)
    elif status == "in_review":
        body = _review_body(decision, settings)
        if decision.priority == "high":
            return _finish(body, claim_id, settings, with_person=True)
    elif status in ("approved_refund", "approved_replacement", "denied", "info_requested"):
        action = {
            "approved_refund": "approve_refund",
            "approved_replacement": "approve_replacement",
            "denied": "deny",
            "info_requested": "request_info",
        }[status]
        return compose_review(action, claim_id=claim_id, note="", order=order, settings=settings)
    else:
        raise ValueError(f"no customer message for status {status!r}")
    return _finish(body, claim_id, settings)


def compose_review(action: str, *, claim_id: str, note: str, order: Order | None, settings: Settings) -> str:
    """The message for a reviewer's action; the reviewer's note is quoted, never their login name."""
    note = (note or "").strip()
    item = _item(order)
    if action == "approve_refund":
        body = [f"Good news: a member of our team has approved a refund for {item}."]
        body += _quoted(note, "They added:")
        body.append(f"The money will be back {REFUND_TIMING}. You don't need to do anything else.")
    elif action == "approve_replacement":
        body = [f"Good news: a member of our team has approved a replacement for {item}."]
        body += _quoted(note, "They added:")
        body.append(_ships_within(settings) + " You don't need to do anything else.")
    elif action == "deny":
        body = [
            f"Thank you for your patience while a member of our team looked carefully at your claim for {item}. "
            "We're sorry, but we can't offer a refund or a replacement this time."
        ]
        body += _quoted(note, "Here is what they wrote:")
        body.append(
            "If you think something has been missed, just reply here with a message or more photos and we will "
            "look at it again. Everything you have already sent stays with your claim."
        )
    elif action == "request_info":
        body = [f"A member of our team is looking at your claim for {item} and needs a little more from you."]
        body += _quoted(note, "Their question:")
        body.append(
            "Just reply here with a message or photos; everything you've already sent stays with your claim, so "
            "there's no need to repeat anything. We'll pick it up again as soon as you answer."
        )
    else:
        raise ValueError(f"unknown review action {action!r}")
    return _finish(body, claim_id, settings)


def compose_fallback_to_refund(*, claim_id: str, order: Order | None) -> str:
    """A replacement was approved but the item sold out before it could be reserved: we refund instead."""
    item = _item(order)
    body = [
        f"We were about to send your replacement for {item}, but it has just sold out. "
        "Rather than keep you waiting, we've switched your claim to a full refund.",
        f"The money will be back {REFUND_TIMING}. You don't need to do anything else.",
    ]
    return _finish(body, claim_id, settings=None)


# --- pieces ---------------------------------------------------------------------------------------


def _refund_body(order: Order | None, *, out_of_stock: bool) -> list[str]:
    item = _item(order)
    if out_of_stock:
        first = (
            f"We're sorry {item} arrived damaged. It is out of stock right now, so rather than keep you waiting "
            "we've approved a full refund instead of a replacement."
        )
    else:
        first = f"We're sorry {item} arrived damaged. We've approved a refund{_amount(order)}."
    return [first, f"The money will be back {REFUND_TIMING}. You don't need to do anything else."]


def _replacement_body(order: Order | None, settings: Settings) -> list[str]:
    item = _item(order)
    return [
        f"We're sorry {item} arrived damaged. We've approved a replacement.",
        _ships_within(settings) + " You don't need to do anything else.",
    ]


def _more_photos_body(reasons: tuple[str, ...]) -> list[str]:
    photo_codes = [code for code in reasons if code in PHOTO_REASONS]
    body = ["Thank you for your claim. We're nearly there: we just need a good look at the damage."]
    for code in photo_codes:
        problem, tip = _PHOTO_HELP[code]
        body.append(f"{problem} {tip}")
    body.append(
        "Two photos are usually all it takes: one of the whole box or item, and one close-up of the damage, "
        "in good light."
    )
    body.append('Add them here with "Add photos" (no need to retype anything) and we\'ll look again straight away.')
    return body


def _review_body(decision: Decision, settings: Settings) -> list[str]:
    priority = decision.priority or "normal"
    why = next(
        (_REVIEW_WHY[code] for code in decision.reasons if code in _REVIEW_WHY and code not in FRAUD_REASONS),
        _REVIEW_WHY_DEFAULT,
    )
    return [
        "Thank you, we have your claim and everything you sent with it.",
        why,
        f"A person will look at it within {_duration(settings.sla_hours(priority))} and reply here. "
        "They will see everything you've sent, so there's no need to repeat anything.",
    ]


def _finish(body: list[str], claim_id: str, settings: Settings | None, *, with_person: bool = False) -> str:
    if with_person:
        reach = f"If you need us before then, reply here or press {TALK_BUTTON}."
    elif settings is None:
        reach = f"If you'd like to talk to someone, press {TALK_BUTTON} at any time."
    else:
        reach = (
            f"If you'd like to talk to someone, press {TALK_BUTTON} at any time; "
            f"a member of our team will answer within {_duration(settings.sla_hours('high'))}."
        )
    return "\n\n".join([*body, f"Your reference number is {claim_id}. {reach}"])


def _ships_within(settings: Settings) -> str:
    days = settings.replacement_ship_days
    if days == 0:
        return "It ships today."
    unit = "business day" if days == 1 else "business days"
    return f"It ships within {days} {unit}."


def _quoted(note: str, lead: str) -> list[str]:
    return [f'{lead} "{note}"'] if note else []


def _item(order: Order | None) -> str:
    return f"your {order.item_name}" if order and order.item_name else "your order"


def _amount(order: Order | None) -> str:
    if order is None or order.value <= 0:
        return ""
    return f" of {order.value:.2f} {order.currency}"


def _duration(hours: float) -> str:
    minutes = round(hours * 60)
    if minutes < 60:
        return f"{minutes} minutes" if minutes != 1 else "1 minute"
    if minutes % 60 == 0:
        whole = minutes // 60
        return "1 hour" if whole == 1 else f"{whole} hours"
    return f"{hours:.1f} hours"
