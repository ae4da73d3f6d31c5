"""``Idempotency-Key`` records of ``insert_task`` and ``find_idempotent``, run against each store (see
conftest's ``store`` fixture): one task per key and API key within the window, the earlier task for
the same request, a conflict for another, nothing recorded by a refused insert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from refgen.err_codes import ErrCode
from refgen.errors import CreditInsufficient, IdempotencyConflict, KeyQueueFull
from refgen.store.base import IDEMPOTENCY_WINDOW, IdempotentCreate, QueueLimits
from refgen.testing.store import make_api_key, make_task
from tests.unit.store.conftest import AnyStore

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def sent(key: str = "k-1", request_hash: str = "a" * 64, when: datetime = T0) -> IdempotentCreate:
    return IdempotentCreate(key, request_hash, when)


@pytest.fixture
def keys(store: AnyStore) -> tuple[str, str]:
    alice, bob = make_api_key("alice", credits=100), make_api_key("bob")
    store.keys.add_key(alice)
    store.keys.add_key(bob)
    return alice.id, bob.id


def test_idempotency_a_repeated_key_answers_the_first_task(store: AnyStore, keys: tuple[str, str]) -> None:
    alice, _ = keys
    assert store.tasks.find_idempotent(alice, sent()) is None
    assert store.tasks.insert_task(make_task("t1", alice), None, sent()) == "t1"
    assert store.tasks.find_idempotent(alice, sent(when=at(60))) == "t1"
    again = store.tasks.insert_task(make_task("t2", alice, created_at=at(60)), None, sent(when=at(60)))
    assert again == "t1"
    assert store.tasks.get_task("t2") is None
    assert [t.id for t in store.tasks.list_tasks(alice)] == ["t1"]
    assert store.tasks.key_usage(alice).held == 8  # one task holds credits, not two


def test_idempotency_another_request_with_the_key_conflicts(store: AnyStore, keys: tuple[str, str]) -> None:
    alice, _ = keys
    store.tasks.insert_task(make_task("t1", alice), None, sent())
    other = sent(request_hash="b" * 64, when=at(1))
    with pytest.raises(IdempotencyConflict) as refused:
        store.tasks.insert_task(make_task("t2", alice, created_at=at(1)), None, other)
    assert refused.value.reason is ErrCode.CONFLICT and "t1" in refused.value.message
    with pytest.raises(IdempotencyConflict):
        store.tasks.find_idempotent(alice, other)
    assert store.tasks.get_task("t2") is None
    assert store.tasks.find_idempotent(alice, sent(when=at(2))) == "t1"  # the record is unchanged


def test_idempotency_keys_belong_to_one_api_key(store: AnyStore, keys: tuple[str, str]) -> None:
    alice, bob = keys
    store.tasks.insert_task(make_task("a1", alice), None, sent())
    assert store.tasks.find_idempotent(bob, sent()) is None
    assert store.tasks.insert_task(make_task("b1", bob), None, sent(request_hash="b" * 64)) == "b1"
    assert store.tasks.find_idempotent(alice, sent()) == "a1"
    assert store.tasks.find_idempotent(bob, sent(request_hash="b" * 64)) == "b1"


def test_idempotency_a_key_may_be_used_again_after_the_window(store: AnyStore, keys: tuple[str, str]) -> None:
    alice, _ = keys
    store.tasks.insert_task(make_task("t1", alice), None, sent())
    last_moment = T0 + IDEMPOTENCY_WINDOW
    assert store.tasks.find_idempotent(alice, sent(when=last_moment)) == "t1"
    later = T0 + IDEMPOTENCY_WINDOW + timedelta(seconds=1)
    assert store.tasks.find_idempotent(alice, sent(when=later)) is None
    # a new task, even for another request: the old record is replaced
    fresh = sent(request_hash="b" * 64, when=later)
    assert store.tasks.insert_task(make_task("t2", alice, created_at=later), None, fresh) == "t2"
    assert store.tasks.find_idempotent(alice, fresh) == "t2"
    assert {t.id for t in store.tasks.list_tasks(alice)} == {"t1", "t2"}


def test_idempotency_a_duplicate_is_answered_past_the_limits_and_credits(
    store: AnyStore, keys: tuple[str, str]
) -> None:
    alice, _ = keys
    limits = QueueLimits(total=1, per_key=1)
    store.tasks.insert_task(make_task("t1", alice, credits=100), limits, sent())
    # the key has no queue place and no credits left, yet its retry gets its task
    assert store.tasks.insert_task(make_task("t2", alice, created_at=at(1)), limits, sent(when=at(1))) == "t1"
    with pytest.raises(KeyQueueFull):
        store.tasks.insert_task(make_task("t3", alice, credits=0, created_at=at(2)), limits, sent("k-2"))


def test_idempotency_a_refused_insert_records_nothing(store: AnyStore, keys: tuple[str, str]) -> None:
    alice, _ = keys
    with pytest.raises(CreditInsufficient):
        store.tasks.insert_task(make_task("t1", alice, credits=101), None, sent())
    assert store.tasks.find_idempotent(alice, sent()) is None
    # the client may send the key again, with the same request or a corrected one
    corrected = sent(request_hash="b" * 64, when=at(1))
    assert store.tasks.insert_task(make_task("t2", alice, created_at=at(1)), None, corrected) == "t2"


def test_idempotency_a_task_without_a_key_records_nothing(store: AnyStore, keys: tuple[str, str]) -> None:
    alice, _ = keys
    assert store.tasks.insert_task(make_task("t1", alice)) == "t1"
    assert store.tasks.insert_task(make_task("t2", alice, created_at=at(1))) == "t2"
    assert store.tasks.find_idempotent(alice, sent()) is None
