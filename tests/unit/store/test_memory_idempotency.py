"""What only the memory store needs saying: an ``Idempotency-Key`` record goes with its task, as the
SQL store's row does through ``ON DELETE CASCADE`` (tests/integration/store/test_idempotency_sql.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from refgen.store.base import IdempotentCreate
from refgen.testing.memory_keys import MemoryKeys
from refgen.testing.memory_state import MemoryState
from refgen.testing.memory_tasks import MemoryTasks
from refgen.testing.store import make_api_key, make_task

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_memory_idempotency_a_record_goes_with_its_task() -> None:
    state = MemoryState()
    key = make_api_key("alice")
    MemoryKeys(state).add_key(key)
    tasks = MemoryTasks(state)
    create = IdempotentCreate("k", "a" * 64, T0)
    assert tasks.insert_task(make_task("t1", key.id), None, create) == "t1"
    with state.lock:
        del state.tasks["t1"]  # as a retention sweep removes a task
    assert tasks.find_idempotent(key.id, create) is None
    assert tasks.insert_task(make_task("t2", key.id), None, create) == "t2"
