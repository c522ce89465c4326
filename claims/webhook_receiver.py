"""A small receiver for claimbot's webhook: verify the signature, process each Idempotency-Key once.

Run it to watch what claimbot sends:

    claimbot webhook-receiver --port 8081 --secret "$CLAIMBOT_WEBHOOK_SECRET"
    CLAIMBOT_WEBHOOK_URL=http://127.0.0.1:8081/ claimbot serve

or copy `verify_signature` and `WebhookReceiver.handle` into your own web framework (this module uses the
standard library only, so it can be copied whole). The three rules:

1. Verify `X-Signature` over the RAW request body, before parsing it, with a constant-time comparison.
   Answer 401 when it does not match (claimbot retries, then dead-letters the message).
2. De-duplicate by `Idempotency-Key`: claimbot delivers at least once, so after a timeout or a crash the
   same message may arrive again. Record the key in the same transaction as the refund or shipment it
   causes, and answer 2xx to a key already seen without doing anything again.
3. Answer 2xx only once the work is recorded; any other answer (or no answer within claimbot's
   timeout) makes claimbot try again later with the same key.

This example keeps the processed keys in memory (so a restart forgets them); a real receiver keeps them
in its database, next to the refunds it issues.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def verify_signature(body: bytes, header: str | None, secret: str) -> bool:
    """True if `header` is `sha256=<hex HMAC-SHA256 of body keyed with secret>`."""
    if not header or not header.startswith("sha256=") or not secret:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.removeprefix("sha256="), expected)


class WebhookReceiver:
    """Checks and de-duplicates deliveries; `process(key, payload)` runs once per Idempotency-Key."""

    def __init__(self, secret: str, process: Callable[[str, dict], None] | None = None):
        self.secret = secret
        self.process = process or (lambda key, payload: None)
        self.processed: dict[str, dict] = {}  # Idempotency-Key -> payload, in arrival order
        self.duplicates = 0
        self._lock = threading.Lock()

    def handle(self, body: bytes, headers) -> tuple[int, dict]:
        """The answer (HTTP status, JSON body) to one POST; `headers` is any case-insensitive mapping."""
        if not verify_signature(body, headers.get("X-Signature"), self.secret):
            return 401, {"error": "bad signature"}
        key = headers.get("Idempotency-Key") or ""
        if not key:
            return 400, {"error": "missing Idempotency-Key"}
        try:
            payload = json.loads(body)
        except ValueError:
            return 400, {"error": "body is not JSON"}
        if payload.get("idempotency_key") != key:
            return 400, {"error": "Idempotency-Key header and body disagree"}
        with self._lock:  # check and record together, so two concurrent retries cannot both process
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


__all__ = ["WebhookReceiver", "make_handler", "make_server", "verify_signature"]
