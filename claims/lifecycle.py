"""The claim lifecycle: every status, the groups the rest of the code asks about, and who may move a claim
from which status to which. This is the one definition; the store checks every status change against it.

    new ──system──> auto_refund | auto_replacement | needs_more_photos | in_review
    needs_more_photos ──system (customer sent more)──> any automatic outcome
    in_review ──reviewer──> approved_refund | approved_replacement | denied | info_requested
    info_requested | denied ──system (customer replied)──> in_review | needs_more_photos
    anything ──customer ("Talk to a person")──> in_review
    auto_replacement / approved_replacement ──system (out of stock)──> the matching refund status

Automation may approve; only a reviewer may deny. A settled claim (approved or denied) is re-opened only by
the customer, explicitly: a reply after a denial, or "Talk to a person".
"""

from __future__ import annotations

from typing import Literal

from claims.errors import InvalidAction
from claims.models import CLAIM_STATUSES, ClaimStatus, Resolution

ActorKind = Literal["customer", "system", "reviewer"]
NEW = "new"  # the pseudo-status of a claim that is being filed

STATUSES: tuple[str, ...] = CLAIM_STATUSES  # the ClaimStatus type in claims.models spells them for pydantic

# --- groups ---------------------------------------------------------------------------------------------
AUTOMATED = ("auto_refund", "auto_replacement")  # decided by the bot, money or goods moving
APPROVED = (*AUTOMATED, "approved_refund", "approved_replacement")  # a refund or replacement is due
SETTLED = (*APPROVED, "denied")  # decided; nothing more is expected
OPEN = ("needs_more_photos", "in_review", "info_requested")  # someone still has to act
REVIEW_QUEUE = ("in_review", "info_requested")  # what the review desk lists
ESCALATED = ("in_review", "info_requested", "approved_refund", "approved_replacement", "denied")  # a person's
CUSTOMER_MAY_ADD = ("needs_more_photos", "in_review", "info_requested", "denied")  # add_evidence accepted
AUTOMATIC_OUTCOMES = ("auto_refund", "auto_replacement", "needs_more_photos", "in_review")

RESOLUTION_OF = {
    "auto_refund": "refund",
    "approved_refund": "refund",
    "auto_replacement": "replacement",
    "approved_replacement": "replacement",
}
REVIEW_OUTCOME: dict[str, tuple[ClaimStatus, Resolution | None]] = {  # review action -> (status, resolution)
    "approve_refund": ("approved_refund", "refund"),
    "approve_replacement": ("approved_replacement", "replacement"),
    "deny": ("denied", None),
    "request_info": ("info_requested", None),
}
FALLBACK_TO_REFUND = {"auto_replacement": "auto_refund", "approved_replacement": "approved_refund"}


REVIEW_OUTCOME_STATUSES = tuple(status for status, _ in REVIEW_OUTCOME.values())


def _build() -> dict[tuple[str, str], frozenset[str]]:
    table: dict[tuple[str, str], set[str]] = {}

    def allow(actor: str, sources, targets) -> None:
        for source in sources:
            for target in targets:
                table.setdefault((source, target), set()).add(actor)

    # The bot decides a new claim, and decides again whenever the customer adds to an open one. A claim a
    # reviewer has touched (info_requested, denied) goes back to a person, never to an automatic approval.
    allow("system", (NEW, "needs_more_photos", "in_review"), AUTOMATIC_OUTCOMES)
    allow("system", ("info_requested", "denied"), ("in_review", "needs_more_photos"))
    for replacement, refund in FALLBACK_TO_REFUND.items():
        allow("system", (replacement,), (refund,))
    # Only a person settles an escalated claim, and only a person denies.
    allow("reviewer", OPEN, REVIEW_OUTCOME_STATUSES)
    # "Talk to a person" works from every status, as often as the customer likes.
    allow("customer", STATUSES, ("in_review",))
    return {key: frozenset(actors) for key, actors in table.items()}


TRANSITIONS: dict[tuple[str, str], frozenset[str]] = _build()


class IllegalTransition(InvalidAction):
    """A status change the lifecycle does not allow for this actor."""

    code = "illegal_transition"


def allowed(source: str, target: str, actor: str) -> bool:
    return actor in TRANSITIONS.get((source, target), ())


def check(source: str, target: str, actor: str) -> None:
    """Raise IllegalTransition unless `actor` ("customer", "system", "reviewer") may move source -> target."""
    if target not in STATUSES:
        raise IllegalTransition(f"Unknown claim status {target!r}.")
    if not allowed(source, target, actor):
        raise IllegalTransition(f"A {actor} cannot move a claim from {source} to {target}.")


def transition_rows() -> list[tuple[str, str, tuple[str, ...]]]:
    """(from, to, actors) for every allowed move, in status order (docs/lifecycle.md prints this table)."""
    order = (NEW, *STATUSES)
    return [
        (source, target, tuple(sorted(actors)))
        for (source, target), actors in sorted(
            TRANSITIONS.items(), key=lambda item: (order.index(item[0][0]), order.index(item[0][1]))
        )
    ]


def actor_kind(actor: str) -> str:
    """The kind of an audit actor string ("reviewer:ana" -> "reviewer")."""
    return actor.split(":", 1)[0]


__all__ = [
    "APPROVED",
    "AUTOMATED",
    "AUTOMATIC_OUTCOMES",
    "CUSTOMER_MAY_ADD",
    "ESCALATED",
    "FALLBACK_TO_REFUND",
    "IllegalTransition",
    "NEW",
    "OPEN",
    "RESOLUTION_OF",
    "REVIEW_OUTCOME",
    "REVIEW_QUEUE",
    "SETTLED",
    "STATUSES",
    "TRANSITIONS",
    "actor_kind",
    "allowed",
    "check",
    "transition_rows",
]
