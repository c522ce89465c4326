"""What a client sees when a handler fails: the service's own words, or a generic message with a reference.

A `ClaimError` (the service's specific errors) is written for the person who reads it: it becomes
`gr.Error(message, title=...)` and one log line without a traceback (expected, not a fault). Anything else is
a fault of ours: the client gets a generic message with a short reference id, never the exception's text
(it may name server paths or internals), and the server logs one line carrying the same reference, the
exception's type and where it was raised, so an operator can find it.
"""

from __future__ import annotations

import functools
import logging
import secrets
import traceback
from pathlib import Path

import gradio as gr

from claims.errors import ClaimError

log = logging.getLogger("claimbot.ui")

GENERIC_MESSAGE = (
    "Something went wrong on our side, and nothing was changed. Please try again in a moment; "
    "if it keeps happening, contact us and quote reference {ref}."
)


def _one_line(text: str, limit: int = 300) -> str:
    return " ".join(str(text).split())[:limit]


def unexpected(exc: BaseException, where: str) -> gr.Error:
    """Log `exc` as one line with a new reference id; return the generic error the client may see."""
    ref = secrets.token_hex(4)
    frames = traceback.extract_tb(exc.__traceback__)
    origin = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    log.error(
        "unexpected error ref=%s in %s: %s at %s: %s", ref, where, type(exc).__name__, origin, _one_line(str(exc))
    )
    return gr.Error(GENERIC_MESSAGE.format(ref=ref), title="Sorry", print_exception=False)


def shown_as(title: str):
    """Decorator for UI handlers: a `ClaimError` becomes `gr.Error(message, title=title)`; any other exception
    becomes the generic message with a reference id (see the module docstring)."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except gr.Error:
                raise
            except ClaimError as e:
                log.info("%s refused (%s): %s", fn.__name__, getattr(e, "code", "claim_error"), _one_line(str(e)))
                raise gr.Error(str(e), title=title, print_exception=False) from None
            except Exception as e:
                raise unexpected(e, fn.__name__) from None

        return wrapper

    return decorate


BAD_REQUEST_MESSAGE = "This request could not be used: please check what you sent (photos must be uploaded files)."


def guard_blocks(blocks: gr.Blocks) -> gr.Blocks:
    """Make every function of `blocks` answer in plain words, whatever it is called with.

    Any function of a public app can be called by anyone through `queue/join` with its `fn_index`, with any
    arguments. Gradio checks and converts those inputs (file paths, types) before the handler runs, and its
    errors name server paths ("Cannot move /srv/... to the gradio cache dir"): they become one plain message
    and one log line. Anything else a function raises that is not a `gr.Error` becomes the generic message
    with a reference id (`unexpected`). Our own `gr.Error`s pass unchanged."""
    preprocess = blocks.preprocess_data
    process = blocks.process_api

    async def preprocess_data(*args, **kwargs):
        try:
            return await preprocess(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as e:
            log.info("request refused before its handler: %s: %s", type(e).__name__, _one_line(str(e), 200))
            raise gr.Error(BAD_REQUEST_MESSAGE, title="Please check", print_exception=False) from None

    async def process_api(*args, **kwargs):
        try:
            return await process(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as e:
            raise unexpected(e, "an app function") from None

    blocks.preprocess_data = preprocess_data  # type: ignore[method-assign]
    blocks.process_api = process_api  # type: ignore[method-assign]
    return blocks
