"""The outbox dispatcher against a real HTTP receiver on loopback (claims/webhook_receiver.py's logic).

Deliveries are at least once with a stable Idempotency-Key, so the checks are: every message reaches the
receiver, the receiver processes each key once, and no message ever arrives under a second key, whatever
fails on the way (error answers, timeouts, a dispatcher killed with SIGKILL mid-delivery).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from claims import webhook_receiver
from claims.config import Settings
from claims.models import utcnow
from claims.outbox import OutboxDispatcher, backoff_seconds, requeue_dead, sign
from claims.service import ClaimService
from claims.store import Store, parse_time
from tests._model_doubles import BrokenEverywhere, ReadsIntent, photo_bytes

ROOT = Path(__file__).resolve().parents[1]
SECRET = "test-webhook-secret"


# --- a real receiver on loopback, with scripted faults ---------------------------------------------


class Receiver:
    """claims.webhook_receiver.WebhookReceiver behind http.server, failing on cue.

    `faults[key]` lists what happens on that key's first arrivals: "500" answers an error without looking
    at the message; "slow" processes it and then answers only after `slow_seconds` (past the dispatcher's
    timeout, so it tries again). `always` applies to every arrival once the per-key list is used up.
    """

    def __init__(self, *, faults=None, always=None, slow_seconds=0.6, on_processed=None):
        self.faults = {key: list(script) for key, script in (faults or {}).items()}
        self.always = always
        self.slow_seconds = slow_seconds
        self.on_processed = on_processed
        self.requests: list[dict] = []
        self.process_calls: list[str] = []
        self._lock = threading.Lock()
        self.logic = webhook_receiver.WebhookReceiver(SECRET, process=self._process)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), webhook_receiver.make_handler(self))
        self.server.handle_error = lambda request, address: None  # clients that timed out hang up on us
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/claims"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _process(self, key, payload):
        self.process_calls.append(key)
        if self.on_processed:
            self.on_processed(key)

    def handle(self, body, headers):
        """What webhook_receiver.make_handler calls for each POST: the scripted fault, else the real logic."""
        key = headers.get("Idempotency-Key")
        with self._lock:
            self.requests.append({"key": key, "headers": dict(headers), "body": body})
            script = self.faults.get(key) or []
            fault = script.pop(0) if script else self.always
        if fault == "500":
            return 500, {"error": "try again later"}
        answer = self.logic.handle(body, headers)
        if fault == "slow":
            time.sleep(self.slow_seconds)
        return answer

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def arrivals(self) -> Counter:
        return Counter(request["key"] for request in self.requests)


def wait_until(predicate, timeout=60.0, interval=0.05):
    """Poll until predicate() is true; the timeout only keeps a broken build from hanging."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(interval)


def make_service(path, **settings):
    settings.setdefault("reviewers", "ana:correct-horse")
    settings.setdefault("webhook_secret", SECRET)
    settings.setdefault("velocity_max_claims", 100)  # every test claim comes from the one demo email
    return ClaimService.open(
        path, demo=True, settings=Settings(**settings), vision=BrokenEverywhere(), text=ReadsIntent()
    )


REFUND_ORDERS = ("DEMO-1001", "DEMO-1007")
REPLACEMENT_ORDERS = ("DEMO-1002", "DEMO-1010")


def file_claims(svc, count=4):
    """`count` (up to 4) automatically approved claims on distinct orders: refund, replacement, refund, ..."""
    claims = []
    for i in range(count):
        if i % 2 == 0:
            order_id, text = REFUND_ORDERS[i // 2], "It arrived cracked."
        else:
            order_id, text = REPLACEMENT_ORDERS[i // 2], "Cracked, please replace it."
        claims.append(svc.submit_claim(order_id, "demo@example.com", text, [photo_bytes(i)]))
    expected = ["auto_refund", "auto_replacement", "auto_refund", "auto_replacement"][:count]
    assert [c["status"] for c in claims] == expected
    return claims


def keys_in(store) -> set[str]:
    return {row["idempotency_key"] for row in store.outbox_rows()}


# --- tests ------------------------------------------------------------------------------------------


def test_approved_refunds_and_replacements_are_delivered_with_signatures_that_verify(tmp_path):
    with Receiver() as receiver:
        svc = make_service(tmp_path / "claims.db", webhook_url=receiver.url)
        try:
            svc.start_dispatcher(poll_seconds=0.05)
            file_claims(svc, 2)
            reviewed = svc.submit_claim("DEMO-1003", "demo@example.com", "Screen cracked.", [photo_bytes(9)])
            assert reviewed["status"] == "in_review"  # over the auto-approval limit
            svc.open_case(reviewed["claim_id"], "ana")
            svc.decide(reviewed["claim_id"], "ana", "approve_refund")
            wait_until(lambda: all(r["state"] == "delivered" for r in svc.store.outbox_rows()))

            rows = {row["idempotency_key"]: row for row in svc.store.outbox_rows()}
            assert len(rows) == 3
            assert set(receiver.logic.processed) == set(rows)
            for request in receiver.requests:
                headers, body = request["headers"], request["body"]
                assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", headers["X-Signature"])
                assert webhook_receiver.verify_signature(body, headers["X-Signature"], request["key"], SECRET)
                signed_at, _ = webhook_receiver.parse_signature(headers["X-Signature"])
                assert abs(signed_at - time.time()) < 60
                assert headers["X-Signature"] == sign(body, SECRET, request["key"], signed_at)
                payload = json.loads(body)
                assert payload == rows[request["key"]]["payload"]
                assert payload["idempotency_key"] == request["key"]
                assert headers["X-Claimbot-Event"] == payload["type"]
                assert headers["Content-Type"] == "application/json"
            types = Counter(p["type"] for p in receiver.logic.processed.values())
            assert types == {"refund.issue": 2, "replacement.ship": 1}
            assert reviewed["claim_id"] in {p["claim_id"] for p in receiver.logic.processed.values()}
            states = [
                w["state"]
                for w in svc.store.workflows_for_claims({p["claim_id"] for p in receiver.logic.processed.values()})
            ]
            assert states == ["completed"] * 3
            assert svc.store.ledger_entries() == []  # a webhook URL replaces the local ledger
        finally:
            svc.close()


@pytest.mark.slow  # a subprocess or the real generator at full size
def test_a_receiver_that_fails_the_first_tries_still_processes_each_message_once(tmp_path):
    svc = make_service(
        tmp_path / "claims.db",
        webhook_url="http://127.0.0.1:9/unused",
        webhook_timeout_seconds=1.0,
        webhook_backoff_seconds=0.01,
        webhook_max_attempts=5,
    )
    try:
        claims = file_claims(svc, 4)
        a, b, c, d = (row["idempotency_key"] for row in svc.store.outbox_rows())
        faults = {a: ["500", "500"], b: ["slow", "slow"], c: ["slow"], d: []}
        with Receiver(faults=faults, slow_seconds=2.0) as receiver:
            settings = svc.settings.model_copy(update={"webhook_url": receiver.url})
            OutboxDispatcher(svc.store, settings, poll_seconds=0.05).drain()

        assert receiver.arrivals() == {a: 3, b: 3, c: 2, d: 1}
        assert sorted(receiver.process_calls) == sorted({a, b, c, d})  # each key processed exactly once
        assert set(receiver.logic.processed) == keys_in(svc.store)
        assert receiver.logic.duplicates == 3  # b twice and c once came back after a too-slow answer
        rows = {row["idempotency_key"]: row for row in svc.store.outbox_rows()}
        assert {key: row["attempts"] for key, row in rows.items()} == {a: 3, b: 3, c: 2, d: 1}
        assert all(row["state"] == "delivered" for row in rows.values())
        assert rows[a]["last_error"] == "HTTP 500"
        workflows = svc.store.workflows_for_claims([claim["claim_id"] for claim in claims])
        assert [w["state"] for w in workflows] == ["completed"] * 4
    finally:
        svc.close()


def test_a_message_is_dead_after_the_last_try_and_can_be_requeued_under_the_same_key(tmp_path):
    svc = make_service(tmp_path / "claims.db", webhook_backoff_seconds=0.01, webhook_max_attempts=3)
    try:
        [claim] = file_claims(svc, 1)
        with Receiver(always="500") as receiver:
            settings = svc.settings.model_copy(update={"webhook_url": receiver.url})
            OutboxDispatcher(svc.store, settings).drain()
            [row] = svc.store.outbox_rows()
            assert (row["state"], row["attempts"], row["last_error"]) == ("dead", 3, "HTTP 500")
            assert receiver.arrivals() == {row["idempotency_key"]: 3}
            [workflow] = svc.store.workflows_for_claims([claim["claim_id"]])
            assert (workflow["state"], workflow["reason"]) == ("failed", "delivery_failed")
            [event] = svc.store.events(claim["claim_id"], kind="refund_failed")
            assert event["detail"]["error"] == "HTTP 500" and event["detail"]["attempts"] == 3

            receiver.always = None  # the receiver is fixed
            assert requeue_dead(svc.store) == 1
            OutboxDispatcher(svc.store, settings).drain()
        assert [r["state"] for r in svc.store.outbox_rows()] == ["delivered"]
        assert receiver.process_calls == [row["idempotency_key"]]
        assert svc.store.workflows_for_claims([claim["claim_id"]])[0]["state"] == "completed"
    finally:
        svc.close()


def test_a_reviewer_approving_again_after_a_dead_letter_retries_the_same_message(tmp_path):
    svc = make_service(tmp_path / "claims.db", webhook_url="http://127.0.0.1:9/unused", webhook_max_attempts=1)
    try:
        [claim] = file_claims(svc, 1)
        with Receiver(always="500") as receiver:
            settings = svc.settings.model_copy(update={"webhook_url": receiver.url})
            OutboxDispatcher(svc.store, settings).drain()
            assert svc.store.workflows_for_claims([claim["claim_id"]])[0]["state"] == "failed"
            svc.request_human(claim["claim_id"], claim["access_token"], "Where is my money?")
            svc.open_case(claim["claim_id"], "ana")
            svc.decide(claim["claim_id"], "ana", "approve_refund")
            [workflow] = svc.store.workflows_for_claims([claim["claim_id"]])
            assert workflow["state"] == "issued"
            receiver.always = None
            OutboxDispatcher(svc.store, settings).drain()
        [row] = svc.store.outbox_rows()
        assert row["state"] == "delivered"
        assert set(receiver.arrivals()) == {row["idempotency_key"]}
        assert svc.store.workflows_for_claims([claim["claim_id"]])[0]["state"] == "completed"
    finally:
        svc.close()


def test_two_dispatchers_never_post_one_message_at_the_same_time(tmp_path):
    svc = make_service(tmp_path / "claims.db", webhook_url="http://127.0.0.1:9/unused")
    try:
        file_claims(svc, 4)
        with Receiver(always="slow", slow_seconds=0.1) as receiver:
            settings = svc.settings.model_copy(update={"webhook_url": receiver.url})
            other = Store.open(tmp_path / "claims.db")  # a second process's connection
            try:
                runs = [
                    threading.Thread(target=OutboxDispatcher(store, settings).drain) for store in (svc.store, other)
                ]
                for run in runs:
                    run.start()
                for run in runs:
                    run.join(60)
            finally:
                other.close()
        assert receiver.arrivals() == {key: 1 for key in keys_in(svc.store)}
        assert all(row["state"] == "delivered" and row["attempts"] == 1 for row in svc.store.outbox_rows())
    finally:
        svc.close()


def test_retries_back_off_exponentially_from_the_setting(tmp_path):
    settings = Settings(webhook_backoff_seconds=1.5)
    assert [backoff_seconds(settings, n) for n in (1, 2, 3, 4)] == [1.5, 3.0, 6.0, 12.0]
    assert backoff_seconds(settings, 40) == 3600.0

    svc = make_service(tmp_path / "claims.db", webhook_url="http://127.0.0.1:9/refused", webhook_backoff_seconds=600)
    try:
        file_claims(svc, 1)
        before = utcnow()
        assert OutboxDispatcher(svc.store, svc.settings).run_once() == 1
        [row] = svc.store.outbox_rows()
        assert (row["state"], row["attempts"]) == ("pending", 1)
        assert row["last_error"]  # the refused connection, in words
        # (stored times have millisecond precision, hence the 1 ms of slack)
        assert parse_time(row["next_attempt_at"]) >= before + timedelta(seconds=600) - timedelta(milliseconds=1)
        assert OutboxDispatcher(svc.store, svc.settings).run_once() == 0  # not due yet
    finally:
        svc.close()


KEY = "CLM-1:refund:issue"
BODY = json.dumps({"idempotency_key": KEY, "type": "refund.issue"}).encode()
NOW = 1_900_000_000


def _headers(body=BODY, key=KEY, at=NOW, secret=SECRET) -> dict:
    return {"X-Signature": sign(body, secret, key, at), "Idempotency-Key": key}


def test_the_signature_is_a_timestamp_and_an_hmac_over_time_key_and_body():
    import hashlib
    import hmac

    header = sign(BODY, SECRET, KEY, NOW)
    expected = hmac.new(SECRET.encode(), f"{NOW}.{KEY}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={NOW},v1={expected}"
    assert webhook_receiver.parse_signature(header) == (NOW, expected)
    assert sign(BODY, SECRET, "CLM-2:refund:issue", NOW) != header  # the key is covered
    assert sign(BODY, SECRET, KEY, NOW + 1) != header  # so is the time


@pytest.mark.parametrize(
    "header",
    [None, "", "sha256=" + "0" * 64, f"t={NOW}", "v1=" + "0" * 64, f"t=soon,v1={'0' * 64}", f"t={NOW},v1=xyz",
     f"t={NOW},t={NOW},v1={'0' * 64}", f"t=-{NOW},v1={'0' * 64}", f"t={NOW},v1={'é' * 64}", "t=1," + "v1=0" * 500],
)  # fmt: skip
def test_the_receiver_refuses_a_missing_or_malformed_signature(header):
    logic = webhook_receiver.WebhookReceiver(SECRET)
    headers = {"Idempotency-Key": KEY} if header is None else {"Idempotency-Key": KEY, "X-Signature": header}
    assert logic.handle(BODY, headers, now=NOW)[0] == 401
    assert not webhook_receiver.verify_signature(BODY, header, KEY, SECRET, now=NOW)
    assert logic.processed == {}


def test_the_receiver_refuses_a_bad_signature_and_a_missing_key():
    logic = webhook_receiver.WebhookReceiver(SECRET)
    assert logic.handle(BODY + b" ", _headers(), now=NOW)[0] == 401
    assert logic.handle(BODY, _headers(secret="another secret"), now=NOW)[0] == 401
    moved = {**_headers(), "Idempotency-Key": "CLM-2:refund:issue"}  # a real signature, another key
    assert logic.handle(BODY, moved, now=NOW)[0] == 401
    assert logic.handle(BODY, {"X-Signature": sign(BODY, SECRET, KEY, NOW)}, now=NOW)[0] == 400
    other = json.dumps({"idempotency_key": "CLM-2:refund:issue"}).encode()
    assert logic.handle(other, _headers(body=other), now=NOW)[0] == 400  # the body names another key
    assert logic.processed == {}
    assert logic.handle(BODY, _headers(), now=NOW)[0] == 200
    assert list(logic.processed) == [KEY]


@pytest.mark.parametrize("skew", [-301, 301, -10_000, 86_400])
def test_the_receiver_refuses_a_timestamp_outside_the_tolerance(skew):
    logic = webhook_receiver.WebhookReceiver(SECRET)
    assert logic.handle(BODY, _headers(at=NOW + skew), now=NOW) == (
        401,
        {"error": "signature timestamp outside the tolerance"},
    )
    assert not webhook_receiver.verify_signature(BODY, sign(BODY, SECRET, KEY, NOW + skew), KEY, SECRET, now=NOW)
    assert logic.handle(BODY, _headers(at=NOW + (299 if skew > 0 else -299)), now=NOW)[0] == 200  # inside it
    strict = webhook_receiver.WebhookReceiver(SECRET, tolerance_seconds=10)
    assert strict.handle(BODY, _headers(at=NOW - 11), now=NOW)[0] == 401


def test_the_receivers_default_tolerance_is_the_documented_setting():
    assert webhook_receiver.DEFAULT_TOLERANCE_SECONDS == Settings().webhook_tolerance_seconds == 300


def test_a_replayed_post_is_refused_but_an_honest_redelivery_is_answered_once():
    processed = []
    logic = webhook_receiver.WebhookReceiver(SECRET, process=lambda key, payload: processed.append(key))
    first = _headers(at=NOW)
    assert logic.handle(BODY, first, now=NOW + 1) == (200, {"status": "processed", "idempotency_key": KEY})
    # The captured post, sent again within the tolerance: refused, nothing done.
    assert logic.handle(BODY, first, now=NOW + 2) == (409, {"error": "replayed delivery"})
    assert logic.handle(BODY, first, now=NOW + 299)[0] == 409
    # ...and after it, the timestamp gives it away.
    assert logic.handle(BODY, first, now=NOW + 301)[0] == 401
    # claimbot's own redelivery of the key (after a timeout or a restart) is signed afresh: 200, done once.
    assert logic.handle(BODY, _headers(at=NOW + 30), now=NOW + 31) == (
        200,
        {"status": "duplicate", "idempotency_key": KEY},
    )
    assert logic.handle(BODY, _headers(at=NOW + 30), now=NOW + 32)[0] == 409
    assert processed == [KEY] and (logic.duplicates, logic.replays) == (1, 3)
    assert len(logic._seen) <= 2  # pairs are remembered only for the tolerance window
    logic.handle(BODY, _headers(at=NOW + 1000), now=NOW + 1000)
    assert list(logic._seen) == [(KEY, webhook_receiver.parse_signature(sign(BODY, SECRET, KEY, NOW + 1000))[1])]


def test_expected_errors_in_the_dispatcher_loop_are_logged_as_one_line(tmp_path, monkeypatch, caplog):
    from claims import outbox, workflows
    from claims.errors import InvalidAction

    def refuse(*args, **kwargs):
        raise InvalidAction("This claim was decided again; its refund is no longer wanted.")

    monkeypatch.setattr(workflows, "resume_unfinished", refuse)
    store = Store.open(":memory:")
    dispatcher = OutboxDispatcher(store, Settings(), poll_seconds=0.05)
    monkeypatch.setattr(dispatcher, "run_once", refuse)
    try:
        with caplog.at_level("WARNING", logger=outbox.log.name):
            dispatcher.start()
            wait_until(lambda: len(caplog.records) >= 2, timeout=10)
    finally:
        dispatcher.stop()
        store.close()
    assert caplog.records and all(r.levelname == "WARNING" for r in caplog.records)
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in caplog.records)
    assert "no longer wanted" in caplog.records[0].getMessage()


def test_a_webhook_url_without_a_secret_is_refused(tmp_path):
    store = Store.open(":memory:")
    try:
        with pytest.raises(ValueError, match="webhook_secret"):
            OutboxDispatcher(store, Settings(webhook_url="http://127.0.0.1:9/", webhook_secret=""))
    finally:
        store.close()


@pytest.mark.slow  # a subprocess or the real generator at full size
def test_a_dispatcher_killed_mid_delivery_loses_nothing_and_sends_nothing_under_a_new_key(tmp_path):
    data = tmp_path / "data"
    svc = make_service(data / "claims.db")
    try:
        claims = file_claims(svc, 4)
        a, b, c, d = (row["idempotency_key"] for row in svc.store.outbox_rows())
    finally:
        svc.close()

    # The receiver processes the second message, then is slow to answer; the dispatcher is killed while
    # it waits for that answer, so the message is processed but not recorded as delivered.
    b_processed = threading.Event()
    receiver = Receiver(
        faults={b: ["slow"]}, slow_seconds=10.0, on_processed=lambda key: key == b and b_processed.set()
    )
    env = {
        **os.environ,
        "CLAIMBOT_SETTINGS_FILE": str(tmp_path / "none.toml"),
        "CLAIMBOT_WEBHOOK_SECRET": SECRET,
        "CLAIMBOT_WEBHOOK_URL": receiver.url,
        "CLAIMBOT_WEBHOOK_TIMEOUT_SECONDS": "2.0",
        "CLAIMBOT_WEBHOOK_BACKOFF_SECONDS": "0.05",
        "CLAIMBOT_WEBHOOK_MAX_ATTEMPTS": "10",
    }
    command = [sys.executable, "-m", "ui.cli", "outbox", "--data", str(data), "--poll", "0.1"]
    with receiver:
        first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            assert b_processed.wait(60), "the dispatcher never reached the second message"
            first.send_signal(signal.SIGKILL)
            first.wait(30)
        finally:
            if first.poll() is None:
                first.kill()
                first.wait()
        assert first.returncode == -signal.SIGKILL
        with Store.open(data / "claims.db") as store:
            assert {r["idempotency_key"]: r["state"] for r in store.outbox_rows()} == {
                a: "delivered",
                b: "pending",
                c: "pending",
                d: "pending",
            }

        # Restart (draining, then exiting); the receiver answers at once from now on.
        second = subprocess.run(command + ["--drain"], cwd=ROOT, env=env, capture_output=True, timeout=120)
        assert second.returncode == 0, second.stderr.decode()[-2000:]

    with Store.open(data / "claims.db") as store:
        rows = store.outbox_rows()
        assert {row["idempotency_key"] for row in rows} == {a, b, c, d}
        assert all(row["state"] == "delivered" for row in rows)
        states = [w["state"] for w in store.workflows_for_claims([claim["claim_id"] for claim in claims])]
        assert states == ["completed"] * 4
    # Nothing lost, nothing under a key we did not write; the message in flight came again, same key.
    assert receiver.arrivals() == {a: 1, b: 2, c: 1, d: 1}
    assert sorted(receiver.process_calls) == sorted([a, b, c, d])  # each message processed once
    assert receiver.logic.duplicates == 1


def test_the_documented_snippet_verifies_what_the_dispatcher_signs():
    readme = (ROOT / "docs" / "workflows.md").read_text(encoding="utf-8")
    section = re.search(r"<!-- section:workflows -->(.*?)<!-- /section:workflows -->", readme, re.S).group(1)
    [snippet] = [block for block in re.findall(r"```python\n(.*?)```", section, re.S) if "verify_signature" in block]
    namespace: dict = {}
    exec(compile(snippet, "docs/workflows.md", "exec"), namespace)
    verify = namespace["verify_signature"]
    body = b'{"idempotency_key":"CLM-1:refund:issue","type":"refund.issue"}'
    header = sign(body, SECRET, KEY)  # now
    assert verify(body, header, KEY, SECRET)
    assert not verify(body.replace(b"refund.issue", b"refund.issuE"), header, KEY, SECRET)
    assert not verify(body, header, "CLM-2:refund:issue", SECRET)
    assert not verify(body, header, KEY, "")
    assert not verify(body, header, KEY, "another secret")
    assert not verify(body, sign(body, SECRET, KEY, int(time.time()) - 301), KEY, SECRET)
    assert verify(body, sign(body, SECRET, KEY, NOW - 299), KEY, SECRET, now=NOW)
    for malformed in (None, "", "sha256=" + "0" * 64, "t=x,v1=00", f"t={NOW}", f"t={NOW},v1={'é' * 64}"):
        assert not verify(body, malformed, KEY, SECRET, now=NOW)
