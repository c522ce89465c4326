"""The claim lifecycle: intake, decision, review, workflows. Knows nothing of Gradio; loads no model on import."""

from __future__ import annotations

from claims.errors import CaseLocked, ClaimError, ClaimNotFound, InvalidAction, InvalidInput, PhotoRejected, RateLimited

__all__ = ["CaseLocked", "ClaimError", "ClaimNotFound", "InvalidAction", "InvalidInput", "PhotoRejected", "RateLimited"]
