"""Crash: SIGKILL the server in the middle of a load run, restart it, and find nothing lost or duplicated.

The server runs in its own process (`python -m tests._reliability_support`: the real app, store, photo
store and outbox dispatcher, with the model doubles so that each restart takes seconds) and posts approved
refunds and replacements to the loopback webhook receiver of claims/webhook_receiver.py in this process.
It is killed three times at different points of the load, then restarted to finish the work.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from http.server import ThreadingHTTPServer

import pytest
from gradio_client import Client

from claims import webhook_receiver as receiver_module
from tests._reliability_support import (
    DESCRIPTION,
    LoadRun,
    ServerProcess,
    claim_problems,
    connect,
    foreign_key_problems,
    integrity,
    run_load,
    seed_orders,
    write_photos,
)

pytestmark = pytest.mark.slow

JOBS = 80
CLIENTS = 8
KILL_AFTER_ANSWERS = (12, 30, 50)  # cumulative answers at which the server is SIGKILLed
SECRET = "crash-test-secret"
APPROVED = ("auto_refund", "auto_replacement", "approved_refund", "approved_replacement")


@contextmanager
def webhook_receiver():
    """claims/webhook_receiver.py on a loopback port; each message takes a little work, as a real one would."""
    posts: list[str] = []
    receiver = receiver_module.WebhookReceiver(SECRET, process=lambda key, payload: time.sleep(0.02))
    handle = receiver.handle

    def counting(body, headers):
        posts.append(headers.get("Idempotency-Key") or "")
        return handle(body, headers)

    receiver.handle = counting
    server = ThreadingHTTPServer(("127.0.0.1", 0), receiver_module.make_handler(receiver))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver, posts, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _outbox_settled(db) -> bool:
    with connect(db) as conn:
        pending = conn.execute("SELECT count(*) FROM outbox WHERE state != 'delivered'").fetchone()[0]
        unfinished = conn.execute("SELECT count(*) FROM workflows WHERE state != 'completed'").fetchone()[0]
    return pending == 0 and unfinished == 0


@pytest.fixture(scope="module")
def crashed(tmp_path_factory):
    """Load, SIGKILL at each kill point, restart; finally let the restarted server finish the load."""
    data_dir = tmp_path_factory.mktemp("data")
    db = data_dir / "claims.db"
    orders = seed_orders(db, JOBS, prefix="CRASH")
    photos = iter(write_photos(tmp_path_factory.mktemp("photos"), JOBS + JOBS // 2, start=10_000))
    jobs = [
        (order, email, f"{DESCRIPTION} (crash {i})", [next(photos) for _ in range(1 + (i % 2 == 0))])
        for i, (order, email) in enumerate(orders)
    ]
    answers: dict[int, dict] = {}
    failed: dict[int, str] = {}
    with webhook_receiver() as (receiver, posts, hook_url):
        env = {
            "CLAIMBOT_WEBHOOK_URL": hook_url,
            "CLAIMBOT_WEBHOOK_SECRET": SECRET,
            "CLAIMBOT_WEBHOOK_BACKOFF_SECONDS": "0.1",
            "CLAIMBOT_WEBHOOK_TIMEOUT_SECONDS": "2",
            "CLAIMBOT_WEBHOOK_MAX_ATTEMPTS": "100",
        }
        next_job = 0
        kills = []
        for kill_at in (*KILL_AFTER_ANSWERS, None):
            server = ServerProcess(data_dir, env).start()
            try:
                batch = jobs[next_job:]
                run, stop = LoadRun(), threading.Event()
                loader = threading.Thread(target=run_load, args=(server.url, batch, CLIENTS, stop, run))
                loader.start()
                if kill_at is not None:
                    _wait_for(
                        lambda: len(answers) + len(run.answers) >= kill_at or not loader.is_alive(),
                        120,
                        f"{kill_at} answers",
                    )
                    stop.set()
                    server.kill()
                    kills.append(len(answers) + len(run.answers))
                loader.join(timeout=120)
                assert not loader.is_alive()
                taken = set(run.answers) | set(run.errors)
                answers.update({next_job + i: a for i, a in run.answers.items()})
                failed.update({next_job + i: e for i, e in run.errors.items()})
                next_job += max(taken) + 1 if taken else 0
                if kill_at is None:
                    _wait_for(lambda: _outbox_settled(db), 120, "the outbox to deliver everything")
                    client = Client(server.url + "/", verbose=False)
                    seen = {
                        i: client.predict(a["claim_id"], a["access_token"], api_name="/claim_status")
                        for i, a in answers.items()
                    }
                    client.close()
            finally:
                server.kill()
        print(
            f"\ncrash: {len(answers)} answered, {len(failed)} cut off, killed after {kills} answers; "
            f"{len(receiver.processed)} webhook messages processed, {len(posts)} posts, "
            f"{receiver.duplicates} duplicates answered as such"
        )
        yield {
            "db": db,
            "data_dir": data_dir,
            "jobs": jobs,
            "answers": answers,
            "failed": failed,
            "seen": seen,
            "receiver": receiver,
            "posts": posts,
            "kills": kills,
        }


def test_the_server_was_killed_in_the_middle_of_the_load_each_time(crashed):
    kills = crashed["kills"]
    assert len(kills) == len(KILL_AFTER_ANSWERS)
    assert all(k >= point for k, point in zip(kills, KILL_AFTER_ANSWERS))
    assert len(crashed["answers"]) > KILL_AFTER_ANSWERS[-1]


def test_every_claim_that_got_an_answer_is_present_and_whole_after_restart(crashed):
    problems = []
    for index, answer in crashed["answers"].items():
        expected = len(crashed["jobs"][index][3])
        problems += claim_problems(
            crashed["db"],
            crashed["data_dir"] / "photos",
            answer["claim_id"],
            expected_photos=expected,
            token=answer["access_token"],
        )
        seen = crashed["seen"][index]
        assert (seen["claim_id"], seen["status"]) == (answer["claim_id"], answer["status"])
        assert [p["sha256"] for p in seen["photos"]] == [p["sha256"] for p in answer["photos"]]
    assert problems == []


def test_claims_cut_off_by_a_kill_are_either_whole_or_absent(crashed):
    with connect(crashed["db"]) as conn:
        stored = [r[0] for r in conn.execute("SELECT claim_id FROM claims")]
        by_order = {r[0] for r in conn.execute("SELECT order_id FROM claims")}
    problems = [
        p for claim_id in stored for p in claim_problems(crashed["db"], crashed["data_dir"] / "photos", claim_id)
    ]
    assert problems == []
    answered_orders = {crashed["jobs"][i][0] for i in crashed["answers"]}
    assert answered_orders <= by_order
    # No job was filed twice: nobody retried, so a claim per order at most.
    assert len(stored) == len(by_order)


def test_the_database_passes_integrity_check_after_the_kills(crashed):
    assert integrity(crashed["db"]) == "ok"
    assert foreign_key_problems(crashed["db"]) == []


def test_every_approved_workflow_is_delivered_exactly_once_to_the_webhook(crashed):
    with connect(crashed["db"]) as conn:
        approved = {
            r[0]
            for r in conn.execute(
                f"SELECT claim_id FROM claims WHERE status IN ({', '.join('?' * len(APPROVED))})", APPROVED
            )
        }
        outbox = {
            r[0]: r[1]
            for r in conn.execute(
                "SELECT o.idempotency_key, w.claim_id FROM outbox o JOIN workflows w ON w.id = o.workflow_id"
            )
        }
        states = {r[0] for r in conn.execute("SELECT state FROM outbox")}
    processed = crashed["receiver"].processed
    assert len(approved) >= KILL_AFTER_ANSWERS[-1] // 2
    assert set(outbox.values()) == approved  # one message per approved claim, none for others
    assert len(outbox) == len(approved)
    assert set(processed) == set(outbox)  # every message arrived, and nothing else
    assert {payload["idempotency_key"] for payload in processed.values()} == set(outbox)
    assert states == {"delivered"}
    # Each key was processed once; repeats after a kill (at-least-once delivery) were answered as duplicates.
    # No post was refused (bad signature or malformed).
    assert len(crashed["posts"]) == len(processed) + crashed["receiver"].duplicates
