"""One way to show the service's specific errors: as a message on the page (and an error for API clients)."""

from __future__ import annotations

import functools

import gradio as gr

from claims.errors import ClaimError


def shown_as(title: str):
    """Decorator: a `ClaimError` raised by the handler becomes `gr.Error(message, title=title)`."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except ClaimError as e:
                raise gr.Error(str(e), title=title) from e

        return wrapper

    return decorate
