"""Specific exceptions the service raises; each boundary (UI, CLI) turns them into a message.

Every message is written for the person who reads it: what went wrong and what to do about it.
"""

from __future__ import annotations


class ClaimError(Exception):
    """Base class. `str(error)` is safe to show to the user."""

    code = "claim_error"


class InvalidInput(ClaimError):
    """A field of a submission is missing, malformed or out of limits."""

    code = "invalid_input"


class PhotoRejected(InvalidInput):
    """A photo cannot be accepted (type, size, corrupt, bomb, too many). Nothing was stored."""

    code = "photo_rejected"


class ClaimNotFound(ClaimError):
    """Unknown claim id or wrong access token; deliberately the same error so ids cannot be probed."""

    code = "not_found"

    def __init__(
        self,
        message: str = "We could not find a claim with that reference and access code. "
        "Please check both; they are in the confirmation you received.",
    ):
        super().__init__(message)


class CaseLocked(ClaimError):
    """Another reviewer holds the case."""

    code = "case_locked"

    def __init__(self, holder: str, until):
        self.holder = holder
        self.until = until
        super().__init__(f"{holder} is working on this case until {until:%H:%M} UTC.")


class InvalidAction(ClaimError):
    """A review action or transition that is not allowed in the claim's current state."""

    code = "invalid_action"


class RateLimited(ClaimError):
    """Too many attempts in a short time."""

    code = "rate_limited"
