"""Reviewer accounts: configured or generated (never a fixed password), hashed, audited, rate limited.

Login limits are tested on simulated time: every attempt passes `now`.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from claims import accounts
from claims.config import Settings
from claims.errors import InvalidInput, RateLimited
from claims.models import utcnow
from claims.store import SCHEMA_VERSION, Store

T0 = utcnow()
ANA = "ana:correct-horse"


@pytest.fixture
def store():
    with Store.open(":memory:") as s:
        yield s


def test_password_hash_is_salted_and_verifies():
    one, two = accounts.hash_password("pw"), accounts.hash_password("pw")
    assert one != two and "pw" not in one
    assert accounts.verify_password("pw", one) and not accounts.verify_password("pW", one)
    assert not accounts.verify_password("pw", "garbage")


@pytest.mark.parametrize("spec", ["ana", "ana:", ":pw", "a b:pw", "ana:pw,bob"])
def test_malformed_reviewers_setting_is_refused(spec):
    with pytest.raises(InvalidInput):
        accounts.parse_reviewers(spec)


def test_configured_accounts_log_in_and_others_are_switched_off(store):
    settings = Settings(reviewers="ana:correct-horse, bob:battery:staple")
    assert accounts.ensure_accounts(store, settings) is None
    assert accounts.authenticate(store, settings, "ana", "correct-horse")
    assert accounts.authenticate(store, settings, "bob", "battery:staple")  # password may hold a colon
    assert not accounts.authenticate(store, settings, "ana", "wrong")
    assert not accounts.authenticate(store, settings, "mallory", "correct-horse")
    fewer = Settings(reviewers="ana:new-password")
    accounts.ensure_accounts(store, fewer)
    assert not accounts.authenticate(store, fewer, "bob", "battery:staple")
    assert not accounts.authenticate(store, fewer, "ana", "correct-horse")
    assert accounts.authenticate(store, fewer, "ana", "new-password")


def test_without_configuration_one_random_account_is_created_once(store):
    settings = Settings(reviewers="")
    name, password = accounts.ensure_accounts(store, settings)
    assert name == "reviewer" and len(password) >= 16
    assert accounts.ensure_accounts(store, settings) is None
    assert accounts.authenticate(store, settings, name, password)
    other = Store.open(":memory:")
    assert accounts.ensure_accounts(other, settings)[1] != password  # random, not a default
    other.close()


def test_every_login_attempt_is_audited(store):
    settings = Settings(reviewers="ana:correct-horse")
    accounts.ensure_accounts(store, settings)
    accounts.authenticate(store, settings, "ana", "nope")
    accounts.authenticate(store, settings, "ana", "correct-horse")
    kinds = [e["kind"] for e in store.events() if e["kind"].startswith("login")]
    assert kinds == ["login_failed", "login_succeeded"]
    assert all("correct-horse" not in str(e) for e in store.events())


def test_too_many_failures_lock_the_name_out(store):
    settings = Settings(reviewers="ana:correct-horse", login_max_failures=3, login_window_seconds=300)
    accounts.ensure_accounts(store, settings)
    for _ in range(3):
        assert not accounts.authenticate(store, settings, "ana", "guess")
    with pytest.raises(RateLimited):
        accounts.authenticate(store, settings, "ana", "correct-horse")  # even the right password, for now
    assert store.events(kind="login_blocked")
    assert accounts.authenticate(store, settings, "bob-unrelated", "x") is False  # other names unaffected


# --- limits per IP and per name, with back-off ------------------------------------------------------------


def _settings(**overrides) -> Settings:
    overrides.setdefault("reviewers", ANA)
    return Settings(**overrides)


def _try(store, settings, name, password, ip, at_seconds) -> str:
    """'ok', 'failed' or 'refused' for one attempt at T0 + at_seconds."""
    try:
        ok = accounts.authenticate(
            store, settings, name, password, client_ip=ip, now=T0 + timedelta(seconds=at_seconds)
        )
    except RateLimited:
        return "refused"
    return "ok" if ok else "failed"


def _counted_failures(store) -> int:
    return store.conn.execute("SELECT count(*) FROM login_attempts WHERE success = 0 AND blocked = 0").fetchone()[0]


def test_password_spraying_from_one_ip_is_stopped_by_the_per_ip_limit(store):
    settings = _settings()
    accounts.ensure_accounts(store, settings)
    sprayer = "203.0.113.7"
    outcomes = [_try(store, settings, f"user{i:02d}", "Winter2024!", sprayer, i) for i in range(30)]
    limit = settings.login_max_failures_per_ip
    assert outcomes == ["failed"] * limit + ["refused"] * (30 - limit)
    # Even a right guess from that address is refused now; the account is fine from anywhere else.
    assert _try(store, settings, "ana", "correct-horse", sprayer, 31) == "refused"
    assert _try(store, settings, "ana", "correct-horse", "198.51.100.20", 31) == "ok"
    assert _counted_failures(store) == limit  # the refused attempts counted for nothing


def test_refused_attempts_are_neither_checked_nor_counted_and_do_not_extend_the_back_off(store):
    settings = _settings(login_max_failures=5, login_backoff_seconds=30, login_backoff_max_seconds=600)
    accounts.ensure_accounts(store, settings)
    assert [_try(store, settings, "ana", "guess", None, i) for i in range(5)] == ["failed"] * 5
    # Back-off: 30 s after the latest failure (at 4 s). Hammering it changes nothing.
    assert [_try(store, settings, "ana", "guess", None, t) for t in range(5, 34)] == ["refused"] * 29
    assert _counted_failures(store) == 5
    assert _try(store, settings, "ana", "guess", None, 34.5) == "failed"  # a real try once it has passed
    # The next back-off doubles (60 s from 34.5 s), however often someone knocks meanwhile.
    assert [_try(store, settings, "ana", "guess", None, t) for t in range(35, 94, 3)] == ["refused"] * 20
    assert _try(store, settings, "ana", "correct-horse", None, 95) == "ok"
    assert store.events(kind="login_blocked") and len(store.events(kind="login_failed")) == 6


def test_the_right_password_during_a_back_off_is_refused_saying_so_but_is_not_a_failure(store):
    settings = _settings(login_max_failures=3, login_backoff_seconds=30)
    accounts.ensure_accounts(store, settings)
    for i in range(3):
        assert _try(store, settings, "ana", "guess", None, i) == "failed"
    with pytest.raises(RateLimited) as refused:
        accounts.authenticate(store, settings, "ana", "correct-horse", now=T0 + timedelta(seconds=10))
    message = str(refused.value)
    assert "right password is refused" in message and "seconds" in message and "ana" not in message
    assert _counted_failures(store) == 3
    # Had the refused attempt counted, this failure would be the 5th and the back-off 120 s, not 60 s.
    assert _try(store, settings, "ana", "guess", None, 33) == "failed"
    assert _try(store, settings, "ana", "correct-horse", None, 92) == "refused"
    assert _try(store, settings, "ana", "correct-horse", None, 94) == "ok"


def test_a_flood_of_refused_attempts_writes_one_record_per_back_off(store):
    settings = _settings(login_max_failures=2, login_backoff_seconds=60)
    accounts.ensure_accounts(store, settings)
    for i in range(2):
        _try(store, settings, "ana", "guess", "203.0.113.1", i)

    def rows():
        return store.conn.execute(
            "SELECT (SELECT count(*) FROM login_attempts), (SELECT count(*) FROM events)"
        ).fetchone()

    assert _try(store, settings, "ana", "guess", "203.0.113.2", 2) == "refused"
    before = rows()
    for i in range(500):  # from one address and from many: the back-off is already on record
        assert _try(store, settings, "ana", "guess", f"10.1.{i // 200}.{i % 200}", 3 + i / 10) == "refused"
    assert rows() == before
    assert _try(store, settings, "ana", "guess", "203.0.113.3", 62) == "failed"
    assert _try(store, settings, "ana", "guess", "203.0.113.3", 63) == "refused"  # the next back-off: recorded
    assert len(store.events(kind="login_blocked")) == 2


def test_a_success_clears_the_names_count(store):
    settings = _settings(login_max_failures=5)
    accounts.ensure_accounts(store, settings)
    for i in range(4):
        assert _try(store, settings, "ana", "guess", None, i) == "failed"
    assert _try(store, settings, "ana", "correct-horse", None, 5) == "ok"
    assert [_try(store, settings, "ana", "guess", None, 6 + i) for i in range(5)] == ["failed"] * 5
    assert _try(store, settings, "ana", "guess", None, 12) == "refused"


def test_the_back_off_doubles_up_to_its_cap_and_failures_expire_after_the_window(store):
    settings = _settings(
        login_max_failures=2, login_backoff_seconds=10, login_backoff_max_seconds=60, login_window_seconds=600
    )
    accounts.ensure_accounts(store, settings)
    failed_at: list[int] = []
    t = 0
    while len(failed_at) < 8:  # a guess every second; only some of them are tried
        if _try(store, settings, "ana", "guess", None, t) == "failed":
            failed_at.append(t)
        t += 1
    assert [b - a for a, b in zip(failed_at, failed_at[1:])] == [1, 10, 20, 40, 60, 60, 60]
    last = failed_at[-1]
    # Once the window has passed, the count starts again: two tries before the next back-off.
    assert [_try(store, settings, "ana", "guess", None, last + 601 + i) for i in range(3)] == [
        "failed",
        "failed",
        "refused",
    ]


def test_a_name_attacked_from_many_ips_does_not_lock_out_its_reviewer(store):
    """One request every 3 s, each from a new address, for 30 minutes against ana's name."""
    settings = _settings(login_max_failures=5, login_backoff_seconds=30, login_backoff_max_seconds=900)
    accounts.ensure_accounts(store, settings)
    office = "198.51.100.10"
    assert _try(store, settings, "ana", "correct-horse", office, -86400) == "ok"  # ana signed in yesterday
    attack = [_try(store, settings, "ana", f"guess{i}", f"10.0.{i // 250}.{i % 250}", 3 * i) for i in range(600)]
    assert attack.count("ok") == 0
    assert attack.count("failed") <= 12  # a handful of real guesses in half an hour; the rest refused
    assert attack[-1] == "refused"  # the name itself is held back for everyone else...
    assert _try(store, settings, "ana", "correct-horse", office, 1800) == "ok"  # ...but not for ana at the office
    # From an address ana never used, she waits at most the longest back-off after the attack stops.
    assert _try(store, settings, "ana", "correct-horse", "192.0.2.50", 1797 + 900 + 1) == "ok"


def test_failures_from_the_reviewers_own_ip_still_hold_that_ip_back(store):
    settings = _settings(login_max_failures=3)
    accounts.ensure_accounts(store, settings)
    office = "198.51.100.10"
    assert _try(store, settings, "ana", "correct-horse", office, 0) == "ok"
    assert [_try(store, settings, "ana", "guess", office, 1 + i) for i in range(3)] == ["failed"] * 3
    assert _try(store, settings, "ana", "correct-horse", office, 5) == "refused"


SECRET_NAME = "hunter2-typed-as-a-name"
SECRET_IP = "203.0.113.99"


def _database_text(store) -> str:
    """Every value of every table (and the schema), as SQL text."""
    return "\n".join(store.conn.iterdump())


def test_no_rejected_username_or_raw_ip_is_stored_anywhere(store):
    settings = _settings(login_max_failures=2)
    accounts.ensure_accounts(store, settings)
    for i in range(4):  # failures, then refusals (the first of which is recorded)
        _try(store, settings, SECRET_NAME, "whatever", SECRET_IP, i)
    _try(store, settings, "ana", "wrong", SECRET_IP, 10)
    _try(store, settings, "ana", "correct-horse", "2001:db8::7", 11)
    text = _database_text(store)
    assert SECRET_NAME not in text and SECRET_NAME.upper() not in text.upper()
    assert SECRET_IP not in text and "2001:db8::7" not in text
    rows = store.conn.execute("SELECT name, name_hash, ip_hash, blocked FROM login_attempts ORDER BY id").fetchall()
    typed = [r for r in rows if r[0] is None]
    assert len(typed) == 3 and len({r[1] for r in typed}) == 1  # one name, three records: still correlated
    assert {r[2] for r in typed} == {rows[3][2]} and rows[3][0] == "ana"  # one IP, one hash
    assert [r[3] for r in typed] == [0, 0, 1]
    events = [e for e in store.events() if e["kind"].startswith("login")]
    assert [e["actor"] for e in events][:3] == ["anonymous"] * 3
    assert events[0]["detail"]["name_hash"] == typed[0][1] and events[0]["detail"]["ip_hash"] == typed[0][2]
    assert events[-1]["actor"] == "reviewer:ana"


def test_the_hash_key_is_random_per_database_and_kept(tmp_path):
    path = tmp_path / "claims.db"
    with Store.open(path) as one:
        key = one.login_hash_key()
    with Store.open(path) as again:
        assert again.login_hash_key() == key
    with Store.open(":memory:") as other:
        assert other.login_hash_key() != key and len(key) == 32


def test_migration_drops_rejected_names_from_older_login_records(tmp_path):
    from claims.store._base import MIGRATIONS, _statements

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for migration in MIGRATIONS[:2]:
        for statement in _statements(migration):
            conn.execute(statement)
    conn.execute(
        "INSERT INTO reviewers (name, password_hash, source, active, created_at, updated_at) "
        "VALUES ('ana', 'x', 'settings', 1, '2025-01-01', '2025-01-01')"
    )
    for name, kind in ((SECRET_NAME, "login_failed"), (SECRET_NAME, "login_blocked"), ("ana", "login_succeeded")):
        conn.execute("INSERT INTO login_attempts (name, at, success) VALUES (?, '2025-01-01', 0)", [name])
        conn.execute(
            "INSERT INTO events (at, actor, kind, detail) VALUES ('2025-01-01', ?, ?, ?)",
            [f"reviewer:{name}", kind, f'{{"reviewer": "{name}"}}'],
        )
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert SECRET_NAME not in _database_text(store)
        assert [e["actor"] for e in store.events()] == ["anonymous", "anonymous", "reviewer:ana"]
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):  # the trigger is back
            store.conn.execute("UPDATE events SET actor = 'x'")


def test_the_service_passes_the_client_ip_on(make_service):
    svc = make_service(login_max_failures_per_ip=2)
    for name in ("x1", "x2"):
        assert not svc.authenticate(name, "guess", client_ip="203.0.113.5")
    with pytest.raises(RateLimited):
        svc.authenticate("ana", "correct-horse", client_ip="203.0.113.5")
    assert svc.authenticate("ana", "correct-horse", client_ip="203.0.113.6")
