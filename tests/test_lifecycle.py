"""The claim lifecycle: the one table of moves, enforced by the store for every (from, to, actor) triple."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from claims import lifecycle
from claims.lifecycle import IllegalTransition
from claims.models import utcnow
from claims.store import Store, iso

ACTORS = ("customer", "system", "reviewer")
DOC = Path(__file__).resolve().parent.parent / "docs" / "lifecycle.md"


@pytest.fixture(scope="module")
def store():
    with Store.open(":memory:") as s:
        yield s


_NUMBERS = itertools.count()


def _claim_at(store: Store, status: str) -> str:
    """A claim put straight into `status` (by SQL: the test is about the move that follows)."""
    claim_id = f"CLM-{next(_NUMBERS):010d}"
    now = iso(utcnow())
    store.conn.execute(
        "INSERT INTO claims (claim_id, order_id, email, description, token_hash, status, created_at, updated_at) "
        "VALUES (?, 'O-1', 'a@b.co', 'd', 't', ?, ?, ?)",
        [claim_id, status, now, now],
    )
    return claim_id


@pytest.mark.parametrize("source,target,actor", itertools.product(lifecycle.STATUSES, lifecycle.STATUSES, ACTORS))
def test_the_store_allows_exactly_the_moves_in_the_table(store, source, target, actor):
    claim_id = _claim_at(store, source)
    if lifecycle.allowed(source, target, actor):
        moved = store.change_status(claim_id, target, actor=actor, expected_version=1)
        assert (moved.status, moved.version, moved.status_actor) == (target, 2, actor)
    else:
        with pytest.raises(IllegalTransition):
            store.change_status(claim_id, target, actor=actor, expected_version=1)
        assert store.get_claim(claim_id).status == source and store.get_claim(claim_id).version == 1


@pytest.mark.parametrize("target,actor", itertools.product(lifecycle.STATUSES, ACTORS))
def test_a_new_claim_starts_only_where_the_system_decides(store, target, actor):
    row = {
        "claim_id": f"CLM-NEW-{target}-{actor}",
        "order_id": "O-1",
        "email": "a@b.co",
        "description": "d",
        "token_hash": "t",
        "status": target,
        "created_at": iso(utcnow()),
        "updated_at": iso(utcnow()),
    }
    if lifecycle.allowed(lifecycle.NEW, target, actor):
        store.insert_claim(row, actor=actor)
        assert store.get_claim(row["claim_id"]).status == target
    else:
        with pytest.raises(IllegalTransition):
            store.insert_claim(row, actor=actor)


def test_only_a_reviewer_ever_denies_or_approves_by_hand():
    for (source, target), actors in lifecycle.TRANSITIONS.items():
        if target in ("denied", "approved_refund", "info_requested") and source not in lifecycle.FALLBACK_TO_REFUND:
            assert actors == {"reviewer"}, (source, target)


def test_automation_never_settles_a_claim_a_person_has_touched():
    for source in ("info_requested", "denied", *lifecycle.SETTLED):
        assert not any(
            lifecycle.allowed(source, target, "system")
            for target in lifecycle.AUTOMATED
            if (source, target) not in lifecycle.FALLBACK_TO_REFUND.items()
        )


def test_the_customer_can_always_reach_a_person():
    assert all(lifecycle.allowed(status, "in_review", "customer") for status in lifecycle.STATUSES)


def test_the_groups_partition_the_statuses_as_documented():
    assert set(lifecycle.OPEN) | set(lifecycle.SETTLED) == set(lifecycle.STATUSES)
    assert not set(lifecycle.OPEN) & set(lifecycle.SETTLED)
    assert set(lifecycle.REVIEW_QUEUE) <= set(lifecycle.OPEN)
    assert set(lifecycle.AUTOMATED) <= set(lifecycle.APPROVED) <= set(lifecycle.SETTLED)


def test_the_documented_transition_table_is_the_code():
    text = DOC.read_text(encoding="utf-8")
    section = re.search(r"<!-- section:transitions -->(.*?)<!-- /section:transitions -->", text, re.S).group(1)
    documented = re.findall(r"^\| `(\w+)` \| `(\w+)` \| ([a-z, ]+) \|$", section, re.M)
    expected = [(a, b, ", ".join(actors)) for a, b, actors in lifecycle.transition_rows()]
    assert documented == expected
