"""``TaskService.create`` with an ``Idempotency-Key``, on the memory store and files: the 24-hour window
on the service's clock, a create that loses the race to a concurrent duplicate, and the request hash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from refgen.domain import TaskKind
from refgen.errors import FieldInvalid, IdempotencyConflict
from refgen.idempotency import request_hash
from refgen.service import TaskService
from refgen.store.base import IDEMPOTENCY_WINDOW, IdempotentCreate
from refgen.testing.fetcher import FakeImageFetcher
from refgen.testing.files import MemoryFileStore
from refgen.testing.memory_keys import MemoryKeys
from refgen.testing.memory_state import MemoryState
from refgen.testing.memory_tasks import MemoryTasks
from refgen.testing.store import MemoryStore, make_api_key
from tests.images import data_url, picture

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
VIDEO = {"model": "vidu2.0", "images": [data_url(picture())], "prompt": "a red balloon"}

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class LateLookups(MemoryTasks):
    """Tasks whose look-up never sees a key: as when a concurrent duplicate commits between this
    create's look-up and its insert, so the insert is the first to find the earlier task."""

    def find_idempotent(self, key_id: str, create: IdempotentCreate) -> str | None:
        return None


def service(tasks: MemoryTasks, files: MemoryFileStore, clock: Clock) -> TaskService:
    return TaskService(tasks, files, FakeImageFetcher(), served_models=lambda kind: {"vidu2.0"}, clock=clock)


@pytest.fixture
def store() -> MemoryStore:
    store = MemoryStore()
    store.keys.add_key(make_api_key("alice"))
    return store


async def test_service_idempotency_key_is_reusable_after_the_window(store: MemoryStore) -> None:
    clock, files = Clock(), MemoryFileStore()
    tasks = service(store.tasks, files, clock)
    [key] = store.keys.list_keys()
    first, _ = await tasks.create(key, TaskKind.VIDEO, VIDEO, "k")
    clock.now = T0 + IDEMPOTENCY_WINDOW
    assert (await tasks.create(key, TaskKind.VIDEO, VIDEO, "k"))[0].id == first.id
    with pytest.raises(IdempotencyConflict):
        await tasks.create(key, TaskKind.VIDEO, {**VIDEO, "prompt": "other"}, "k")
    clock.now = T0 + IDEMPOTENCY_WINDOW + timedelta(microseconds=1)
    second, _ = await tasks.create(key, TaskKind.VIDEO, VIDEO, "k")
    assert second.id != first.id
    assert {t.id for t in store.tasks.list_tasks(key.id)} == {first.id, second.id}


async def test_service_idempotency_a_create_that_loses_the_race_answers_the_winner() -> None:
    clock, files, state = Clock(), MemoryFileStore(), MemoryState()
    key = make_api_key("bob")
    MemoryKeys(state).add_key(key)
    tasks, late = MemoryTasks(state), LateLookups(state)
    winner, _ = await service(tasks, files, clock).create(key, TaskKind.VIDEO, VIDEO, "k")
    kept = dict(files.objects)
    loser, request = await service(late, files, clock).create(key, TaskKind.VIDEO, VIDEO, "k")
    assert loser.id == winner.id and list(request.images) == VIDEO["images"]
    assert files.objects == kept  # the losing create's reference was removed again
    assert [t.id for t in tasks.list_tasks(key.id)] == [winner.id]
    with pytest.raises(IdempotencyConflict):
        await service(late, files, clock).create(key, TaskKind.VIDEO, {**VIDEO, "prompt": "other"}, "k")
    assert files.objects == kept


async def test_service_idempotency_checks_the_key_before_anything_else(store: MemoryStore) -> None:
    [key] = store.keys.list_keys()
    with pytest.raises(FieldInvalid, match="Idempotency-Key"):
        await service(store.tasks, MemoryFileStore(), Clock()).create(key, TaskKind.VIDEO, {}, " padded ")


def test_request_hash_reads_the_parsed_json_and_the_endpoint() -> None:
    same = request_hash(TaskKind.VIDEO, {"a": 1, "b": [1, {"c": "é", "d": None}]})
    assert request_hash(TaskKind.VIDEO, {"b": [1, {"d": None, "c": "é"}], "a": 1}) == same
    assert request_hash(TaskKind.IMAGE, {"a": 1, "b": [1, {"c": "é", "d": None}]}) != same
    assert request_hash(TaskKind.VIDEO, {"a": 1, "b": [{"c": "é", "d": None}, 1]}) != same  # list order
    assert request_hash(TaskKind.VIDEO, {"a": "1", "b": [1, {"c": "é", "d": None}]}) != same  # types
    assert len(same) == 64 and int(same, 16) >= 0
