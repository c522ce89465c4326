"""Load: 200 claims from 16 concurrent HTTP clients against one server over real SQLite.

The server is the real app (`ui.app.build_app`) under uvicorn with the shipped vision and text models, and
the outbox dispatcher writing to the ledger meanwhile (numbers in README, "Reliability and security").
Idempotent retries are tested both through ClaimService (16 concurrent retries) and through the HTTP API
(submit_claim's optional `idempotency_key`).
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client, handle_file

from claims.errors import InvalidInput
from tests._reliability_support import (
    DESCRIPTION,
    LOAD_SETTINGS,
    claim_problems,
    connect,
    foreign_key_problems,
    integrity,
    row_counts,
    run_load,
    seed_orders,
    write_photos,
)
from tests._ui_support import open_service, raw_submit, running_server, upload
from ui.app import build_app

pytestmark = pytest.mark.slow

CLAIMS = 200
CLIENTS = 16
# The shipped models by default (measured: it fits in about a minute on 2 cores);
# CLAIMBOT_RELIABILITY_MODEL_DOUBLES=1 runs the same load with the doubles of tests/_ui_support.py instead.
REAL_MODELS = os.environ.get("CLAIMBOT_RELIABILITY_MODEL_DOUBLES") != "1"


def _service(data_dir):
    if not REAL_MODELS:
        return open_service(data_dir, **LOAD_SETTINGS)
    from claims.config import Settings
    from claims.service import ClaimService
    from tests._ui_support import REVIEWERS_SPEC

    settings = Settings(data_dir=data_dir, reviewers=REVIEWERS_SPEC, **LOAD_SETTINGS)
    return ClaimService.open(data_dir / "claims.db", demo=True, settings=settings)


def _photos_for(index: int) -> int:
    return 2 if index % 3 == 0 else 1


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """Run the load once; the tests below look at what it left."""
    data_dir = tmp_path_factory.mktemp("data")
    photo_dir = tmp_path_factory.mktemp("photos")
    orders = seed_orders(data_dir / "claims.db", CLAIMS)
    pool = iter(write_photos(photo_dir, sum(_photos_for(i) for i in range(CLAIMS))))
    jobs = [
        (order, email, f"{DESCRIPTION} (claim {i})", [next(pool) for _ in range(_photos_for(i))])
        for i, (order, email) in enumerate(orders)
    ]
    service = _service(data_dir)
    service.start_dispatcher(poll_seconds=0.2)
    try:
        with running_server(build_app(service)) as url:
            run = run_load(url, jobs, clients=CLIENTS)
            deadline = time.monotonic() + 60
            while service.store.outbox_rows(state="pending") and time.monotonic() < deadline:
                time.sleep(0.2)
            print(
                f"\nload ({'real models' if REAL_MODELS else 'model doubles'}): {len(run.answers)} answers, {len(run.errors)} errors from {CLIENTS} clients "
                f"in {run.seconds:.1f} s ({len(run.answers) / run.seconds:.1f} claims/s); "
                f"statuses {dict(Counter(a['status'] for a in run.answers.values()))}"
            )
            yield {"run": run, "jobs": jobs, "data_dir": data_dir, "service": service, "url": url}
    finally:
        service.close()


def test_every_client_gets_an_answer_and_no_error_reaches_a_client(loaded):
    run = loaded["run"]
    assert run.errors == {}
    assert sorted(run.answers) == list(range(CLAIMS))
    assert not any("locked" in str(answer).lower() for answer in run.answers.values())


def test_exactly_200_claims_are_stored_each_with_its_photos_events_and_thread(loaded):
    db = loaded["data_dir"] / "claims.db"
    with connect(db) as conn:
        stored = {r[0]: r[1] for r in conn.execute("SELECT claim_id, status FROM claims WHERE order_id LIKE 'LOAD-%'")}
    answers = loaded["run"].answers
    assert len(stored) == CLAIMS
    assert set(stored) == {a["claim_id"] for a in answers.values()}
    problems = []
    for index, answer in answers.items():
        expected = len(loaded["jobs"][index][3])
        assert len(answer["photos"]) == expected
        assert stored[answer["claim_id"]] == answer["status"]
        problems += claim_problems(
            db,
            loaded["data_dir"] / "photos",
            answer["claim_id"],
            expected_photos=expected,
            token=answer["access_token"],
        )
    assert problems == []
    counts = row_counts(db)
    assert counts["claim_photos"] == sum(len(job[3]) for job in loaded["jobs"])
    assert integrity(db) == "ok"
    assert foreign_key_problems(db) == []


def test_each_automatic_approval_started_exactly_one_workflow_and_reached_the_ledger_once(loaded):
    db = loaded["data_dir"] / "claims.db"
    approved = {a["claim_id"] for a in loaded["run"].answers.values() if a["status"].startswith("auto_")}
    if not REAL_MODELS:  # the doubles see damage in every (reddish) photo; the real model decides for itself
        assert len(approved) > CLAIMS // 2  # each claim is on its own cheap order: most are approved at once
    with connect(db) as conn:
        workflows = conn.execute("SELECT claim_id, count(*) FROM workflows GROUP BY claim_id").fetchall()
        ledger = [r[0] for r in conn.execute("SELECT claim_id FROM ledger")]
    assert {claim_id for claim_id, _ in workflows} == approved
    assert all(n == 1 for _, n in workflows)
    assert sorted(ledger) == sorted(approved)


# --- idempotent retries ---------------------------------------------------------------------------------


def test_concurrent_retries_with_one_idempotency_key_file_one_claim(tmp_path):
    photo = write_photos(tmp_path / "p", 1, start=5000)[0]
    with open_service(tmp_path / "data", **LOAD_SETTINGS) as svc:
        before = row_counts(svc.store.path)
        barrier = threading.Barrier(16)

        def retry(_):
            barrier.wait()
            return svc.submit_claim(
                "DEMO-1001", "demo@example.com", DESCRIPTION, [photo], idempotency_key="order-DEMO-1001-attempt-1"
            )

        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(retry, range(16)))
        after = row_counts(svc.store.path)
        assert {(a["claim_id"], a["access_token"]) for a in answers} == {
            (answers[0]["claim_id"], answers[0]["access_token"])
        }
        assert after["claims"] == before["claims"] + 1
        assert after["claim_photos"] == before["claim_photos"] + 1
        assert after["idempotency_keys"] == before["idempotency_keys"] + 1
        assert after["workflows"] - before["workflows"] <= 1
        submitted = [e for e in svc.store.events(answers[0]["claim_id"]) if e["kind"] == "submitted"]
        assert len(submitted) == 1

        # A later retry gets the same answer; the same key for different content is refused.
        again = svc.submit_claim(
            "DEMO-1001", "demo@example.com", DESCRIPTION, [photo], idempotency_key="order-DEMO-1001-attempt-1"
        )
        assert again["claim_id"] == answers[0]["claim_id"]
        with pytest.raises(InvalidInput, match="already used for a different claim"):
            svc.submit_claim(
                "DEMO-1001",
                "demo@example.com",
                "Something else entirely broke.",
                [photo],
                idempotency_key="order-DEMO-1001-attempt-1",
            )
        assert row_counts(svc.store.path) == after


def test_a_retry_through_the_http_api_with_the_same_idempotency_key_files_nothing_new(tmp_path):
    photo = write_photos(tmp_path / "p", 1, start=6000)[0]
    with open_service(tmp_path / "data", **LOAD_SETTINGS) as svc, running_server(build_app(svc)) as url:
        client = Client(url + "/", verbose=False)
        try:
            first = client.predict(
                "DEMO-1001",
                "demo@example.com",
                DESCRIPTION,
                [handle_file(str(photo))],
                "retry-key-1",
                api_name="/submit_claim",
            )
            before = row_counts(svc.store.path)
            second = client.predict(
                "DEMO-1001",
                "demo@example.com",
                DESCRIPTION,
                [handle_file(str(photo))],
                "retry-key-1",
                api_name="/submit_claim",
            )
            assert second["claim_id"] == first["claim_id"]
            assert row_counts(svc.store.path) == before
        finally:
            client.close()


def _submit_uploaded(http, url: str, order: str, email: str, uploaded: str) -> str:
    return raw_submit(http, url, uploaded, order=order, email=email, description=DESCRIPTION, orig_name="box.jpg")


def test_two_customers_who_upload_the_same_photo_file_both_get_their_claims_filed(tmp_path):
    import httpx

    photo = write_photos(tmp_path / "p", 1, start=7000)[0]
    with (
        open_service(tmp_path / "data", **LOAD_SETTINGS) as svc,
        running_server(build_app(svc)) as url,
        httpx.Client() as first,
        httpx.Client() as second,
    ):
        first_upload, second_upload = upload(first, url, photo), upload(second, url, photo)
        first_reply = _submit_uploaded(first, url, "DEMO-1001", "one@example.com", first_upload)
        second_reply = _submit_uploaded(second, url, "DEMO-1002", "two@example.com", second_upload)
    assert "event: complete" in first_reply
    assert "event: complete" in second_reply, second_reply
