"""Reviewer accounts: configured or generated (never a fixed password), hashed, audited, rate limited."""

from __future__ import annotations

import pytest

from claims import accounts
from claims.config import Settings
from claims.errors import InvalidInput, RateLimited
from claims.store import Store


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
