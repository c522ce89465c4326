"""ClaimService end to end with simple doubles for the two models (the real ones: see the slow test)."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from claims.config import Settings
from claims.errors import CaseLocked, ClaimNotFound, InvalidAction, InvalidInput, PhotoRejected, RateLimited
from claims.models import utcnow
from claims.service import ClaimService
from claims.store import iso
from tests._model_doubles import FakeText, FakeVision, photo_bytes


def file_claim(svc, order="DEMO-1001", photos=None, seed=1, **kw):
    photos = [photo_bytes(seed)] if photos is None else photos
    return svc.submit_claim(
        order, "demo@example.com", kw.pop("description", "The board arrived cracked in two."), photos, **kw
    )


def test_clear_claim_is_refunded_automatically_end_to_end(svc, tmp_path):
    result = file_claim(svc, photos=[photo_bytes(1), photo_bytes(2, fmt="PNG")])
    assert re.fullmatch(r"CLM-[A-Z2-7]{10}", result["claim_id"])
    assert len(result["access_token"]) >= 32
    assert (result["status"], result["resolution"]) == ("auto_refund", "refund")
    assert result["message"] and result["reasons"] == ["intent_refund"]
    assert svc.vision.batches == [2]  # one batch for all photos
    kinds = [e["kind"] for e in svc.store.events(result["claim_id"])]
    assert kinds[:3] == ["submitted", "decided", "workflow_requested"]  # then the workflow's own steps
    (decided,) = svc.store.events(result["claim_id"], kind="decided")
    assert decided["model_versions"]["vision"] == "fake-vision-1"
    assert decided["model_versions"]["text"] == "fake-text-1"
    for photo in result["photos"]:
        path = svc.customer_photo(result["claim_id"], result["access_token"], photo["sha256"])
        assert path.parent.parent == tmp_path / "data" / "photos" and path.is_file()
        assert photo == {"sha256": photo["sha256"]}  # which photos; the model's verdict is for reviewers
    case = svc.open_case(result["claim_id"], "ana")
    assert [p["label"] for p in case["photos"]] == ["broken", "broken"]
    assert [m["actor"] for m in result["thread"]] == ["customer", "bot"]
    assert result["thread"][0]["photos"] == [p["sha256"] for p in result["photos"]]


def test_status_needs_the_right_token_and_hides_whether_the_id_exists(svc):
    result = file_claim(svc)
    assert svc.claim_status(result["claim_id"], result["access_token"])["status"] == "auto_refund"
    with pytest.raises(ClaimNotFound) as wrong_token:
        svc.claim_status(result["claim_id"], "not-the-token")
    with pytest.raises(ClaimNotFound) as unknown:
        svc.claim_status("CLM-AAAAAAAAAA", result["access_token"])
    assert str(wrong_token.value) == str(unknown.value)


def test_a_bad_photo_stores_nothing(svc, tmp_path):
    with pytest.raises(PhotoRejected, match=r"photo 2 \(evil.svg\)"):
        file_claim(svc, photos=[photo_bytes(1), ("evil.svg", b"<svg onload=alert(1)></svg>")])
    assert svc.store.db["claims"].count == 0 and svc.store.db["photos"].count == 0
    assert not (tmp_path / "data" / "photos").exists() or not any((tmp_path / "data" / "photos").rglob("*.*"))


@pytest.mark.parametrize(
    "order, email, description, match",
    [
        ("", "demo@example.com", "broken box", "order number"),
        ("DEMO 1001; DROP TABLE", "demo@example.com", "broken box", "order number"),
        ("DEMO-1001", "not-an-email", "broken box", "email address"),
        ("DEMO-1001", "demo@example.com", "   ", "what happened"),
        ("DEMO-1001", "demo@example.com", "ok", "few more words"),
        ("DEMO-1001", "demo@example.com", "x" * 5001, "5001 characters"),
    ],
)
def test_bad_fields_are_refused_with_a_clear_message(svc, order, email, description, match):
    with pytest.raises(InvalidInput, match=match):
        svc.submit_claim(order, email, description, [photo_bytes(1)])
    assert svc.store.db["claims"].count == 0


def test_retry_with_the_same_idempotency_key_returns_the_first_result(svc):
    first = file_claim(svc, idempotency_key="retry-123")
    again = file_claim(svc, idempotency_key="retry-123")
    assert (again["claim_id"], again["access_token"]) == (first["claim_id"], first["access_token"])
    assert svc.store.db["claims"].count == 1
    assert svc.vision.batches == [1]
    with pytest.raises(InvalidInput, match="already used"):
        file_claim(svc, idempotency_key="retry-123", description="A different story entirely.")


def test_submissions_per_email_are_rate_limited(make_service):
    svc = make_service(submissions_per_email_per_hour=2)
    file_claim(svc, seed=1)
    file_claim(svc, seed=2)
    with pytest.raises(RateLimited):
        file_claim(svc, seed=3)


def test_frustrated_customer_goes_to_a_person_with_high_priority_first_in_queue(make_service):
    svc = make_service(vision=FakeVision(confidence=0.4))
    calm = file_claim(svc, seed=1)
    svc.models._text = FakeText(frustrated=True, frustration_score=0.9, sentiment=-0.8)
    upset = file_claim(svc, seed=2)
    assert (upset["status"], upset["priority"]) == ("in_review", "high")
    assert "customer_frustrated" in upset["reasons"]
    queue = svc.queue()
    assert [item["claim_id"] for item in queue] == [upset["claim_id"], calm["claim_id"]]
    assert 3000 < queue[0]["sla_seconds_left"] <= 3600
    assert 23 * 3600 < queue[1]["sla_seconds_left"] <= 24 * 3600


def test_no_photo_asks_for_photos_and_talk_to_a_person_keeps_the_thread(svc):
    result = file_claim(svc, photos=[])
    assert result["status"] == "needs_more_photos" and "no_photos" in result["reasons"]
    after = svc.request_human(result["claim_id"], result["access_token"], "Please call me.")
    assert (after["status"], after["priority"]) == ("in_review", "high")
    assert "human_requested" in after["reasons"]
    assert [(m["actor"], m["kind"]) for m in after["thread"]] == [
        ("customer", "claim"),
        ("bot", "decision"),
        ("customer", "human_requested"),
        ("bot", "decision"),
    ]
    assert after["thread"][0]["text"] == "The board arrived cracked in two."
    case = svc.open_case(result["claim_id"], "ana")
    assert "The board arrived cracked in two." in case["complaint"]["text"]
    assert "Please call me." in case["complaint"]["text"]


def test_talk_to_a_person_works_even_after_an_automatic_approval(svc):
    result = file_claim(svc)
    after = svc.request_human(result["claim_id"], result["access_token"])
    assert (after["status"], after["priority"], after["resolution"]) == ("in_review", "high", "refund")


def test_more_photos_decide_the_claim_again_with_everything_it_holds(svc):
    result = file_claim(svc, photos=[photo_bytes(1, brightness=5)])  # too dark
    assert result["status"] == "needs_more_photos"
    after = svc.add_evidence(result["claim_id"], result["access_token"], "Here is a better one.", [photo_bytes(7)])
    assert after["status"] == "auto_refund"
    assert len(after["photos"]) == 2
    assert svc.text.texts[-1] == "The board arrived cracked in two.\n\nHere is a better one."
    assert svc.vision.batches == [1, 1]  # stored photos are not looked at again
    with pytest.raises(InvalidAction):
        svc.add_evidence(result["claim_id"], result["access_token"], "more")


def test_add_evidence_needs_something_to_add(svc):
    result = file_claim(svc, photos=[])
    with pytest.raises(InvalidInput, match="message or at least one photo"):
        svc.add_evidence(result["claim_id"], result["access_token"], "  ", [])


def test_opening_a_case_locks_it_for_other_reviewers_until_it_expires(make_service):
    svc = make_service(vision=FakeVision(confidence=0.3))
    claim = file_claim(svc)
    case = svc.open_case(claim["claim_id"], "ana")
    assert case["lock"]["reviewer"] == "ana"
    assert svc.queue()[0]["locked_by"] == "ana"
    with pytest.raises(CaseLocked) as err:
        svc.open_case(claim["claim_id"], "bob")
    assert err.value.holder == "ana"
    with pytest.raises(CaseLocked):
        svc.decide(claim["claim_id"], "bob", "approve_refund")
    svc.store.set_lock(claim["claim_id"], "ana", utcnow() - timedelta(seconds=1))  # expired
    assert svc.open_case(claim["claim_id"], "bob")["lock"]["reviewer"] == "bob"


def test_case_view_holds_every_piece_of_evidence(make_service):
    svc = make_service(vision=FakeVision(confidence=0.3))
    claim = file_claim(svc, photos=[photo_bytes(1), photo_bytes(2)])
    case = svc.open_case(claim["claim_id"], "ana")
    assert case["claim"]["email"] == "demo@example.com" and case["order"]["order_id"] == "DEMO-1001"
    assert len(case["photos"]) == 2 and case["photos"][0]["probabilities"]["broken"] == pytest.approx(0.3)
    assert case["complaint"]["summary"] == "Item arrived broken; wants a refund."
    assert [e["kind"] for e in case["events"]] == ["submitted", "decided", "review_opened"]
    assert case["fraud_signals"] == []


def test_only_a_reviewer_denies_and_needs_a_note(make_service):
    svc = make_service(vision=FakeVision(confidence=0.3))
    claim = file_claim(svc)
    svc.open_case(claim["claim_id"], "ana")
    with pytest.raises(InvalidInput, match="note"):
        svc.decide(claim["claim_id"], "ana", "deny")
    result = svc.decide(claim["claim_id"], "ana", "deny", "The photo shows a different product.")
    assert result["status"] == "denied"
    assert "different product" in result["message"]
    last = result["thread"][-1]
    assert last["actor"] == "reviewer" and "ana" not in str(result)
    (reviewed,) = svc.store.events(claim["claim_id"], kind="reviewed")
    assert reviewed["actor"] == "reviewer:ana" and reviewed["status"] == "denied"
    assert svc.store.get_lock(claim["claim_id"]) is None
    assert reviewed["detail"]["action"] == "deny"  # the audit event is the record of the decision
    system_statuses = {e["status"] for e in svc.store.events() if e["actor"] == "system"}
    assert "denied" not in system_statuses


def test_reviewer_approval_starts_the_workflow_in_the_same_transaction(make_service):
    svc = make_service(vision=FakeVision(confidence=0.3))
    claim = file_claim(svc)
    result = svc.decide(claim["claim_id"], "ana", "approve_replacement", "")
    assert (result["status"], result["resolution"]) == ("approved_replacement", "replacement")
    kinds = [e["kind"] for e in svc.store.events(claim["claim_id"])]
    assert kinds.index("workflow_requested") == kinds.index("reviewed") + 1
    with pytest.raises(InvalidAction):
        svc.decide(claim["claim_id"], "ana", "deny", "too late")


def test_a_failed_workflow_hook_rolls_back_the_decision(make_service, monkeypatch):
    svc = make_service(vision=FakeVision(confidence=0.3))
    claim = file_claim(svc)

    def boom(tx, claim_id, resolution, **_):
        raise RuntimeError("workflow store down")

    monkeypatch.setattr(svc, "_start_workflow", boom)
    with pytest.raises(RuntimeError):
        svc.decide(claim["claim_id"], "ana", "approve_refund")
    assert svc.claim_status(claim["claim_id"], claim["access_token"])["status"] == "in_review"
    assert svc.store.events(claim["claim_id"], kind="reviewed") == []


def test_answer_to_a_reviewer_question_goes_back_to_the_reviewer(make_service):
    svc = make_service(vision=FakeVision(confidence=0.3))
    claim = file_claim(svc)
    asked = svc.decide(claim["claim_id"], "ana", "request_info", "Is the inner bag wet too?")
    assert asked["status"] == "info_requested" and "inner bag" in asked["message"]
    svc.vision.confidence = 0.99  # even a confident photo now: a person asked, so a person answers
    after = svc.add_evidence(claim["claim_id"], claim["access_token"], "Yes, soaked.", [photo_bytes(9)])
    assert after["status"] == "in_review"
    assert "customer_replied" in svc.open_case(claim["claim_id"], "ana")["claim"]["reasons"]


def test_unknown_action_is_refused(svc):
    claim = file_claim(svc, photos=[])
    with pytest.raises(InvalidInput, match="Unknown action"):
        svc.decide(claim["claim_id"], "ana", "refund_twice")


def test_label_correction_becomes_a_training_example(svc):
    claim = file_claim(svc)
    sha = claim["photos"][0]["sha256"]
    svc.correct_label(claim["claim_id"], sha, "water_damage", "ana")
    (example,) = svc.labelled_examples()
    assert (example["label"], example["predicted_label"]) == ("water_damage", "broken")
    assert example["path"].endswith(f"{sha}.jpg")
    assert svc.open_case(claim["claim_id"], "ana")["photos"][0]["corrected_label"] == "water_damage"
    with pytest.raises(InvalidInput):
        svc.correct_label(claim["claim_id"], sha, "exploded", "ana")


def test_a_customer_cannot_fetch_another_claims_photo(svc):
    mine = file_claim(svc, seed=1)
    theirs = file_claim(svc, seed=2, order="DEMO-1002")
    with pytest.raises(ClaimNotFound):
        svc.customer_photo(mine["claim_id"], mine["access_token"], theirs["photos"][0]["sha256"])
    assert svc.photo_path(theirs["photos"][0]["sha256"]).is_file()  # reviewers may


def test_reused_photo_is_flagged_for_a_person_and_hidden_from_the_customer(svc):
    file_claim(svc, seed=5)
    second = file_claim(svc, seed=5, order="DEMO-1007")
    assert second["status"] == "in_review"
    assert "duplicate_photo" not in second["reasons"]
    case = svc.open_case(second["claim_id"], "ana")
    assert "duplicate_photo" in case["claim"]["reasons"]
    assert case["fraud_signals"][0]["code"] == "duplicate_photo"


def test_dashboard_data_summarises_claims_photos_and_workflows(make_service):
    svc = make_service()
    auto = file_claim(svc, seed=1)
    svc.models._vision = FakeVision(confidence=0.3)
    manual = file_claim(svc, seed=2, order="DEMO-1002")
    data = svc.dashboard_data(utcnow() - timedelta(hours=1), utcnow() + timedelta(hours=1))
    by_id = {row["claim_id"]: row for row in data["claims"]}
    assert by_id[auto["claim_id"]]["automated"] and by_id[auto["claim_id"]]["decided_at"]
    assert not by_id[manual["claim_id"]]["automated"] and not by_id[manual["claim_id"]]["sla_breached"]
    assert sorted(round(p["confidence"], 2) for p in data["photo_confidences"]) == [0.3, 0.95]
    assert [w["kind"] for w in data["workflows"]] == ["refund"]  # only the automatic claim started one


def test_every_state_change_is_an_event(make_service):
    svc = make_service(vision=FakeVision(confidence=0.3))
    claim = file_claim(svc)
    svc.request_human(claim["claim_id"], claim["access_token"])
    svc.decide(claim["claim_id"], "ana", "approve_refund")
    thread = svc.claim_status(claim["claim_id"], claim["access_token"])["thread"]
    decisions = [m for m in thread if m["actor"] in ("bot", "reviewer")]
    changes = [
        e for e in svc.store.events(claim["claim_id"]) if e["kind"] in ("decided", "human_requested", "reviewed")
    ]
    assert len(decisions) == len(changes) == 3
    assert [e["status"] for e in changes] == ["in_review", "in_review", "approved_refund"]


def test_concurrent_submissions_from_threads_all_land(svc):
    results, errors = [], []

    def submit(seed):
        try:
            results.append(file_claim(svc, seed=seed, order=f"DEMO-10{seed:02d}"))
        except Exception as exc:  # collected, asserted below
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(1, 7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len({r["claim_id"] for r in results}) == 6


def test_concurrent_retries_with_one_idempotency_key_file_one_claim(svc):
    results = []

    def submit():
        results.append(file_claim(svc, idempotency_key="double-click"))

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({(r["claim_id"], r["access_token"]) for r in results}) == 1 and len(results) == 4
    assert svc.store.db["claims"].count == 1


def test_service_accepts_photo_paths(svc, tmp_path):
    path = tmp_path / "IMG_0001.JPG"
    path.write_bytes(photo_bytes(3))
    result = file_claim(svc, photos=[str(path)])
    assert result["status"] == "auto_refund"
    assert svc.store.claim_photos(result["claim_id"])[0]["original_name"] == "IMG_0001.JPG"


def test_sla_due_time_is_recorded_when_the_claim_enters_review(make_service):
    svc = make_service(vision=FakeVision(confidence=0.3))
    before = iso(utcnow() + timedelta(hours=24))
    claim = file_claim(svc)
    stored = svc.store.get_claim(claim["claim_id"]).sla_due_at
    assert stored >= before
    svc.request_human(claim["claim_id"], claim["access_token"])
    assert svc.store.get_claim(claim["claim_id"]).sla_due_at < before  # escalated: 1 h


# --- the real models ------------------------------------------------------------------------------

SAMPLES = Path(__file__).resolve().parent.parent / "sample_images"


@pytest.fixture(scope="module")
def real_service(tmp_path_factory):
    """ClaimService.open with no doubles: the shipped vision and text models, loaded once for this module."""
    svc = ClaimService.open(
        tmp_path_factory.mktemp("real") / "claims.db", demo=True, settings=Settings(reviewers="ana:pw")
    )
    yield svc
    svc.close()


@pytest.mark.slow
def test_open_wires_the_real_models_and_files_a_claim_end_to_end(real_service):
    from claims import complaint
    from claims.service import ComplaintReader
    from vision_models.classifier import DamageClassifier

    photo = sorted((SAMPLES / "broken").glob("*.jpg"))[0]
    result = real_service.submit_claim(
        "DEMO-1001",
        "demo@example.com",
        "My cutting board arrived cracked in two pieces. I would like a refund please.",
        [photo],
    )
    assert isinstance(real_service.vision, DamageClassifier)
    assert isinstance(real_service.text, ComplaintReader)
    (decided,) = real_service.store.events(result["claim_id"], kind="decided")
    assert decided["model_versions"]["vision"] == real_service.vision.version
    assert decided["model_versions"]["text"] == complaint.MODEL_VERSION
    (sent,) = result["photos"]
    assert set(sent) == {"sha256"}  # no label or confidence for the customer
    assert (result["status"], result["resolution"]) == ("auto_refund", "refund")
    case = real_service.open_case(result["claim_id"], "ana")
    assert case["complaint"]["intent"] == "refund" and "broken" in case["complaint"]["damage_types"]
    (seen,) = case["photos"]
    assert seen["label"] == "broken" and 0 < seen["confidence"] <= 1
    assert seen["probabilities"]["broken"] == pytest.approx(seen["confidence"], abs=1e-3)


@pytest.mark.slow
def test_real_text_model_sends_an_upset_customer_to_a_person(real_service):
    photo = sorted((SAMPLES / "crushed_packaging").glob("*.jpg"))[0]
    result = real_service.submit_claim(
        "DEMO-1007",
        "demo@example.com",
        "This is the third time!! The box came crushed again. I am furious, I want to speak to a manager now.",
        [photo],
    )
    assert (result["status"], result["priority"]) == ("in_review", "high")
    assert {"wants_human", "customer_frustrated"} <= set(result["reasons"])
