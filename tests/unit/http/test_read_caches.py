"""The read caches: keys kept a few seconds, ended tasks' Get Generation bodies kept a minute."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import anyio
import pytest

from refgen.domain import ApiKey, Creation, Task, TaskState
from refgen.errors import TaskNotFound
from refgen.http.generation_reads import GenerationReads
from refgen.http.key_cache import KeyCache
from refgen.testing.builders import make_api_key, make_task


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Keys:
    """A key store's lookup that counts its calls; revoking removes the key."""

    def __init__(self, *keys: tuple[str, ApiKey]) -> None:
        self.keys = dict(keys)
        self.lookups = 0

    def __call__(self, token: str) -> ApiKey | None:
        self.lookups += 1
        return self.keys.get(token)


ALICE = make_api_key("alice")
BOB = make_api_key("bob")


def test_key_cache_keeps_a_valid_key_until_its_time_is_up() -> None:
    keys, clock = Keys(("t-alice", ALICE)), Clock()
    cache = KeyCache(keys, ttl=5.0, clock=clock)
    assert anyio.run(cache.key_for, "t-alice") == ALICE
    keys.keys.clear()  # revoked in the database
    clock.now += 4.9
    assert anyio.run(cache.key_for, "t-alice") == ALICE
    assert keys.lookups == 1
    clock.now += 0.2
    assert anyio.run(cache.key_for, "t-alice") is None
    assert keys.lookups == 2


def test_key_cache_never_keeps_a_token_without_a_key() -> None:
    keys = Keys()
    cache = KeyCache(keys, clock=Clock())
    assert anyio.run(cache.key_for, "t-nobody") is None
    keys.keys["t-nobody"] = ALICE  # a key made for it since
    assert anyio.run(cache.key_for, "t-nobody") == ALICE
    assert keys.lookups == 2


def test_key_cache_drops_the_least_recently_used_past_its_size() -> None:
    keys = Keys(("t-alice", ALICE), ("t-bob", BOB), ("t-carol", make_api_key("carol")))
    cache = KeyCache(keys, size=2, clock=Clock())
    for token in ("t-alice", "t-bob", "t-alice", "t-carol"):  # bob is the least recently used
        anyio.run(cache.key_for, token)
    assert keys.lookups == 3
    anyio.run(cache.key_for, "t-alice")
    assert keys.lookups == 3
    anyio.run(cache.key_for, "t-bob")
    assert keys.lookups == 4


class Links:
    def __init__(self) -> None:
        self.signed = 0

    def url(self, key: str, lifetime: float = 86_400) -> str:
        self.signed += 1
        return f"https://files.example/{key}?n={self.signed}"


class Tasks:
    """The service's read: an unknown id or another key's task is not found."""

    def __init__(self, *tasks: Task) -> None:
        self.tasks = {task.id: task for task in tasks}
        self.reads = 0

    def __call__(self, key: ApiKey, task_id: str) -> Task:
        self.reads += 1
        task = self.tasks.get(task_id)
        if task is None or task.key_id != key.id:
            raise TaskNotFound(f"task not found: {task_id}")
        return task


def ended(task_id: str, key: ApiKey) -> Task:
    task = make_task(task_id, key.id, state=TaskState.SUCCESS)
    task.creations = [Creation("c1", f"tasks/{task_id}/out.mp4", f"tasks/{task_id}/cover.png", None, 64, 64)]
    return task


def body(reads: GenerationReads, key: ApiKey, task_id: str) -> dict[str, object]:
    parsed = json.loads(anyio.run(reads.body, key, task_id))
    assert isinstance(parsed, dict)
    return parsed


def test_generation_reads_keep_an_ended_task_with_its_links_for_a_while() -> None:
    tasks, links, clock = Tasks(ended("t1", ALICE)), Links(), Clock()
    reads = GenerationReads(tasks, links, ttl=60.0, clock=clock)
    first = body(reads, ALICE, "t1")
    assert first["state"] == "success" and first["creations"]
    clock.now += 59.0
    assert body(reads, ALICE, "t1") == first
    assert (tasks.reads, links.signed) == (1, 2)
    clock.now += 2.0  # links are signed afresh once the entry is stale
    assert body(reads, ALICE, "t1") != first
    assert tasks.reads == 2


def test_generation_reads_read_a_running_task_every_time() -> None:
    running = make_task("t1", ALICE.id, state=TaskState.PROCESSING)
    tasks = Tasks(running)
    reads = GenerationReads(tasks, Links(), clock=Clock())
    assert body(reads, ALICE, "t1")["state"] == "processing"
    running.progress = 40
    assert body(reads, ALICE, "t1")["progress"] == 40
    assert tasks.reads == 2


def test_generation_reads_refuse_another_keys_task_even_when_kept() -> None:
    tasks = Tasks(ended("t1", ALICE))
    reads = GenerationReads(tasks, Links(), clock=Clock())
    body(reads, ALICE, "t1")
    with pytest.raises(TaskNotFound, match="task not found: t1"):
        anyio.run(reads.body, BOB, "t1")


def test_generation_reads_keep_at_most_their_size() -> None:
    tasks = Tasks(ended("t1", ALICE), ended("t2", ALICE))
    reads = GenerationReads(tasks, Links(), size=1, clock=Clock())
    for task_id in ("t1", "t2", "t1"):
        body(reads, ALICE, task_id)
    assert tasks.reads == 3


def test_generation_reads_never_keep_an_answer_past_the_tasks_retention() -> None:
    finished = datetime(2026, 1, 1, tzinfo=UTC)
    old, young = ended("old", ALICE), ended("young", ALICE)
    old.finished_at, young.finished_at = finished - timedelta(days=7), finished - timedelta(seconds=30)
    tasks, clock = Tasks(old, young), Clock()
    reads = GenerationReads(
        tasks, Links(), ttl=60.0, clock=clock, retention=timedelta(days=7), wall_clock=lambda: finished
    )
    for task_id in ("old", "old", "young", "young"):
        body(reads, ALICE, task_id)
    assert tasks.reads == 3  # the old one each time; the young one kept
    clock.now += 61.0
    body(reads, ALICE, "young")
    assert tasks.reads == 4


def test_generation_reads_keep_an_answer_only_until_the_task_may_be_swept() -> None:
    finished = datetime(2026, 1, 1, tzinfo=UTC)
    task = ended("t1", ALICE)
    task.finished_at = finished - timedelta(days=7) + timedelta(seconds=10)  # sweepable in 10 s
    tasks, clock = Tasks(task), Clock()
    reads = GenerationReads(
        tasks, Links(), ttl=60.0, clock=clock, retention=timedelta(days=7), wall_clock=lambda: finished
    )
    body(reads, ALICE, "t1")
    clock.now += 9.0
    body(reads, ALICE, "t1")
    assert tasks.reads == 1
    clock.now += 2.0
    body(reads, ALICE, "t1")
    assert tasks.reads == 2
