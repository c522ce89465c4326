"""A small receiver for claimbot's webhook: verify the signature, refuse old and replayed posts, process
each Idempotency-Key once.

Run it to watch what claimbot sends:

    claimbot webhook-receiver --port 8081 --secret "$CLAIMBOT_WEBHOOK_SECRET"
    CLAIMBOT_WEBHOOK_URL=http://127.0.0.1:8081/ claimbot serve

or copy `verify_signature` and `WebhookReceiver.handle` into your own web framework (this module uses the
standard library only, so it can be copied whole). The rules:

1. `X-Signature` is `t=<unix time>,v1=<hex HMAC-SHA256 over "<t>.<Idempotency-Key>.<raw body>">`, keyed
   with the shared secret. Verify it over the RAW request body, before parsing it, with a constant-time
   comparison, and refuse a timestamp more than the tolerance (claimbot's `webhook_tolerance_seconds`,
   300 s by default) away from your clock. Answer 401 to a missing, malformed, wrong or stale signature
   (claimbot retries with a fresh signature, then dead-letters the message).
2. Refuse a (key, signature) pair you have already accepted (409): within the tolerance window that can
   only be a captured post sent again; after it, the timestamp check refuses it. claimbot signs every
   attempt afresh, so an honest retry always carries a new signature.
3. De-duplicate by `Idempotency-Key`: claimbot delivers at least once, so after a timeout or a crash the
   same message arrives again, freshly signed. Record the key in the same transaction as the refund or
   shipment it causes, and answer 2xx to a key already seen without doing anything again.
4. Answer 2xx only once the work is recorded; any other answer (or no answer within claimbot's
   timeout) makes claimbot try again later with the same key.

This example keeps the processed keys and recent signatures in memory (so a restart forgets them); a real
receiver keeps the keys in its database, next to the refunds it issues.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_TOLERANCE_SECONDS = 300.0  # the default of claimbot's webhook_tolerance_seconds
_HEX64 = re.compile(r"[0-9a-f]{64}")


def parse_signature(header: str | None) -> tuple[int, str] | None:
    """(t, v1) from an `X-Signature` header `t=<unix time>,v1=<64 hex digits>`; None if missing or malformed."""
    if not header or len(header) > 200:
        return None
    fields: dict[str, str] = {}
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or name in fields:
            return None
        fields[name] = value
    t, v1 = fields.get("t", ""), fields.get("v1", "")
    if not (t.isascii() and t.isdigit() and len(t) <= 12) or not _HEX64.fullmatch(v1):
        return None
    return int(t), v1


def _expected(body: bytes, idempotency_key: str, timestamp: int, secret: str) -> str:
    signed = f"{timestamp}.{idempotency_key}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify_signature(
    body: bytes,
    header: str | None,
    idempotency_key: str,
    secret: str,
    *,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True if `header` signs this body under this key with `secret`, at a time within the tolerance of now."""
    parsed = parse_signature(header)
    if parsed is None or not secret or not idempotency_key:
        return False
    timestamp, v1 = parsed
    if abs((time.time() if now is None else now) - timestamp) > tolerance_seconds:
        return False
    return hmac.compare_digest(v1, _expected(body, idempotency_key, timestamp, secret))


class WebhookReceiver:
    """Checks and de-duplicates deliveries; `process(key, payload)` runs once per Idempotency-Key."""

    def __init__(
        self,
        secret: str,
        process: Callable[[str, dict], None] | None = None,
        *,
        tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
    ):
        self.secret = secret
        self.process = process or (lambda key, payload: None)
        self.tolerance_seconds = tolerance_seconds
        self.processed: dict[str, dict] = {}  # Idempotency-Key -> payload, in arrival order
        self.duplicates = 0
        self.replays = 0
        self._seen: dict[tuple[str, str], int] = {}  # (key, v1) accepted -> its signed time
        self._lock = threading.Lock()

    def handle(self, body: bytes, headers, *, now: float | None = None) -> tuple[int, dict]:
        """The answer (HTTP status, JSON body) to one POST; `headers` is any case-insensitive mapping."""
        key = headers.get("Idempotency-Key") or ""
        if not key:
            return 400, {"error": "missing Idempotency-Key"}
        parsed = parse_signature(headers.get("X-Signature"))
        if parsed is None or not self.secret:
            return 401, {"error": "missing or malformed X-Signature"}
        timestamp, v1 = parsed
        if not hmac.compare_digest(v1, _expected(body, key, timestamp, self.secret)):
            return 401, {"error": "bad signature"}
        now = time.time() if now is None else now
        if abs(now - timestamp) > self.tolerance_seconds:
            return 401, {"error": "signature timestamp outside the tolerance"}
        try:
            payload = json.loads(body)
        except ValueError:
            return 400, {"error": "body is not JSON"}
        if not isinstance(payload, dict) or payload.get("idempotency_key") != key:
            return 400, {"error": "Idempotency-Key header and body disagree"}
        with self._lock:  # check and record together, so two concurrent retries cannot both process
            # A pair older than the tolerance is refused by the time check above: no need to remember it.
            self._seen = {pair: t for pair, t in self._seen.items() if t >= now - self.tolerance_seconds}
            if (key, v1) in self._seen:
                self.replays += 1
                return 409, {"error": "replayed delivery"}
            self._seen[(key, v1)] = timestamp
            if key in self.processed:
                self.duplicates += 1
                return 200, {"status": "duplicate", "idempotency_key": key}
            self.process(key, payload)
            self.processed[key] = payload
        return 200, {"status": "processed", "idempotency_key": key}


def make_handler(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    """An http.server request handler class that answers POSTs with `receiver.handle`."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            status, answer = receiver.handle(body, self.headers)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format, *args) -> None:
            pass

    return Handler


def make_server(receiver: WebhookReceiver, host: str = "127.0.0.1", port: int = 8081) -> ThreadingHTTPServer:
    """A threaded HTTP server on (host, port) answering POSTs with `receiver`; call `serve_forever()` to run it.
    Raises OSError when the address cannot be bound (port in use, unknown host)."""
    return ThreadingHTTPServer((host, port), make_handler(receiver))


__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "WebhookReceiver",
    "make_handler",
    "make_server",
    "parse_signature",
    "verify_signature",
]
