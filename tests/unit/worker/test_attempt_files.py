"""A task generated more than once (its first worker died) keeps only the last attempt's files."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from refgen.domain import TaskState
from refgen.errors import BackendError
from refgen.files.local import LocalFileStore
from refgen.testing.backends import FakeBackend, every_route
from refgen.testing.builders import make_api_key, make_task
from refgen.testing.store import MemoryStore
from refgen.worker.loop import Worker, WorkerTiming
from tests.images import picture

NOW = datetime(2026, 1, 1, tzinfo=UTC)
FAST = WorkerTiming(lease_seconds=5.0, heartbeat_seconds=0.05, poll_seconds=0.02)


def files_of(files: LocalFileStore, task_id: str) -> list[str]:
    root = files.root / "tasks" / task_id
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("fails", [False, True])
def test_attempt_files_of_a_dead_workers_attempt_go_when_the_task_ends(tmp_path: Path, fails: bool) -> None:
    store, files = MemoryStore(), LocalFileStore(tmp_path / "files")
    store.keys.add_key(make_api_key("k", key_id="k1"))
    task = make_task("t1", "k1", model="vidu2.0", created_at=NOW)
    task.spec = replace(task.spec, duration=4, resolution="360p")
    files.put_bytes(task.reference_keys[0], picture(), "image/png")
    store.tasks.insert_task(task)
    # the first worker claims the task, writes part of its output and dies; the task goes back
    first = store.queue.claim("dead-worker", None, 5.0, NOW)
    assert first is not None and first.attempts == 1
    files.put_bytes("tasks/t1/out1/video.mp4", b"half a video", "video/mp4")
    assert store.queue.release_worker("dead-worker", NOW) == ["t1"]

    backend = FakeBackend(fail_with=BackendError("no") if fails else None)
    worker = Worker(store.queue, files, every_route(backend), timing=FAST)
    assert worker.run_once()

    done = store.tasks.get_task("t1")
    assert done is not None and done.attempts == 2
    assert done.state is (TaskState.FAILED if fails else TaskState.SUCCESS)
    kept = [name for name in files_of(files, "t1") if name.startswith("out")]
    assert not any(name.startswith("out1/") for name in kept)
    if not fails:
        assert len(done.creations) == 1 and kept and all(name.startswith("out2/") for name in kept)
