"""The claim store: schema and migrations, round trips, the append-only audit trail, orders import."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta

import pytest

from claims import demo_orders
from claims.demo_orders import DEMO_ORDER_IDS, OrdersFileError, read_orders_csv
from claims.lifecycle import IllegalTransition
from claims.models import Order, StoredPhoto, utcnow
from claims.store import SCHEMA_VERSION, SchemaTooNew, StaleClaim, Store, iso, parse_time

TABLES = {
    "meta",
    "orders",
    "claims",
    "photos",
    "claim_photos",
    "messages",
    "events",
    "review_locks",
    "labelled_examples",
    "reviewers",
    "login_attempts",
    "idempotency_keys",
    "workflows",
    "outbox",
    "ledger",
}


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "claims.db") as s:
        demo_orders.seed(s)
        yield s


def claim_row(claim_id="CLM-AAAAAAAAAA", **over) -> dict:
    now = iso(utcnow())
    row = {
        "claim_id": claim_id,
        "order_id": "DEMO-1001",
        "email": "demo@example.com",
        "description": "box crushed",
        "token_hash": "0" * 64,
        "status": "in_review",
        "priority": "normal",
        "reasons": ["low_confidence"],
        "complaint": {"intent": "refund"},
        "created_at": now,
        "updated_at": now,
    }
    row.update(over)
    return row


def photo(sha="a" * 64) -> StoredPhoto:
    return StoredPhoto(sha256=sha, phash="f" * 16, width=640, height=480, mime="image/jpeg", size_bytes=1234)


def test_migration_from_an_empty_file_creates_every_table_and_records_the_version(tmp_path):
    path = tmp_path / "empty.db"
    path.touch()
    with Store.open(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert set(store.db.table_names()) >= TABLES


def test_reopening_a_migrated_database_keeps_its_data(tmp_path):
    path = tmp_path / "claims.db"
    with Store.open(path) as store:
        store.insert_claim(claim_row())
    with Store.open(path) as store:
        assert store.get_claim("CLM-AAAAAAAAAA").description == "box crushed"
        assert store.schema_version() == SCHEMA_VERSION


def test_refuses_a_database_from_a_newer_version(tmp_path):
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaTooNew):
        Store.open(path)


def test_uses_wal_foreign_keys_and_a_busy_timeout(store):
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000


def test_a_new_database_has_no_orders_until_demo_orders_are_asked_for(tmp_path):
    path = tmp_path / "claims.db"
    with Store.open(path) as store:
        assert store.count_orders() == 0
        assert demo_orders.seed(store) == len(DEMO_ORDER_IDS) == 10
        first = store.get_order("DEMO-1001").delivered_at
        assert demo_orders.seed(store) == 0  # once per database unless forced
    with Store.open(path) as store:
        assert store.count_orders() == 10
        assert store.get_order("DEMO-1001").delivered_at == first


def test_demo_orders_cover_the_documented_cases(store):
    now = utcnow()
    cheap, vase, phone, old, sold_out = (store.get_order(f"DEMO-100{i}") for i in range(1, 6))
    assert cheap.in_stock and cheap.value < 100 and now - cheap.delivered_at < timedelta(days=3)
    assert vase.category == "ceramics_glass" and vase.in_stock
    assert phone.value > 250
    assert now - old.delivered_at > timedelta(days=59)
    assert not sold_out.in_stock
    assert {store.get_order(i).email for i in DEMO_ORDER_IDS} == {"demo@example.com"}


def test_order_round_trip_keeps_every_field(store):
    order = Order(
        order_id="SHOP-1",
        email="a@b.co",
        customer_name="Ana",
        item_name="Lamp",
        sku="L1",
        category="home",
        value=12.5,
        currency="USD",
        ordered_at=datetime(2026, 1, 1, tzinfo=UTC),
        delivered_at=datetime(2026, 1, 3, 12, tzinfo=UTC),
        in_stock=False,
        stock_count=0,
    )
    store.upsert_orders([order])
    assert store.get_order("SHOP-1") == order
    assert store.get_order("NOPE-1") is None


def test_claim_round_trip_decodes_json_columns(store):
    store.insert_claim(claim_row())
    claim = store.get_claim("CLM-AAAAAAAAAA")
    assert claim.reasons == ("low_confidence",) and claim.complaint == {"intent": "refund"} and claim.version == 1
    claim = store.change_status(
        "CLM-AAAAAAAAAA", "approved_refund", actor="reviewer", expected_version=1, reasons=["reviewer"]
    )
    assert (claim.status, claim.reasons, claim.version, claim.status_actor) == (
        "approved_refund",
        ("reviewer",),
        2,
        "reviewer",
    )
    assert store.get_claim("CLM-AAAAAAAAAA") == claim


def test_a_status_change_over_a_stale_version_changes_nothing(store):
    store.insert_claim(claim_row())
    store.change_status("CLM-AAAAAAAAAA", "denied", actor="reviewer", expected_version=1)
    with pytest.raises(StaleClaim):
        store.change_status("CLM-AAAAAAAAAA", "auto_refund", actor="system", expected_version=1)
    assert store.get_claim("CLM-AAAAAAAAAA").status == "denied"


def test_the_status_changes_only_through_the_lifecycle(store):
    store.insert_claim(claim_row())
    with pytest.raises(ValueError, match="change_status"):
        store.update_claim("CLM-AAAAAAAAAA", status="denied")
    with pytest.raises(IllegalTransition):
        store.change_status("CLM-AAAAAAAAAA", "denied", actor="system", expected_version=1)
    with pytest.raises(IllegalTransition):
        store.insert_claim(claim_row("CLM-BBBBBBBBBB", status="approved_refund"))
    assert store.get_claim("CLM-AAAAAAAAAA").status == "in_review" and store.get_claim("CLM-BBBBBBBBBB") is None


def test_unknown_status_is_refused_by_the_lifecycle_and_the_schema(store):
    with pytest.raises(IllegalTransition):
        store.insert_claim(claim_row(status="maybe"))
    with pytest.raises(sqlite3.IntegrityError):
        store.conn.execute(
            "INSERT INTO claims (claim_id, order_id, email, description, token_hash, status, "
            "created_at, updated_at) VALUES ('X', 'O', 'e', 'd', 't', 'maybe', 'n', 'n')"
        )


def test_one_photo_file_can_belong_to_several_claims(store):
    store.insert_claim(claim_row("CLM-AAAAAAAAAA"))
    store.insert_claim(claim_row("CLM-BBBBBBBBBB"))
    store.add_photo(photo(), ext="jpg")
    store.add_photo(photo(), ext="jpg")  # seen again: kept once
    assert store.link_photo("CLM-AAAAAAAAAA", "a" * 64, position=1, prediction={"label": "broken"})
    assert store.link_photo("CLM-BBBBBBBBBB", "a" * 64, position=1)
    assert not store.link_photo("CLM-BBBBBBBBBB", "a" * 64, position=2)
    assert store.db["photos"].count == 1
    assert store.claim_photos("CLM-AAAAAAAAAA")[0]["prediction"] == {"label": "broken"}
    assert store.photos_of_other_claims("CLM-AAAAAAAAAA") == [("CLM-BBBBBBBBBB", "a" * 64, "f" * 16)]


def test_photo_link_needs_an_existing_claim_and_photo(store):
    with pytest.raises(sqlite3.IntegrityError):
        store.link_photo("CLM-NOSUCHCLAIM", "b" * 64, position=1)


def test_events_are_append_only(store):
    store.insert_claim(claim_row())
    store.log_event(
        "CLM-AAAAAAAAAA",
        "system",
        "decided",
        status="in_review",
        reasons=("low_confidence",),
        model_versions={"vision": "v1"},
        detail={"x": 1},
    )
    (event,) = store.events("CLM-AAAAAAAAAA")
    assert (event["kind"], event["reasons"], event["model_versions"]) == (
        "decided",
        ["low_confidence"],
        {"vision": "v1"},
    )
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute("UPDATE events SET kind = 'forged'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute("DELETE FROM events")


def test_events_without_a_claim_are_allowed_for_logins(store):
    store.log_event(None, "reviewer:ana", "login_failed")
    assert store.events(kind="login_failed")[0]["claim_id"] is None


def test_transaction_commits_everything_or_nothing(store):
    store.insert_claim(claim_row())
    with pytest.raises(RuntimeError), store.transaction():
        store.change_status("CLM-AAAAAAAAAA", "approved_refund", actor="reviewer", expected_version=1)
        store.log_event("CLM-AAAAAAAAAA", "reviewer:ana", "reviewed", status="approved_refund")
        raise RuntimeError("crash between the two writes")
    assert store.get_claim("CLM-AAAAAAAAAA").status == "in_review"
    assert store.events("CLM-AAAAAAAAAA") == []


def test_nested_transaction_failure_rolls_back_only_the_inner_block(store):
    store.insert_claim(claim_row())
    with store.transaction():
        store.log_event("CLM-AAAAAAAAAA", "system", "outer")
        with pytest.raises(ValueError), store.transaction():
            store.log_event("CLM-AAAAAAAAAA", "system", "inner")
            raise ValueError
    assert [e["kind"] for e in store.events("CLM-AAAAAAAAAA")] == ["outer"]


def test_concurrent_writers_from_threads_all_land(store):
    store.insert_claim(claim_row())

    def write(n):
        for i in range(20):
            with store.transaction():
                store.log_event("CLM-AAAAAAAAAA", "system", f"t{n}-{i}")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.events("CLM-AAAAAAAAAA")) == 80


def test_a_second_connection_sees_committed_writes(tmp_path):
    path = tmp_path / "claims.db"
    with Store.open(path) as writer, Store.open(path) as reader:
        writer.insert_claim(claim_row())
        assert reader.get_claim("CLM-AAAAAAAAAA") is not None


def test_review_lock_round_trip(store):
    store.insert_claim(claim_row())
    until = utcnow() + timedelta(minutes=15)
    store.set_lock("CLM-AAAAAAAAAA", "ana", until)
    lock = store.get_lock("CLM-AAAAAAAAAA")
    assert lock["reviewer"] == "ana" and parse_time(lock["until"]) == parse_time(iso(until))
    store.release_lock("CLM-AAAAAAAAAA")
    assert store.get_lock("CLM-AAAAAAAAAA") is None


def test_labelled_example_is_updated_when_corrected_again(store):
    store.insert_claim(claim_row())
    store.add_photo(photo(), ext="jpg")
    store.link_photo("CLM-AAAAAAAAAA", "a" * 64, position=1)
    for label in ("broken", "water_damage"):
        store.add_labelled_example(
            claim_id="CLM-AAAAAAAAAA", sha256="a" * 64, label=label, predicted_label="no_damage", reviewer="ana"
        )
    (example,) = store.labelled_examples()
    assert (example["label"], example["ext"]) == ("water_damage", "jpg")


def test_login_failures_are_counted_since_the_last_success(store):
    now = utcnow()
    since = now - timedelta(minutes=5)
    ana = {"name": "ana", "name_hash": "h-ana", "ip_hash": "h-ip", "at": now}
    store.add_login_attempt(**ana)
    store.add_login_attempt(**ana)
    store.add_login_attempt(**ana, blocked=True)  # refused attempts are not failures
    assert store.login_failures(since, name_hash="h-ana")[0] == 2
    store.login_succeeded(store.add_login_attempt(**ana))
    store.add_login_attempt(**ana)
    assert store.login_failures(since, name_hash="h-ana")[0] == 1
    assert store.login_failures(since, ip_hash="h-ip")[0] == 3  # an IP's count is not cleared by a success
    assert store.login_failures(since, name_hash="h-bob")[0] == 0
    assert store.login_succeeded_before("h-ana", "h-ip", since) and not store.login_succeeded_before(
        "h-ana", "x", since
    )


def test_backup_copies_a_consistent_database(store, tmp_path):
    store.insert_claim(claim_row())
    target = tmp_path / "backup" / "copy.db"
    store.backup(target)
    with Store.open(target) as copy:
        assert copy.get_claim("CLM-AAAAAAAAAA") is not None
        assert copy.schema_version() == SCHEMA_VERSION


def test_idempotency_keys_expire(store):
    store.insert_claim(claim_row())
    store.put_idempotency("k1", fingerprint="f", claim_id="CLM-AAAAAAAAAA", token_hash="h")
    assert store.get_idempotency("k1")["token_hash"] == "h"
    assert store.purge_idempotency(utcnow() + timedelta(seconds=1)) == 1
    assert store.get_idempotency("k1") is None


# --- orders CSV ----------------------------------------------------------------------------------


def test_reads_a_valid_orders_csv(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,email,item_name,value,delivered_at,in_stock\n"
        "shop-1,Ana@Example.com,Lamp,12.50,2026-01-03,yes\n"
        "SHOP-2,bob@example.com,Mug,5,2026-01-04T10:00:00+01:00,0\n"
    )
    one, two = read_orders_csv(path)
    assert (one.order_id, one.email, one.value, one.in_stock) == ("SHOP-1", "ana@example.com", 12.5, True)
    assert two.delivered_at == datetime(2026, 1, 4, 9, tzinfo=UTC) and not two.in_stock


def test_bad_rows_are_reported_by_line_number(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,email,item_name,value\n"
        "SHOP-1,ana@example.com,Lamp,12.50\n"
        "SHOP-2,not-an-email,Mug,5\n"
        "SHOP-3,c@example.com,Vase,-3\n"
        "SHOP-1,d@example.com,Lamp,1\n"
    )
    with pytest.raises(OrdersFileError) as err:
        read_orders_csv(path)
    assert [line for line, _ in err.value.errors] == [3, 4, 5]
    assert "line 3" in str(err.value) and "nothing was imported" in str(err.value)


def test_missing_required_columns_are_named(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("order_id,email\nSHOP-1,a@b.co\n")
    with pytest.raises(OrdersFileError, match="missing column.*item_name, value"):
        read_orders_csv(path)


def test_a_version_1_database_is_migrated_with_its_payouts_and_reviewer_decisions(tmp_path):
    from claims.store._base import MIGRATIONS, _statements

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for statement in _statements(MIGRATIONS[0]):
        conn.execute(statement)
    now = iso(utcnow())
    conn.execute(
        "INSERT INTO orders (order_id, email, item_name, value, updated_at) VALUES ('O-1', 'a@b.co', 'Lamp', 40, ?)",
        [now],
    )
    for claim_id, status in (("CLM-OLD1", "auto_refund"), ("CLM-OLD2", "denied")):
        conn.execute(
            "INSERT INTO claims (claim_id, order_id, email, description, token_hash, status, created_at, updated_at) "
            "VALUES (?, 'O-1', 'a@b.co', 'd', 't', ?, ?, ?)",
            [claim_id, status, now, now],
        )
    conn.execute(
        "INSERT INTO workflows (claim_id, kind, state, created_at, updated_at) "
        "VALUES ('CLM-OLD1', 'refund', 'completed', ?, ?)",
        [now, now],
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        (workflow,) = store.workflows_for_claims(["CLM-OLD1"])
        assert (workflow["order_id"], workflow["amount"], workflow["authorised_by"]) == ("O-1", 40.0, "system")
        assert store.get_claim("CLM-OLD2").status_actor == "reviewer" and store.get_claim("CLM-OLD1").version == 1
        assert "reviews" not in store.db.table_names()
