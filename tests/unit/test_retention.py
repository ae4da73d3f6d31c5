"""The retention sweeper on the in-memory store and file store, with a clock of the test's own."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from refgen.domain import Creation
from refgen.errors import FileStoreError, StoreError
from refgen.retention import RetentionSweeper
from refgen.runtime import build_runtime
from refgen.settings import Settings
from refgen.testing.fetcher import FakeImageFetcher
from refgen.testing.files import MemoryFileStore
from refgen.testing.store import MemoryStore, make_api_key, make_task
from refgen.worker.groups import ThreadWorkers

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
WAIT = 5.0  # a guard against hanging, never a timing assumption


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store() -> MemoryStore:
    store = MemoryStore()
    store.keys.add_key(make_api_key("k", key_id="k1", concurrency=100))
    return store


@pytest.fixture
def files() -> MemoryFileStore:
    return MemoryFileStore()


def finish(
    store: MemoryStore, files: MemoryFileStore, task_id: str, ended: datetime, *, retried: bool = False
) -> None:
    """A task with a reference, an output and (when ``retried``) the output of an earlier attempt
    whose worker died, that succeeded at ``ended``."""
    store.tasks.insert_task(make_task(task_id, "k1", created_at=ended - timedelta(minutes=5)))
    files.put_bytes(f"tasks/{task_id}/refs/0.png", b"png", "image/png")
    if retried:
        assert store.queue.claim("dead", None, 30, ended - timedelta(minutes=4)) is not None
        files.put_bytes(f"tasks/{task_id}/out1/video.mp4", b"half", "video/mp4")
        assert store.queue.release_worker("dead", ended - timedelta(minutes=3)) == [task_id]
    task = store.queue.claim("w", None, 30, ended - timedelta(minutes=2))
    assert task is not None and task.id == task_id
    out = f"tasks/{task_id}/out{task.attempts}/"
    files.put_bytes(out + "video.mp4", b"mp4", "video/mp4")
    creation = Creation("c", out + "video.mp4", out + "cover.jpg", None, 640, 360, 4.0, 24)
    assert store.queue.complete(task_id, "w", [creation], ended)


def files_of(files: MemoryFileStore, task_id: str) -> list[str]:
    return sorted(key for key in files.objects if key.startswith(f"tasks/{task_id}/"))


def sweeper(
    store: MemoryStore, files: MemoryFileStore, now: datetime = NOW, **kwargs: int
) -> RetentionSweeper:
    return RetentionSweeper(store.retention, files, days=kwargs.pop("days", 7), clock=Clock(now), **kwargs)


def test_retention_sweeper_removes_old_tasks_with_every_file(
    store: MemoryStore, files: MemoryFileStore
) -> None:
    finish(store, files, "t1", NOW - 8 * DAY, retried=True)
    finish(store, files, "t10", NOW - 6 * DAY)  # younger; its id starts like t1's
    assert files_of(files, "t1") == [
        "tasks/t1/out1/video.mp4",
        "tasks/t1/out2/video.mp4",
        "tasks/t1/refs/0.png",
    ]

    assert sweeper(store, files).sweep_once() == ["t1"]

    assert store.tasks.get_task("t1") is None and files_of(files, "t1") == []
    assert store.tasks.get_task("t10") is not None
    assert files_of(files, "t10") == ["tasks/t10/out1/video.mp4", "tasks/t10/refs/0.png"]


def test_retention_sweeper_follows_the_clock(store: MemoryStore, files: MemoryFileStore) -> None:
    finish(store, files, "t1", NOW)
    clock = Clock(NOW + 7 * DAY)
    sweep = RetentionSweeper(store.retention, files, days=7, clock=clock)
    assert sweep.sweep_once() == []  # exactly seven days: kept
    clock.now += timedelta(seconds=1)
    assert sweep.sweep_once() == ["t1"]


def test_retention_sweeper_works_through_every_batch(store: MemoryStore, files: MemoryFileStore) -> None:
    for n in range(5):
        finish(store, files, f"t{n}", NOW - 30 * DAY + n * timedelta(minutes=10))
    assert sweeper(store, files, batch=2).sweep_once() == ["t0", "t1", "t2", "t3", "t4"]
    assert store.tasks.list_tasks("k1") == [] and files.objects == {}


class FailingFiles(MemoryFileStore):
    def delete_prefix(self, prefix: str) -> None:
        raise FileStoreError(f"cannot delete {prefix}: the bucket is unreachable")


def test_retention_sweeper_keeps_the_row_when_its_files_cannot_go(
    store: MemoryStore, caplog: pytest.LogCaptureFixture
) -> None:
    files = FailingFiles()
    finish(store, files, "t1", NOW - 8 * DAY)
    with caplog.at_level(logging.WARNING, logger="refgen"):
        assert sweeper(store, files).sweep_once() == []
    assert store.tasks.get_task("t1") is not None
    assert any("retention sweep stopped" in r.getMessage() for r in caplog.records)


class FlakyRetention:
    """The store's retention part, failing on the call numbered ``fail_on``."""

    def __init__(self, store: MemoryStore, fail_on: int) -> None:
        self.store, self.fail_on, self.calls = store, fail_on, 0

    def sweep_finished(
        self, finished_before: datetime, limit: int, discard_files: Callable[[Sequence[str]], None]
    ) -> list[str]:
        self.calls += 1
        if self.calls == self.fail_on:
            raise StoreError("database error: connection lost")
        return self.store.retention.sweep_finished(finished_before, limit, discard_files)


def test_retention_sweeper_store_error_ends_the_sweep_and_the_next_one_goes_on(
    store: MemoryStore, files: MemoryFileStore
) -> None:
    for n in range(3):
        finish(store, files, f"t{n}", NOW - 30 * DAY + n * timedelta(minutes=10))
    sweep = RetentionSweeper(FlakyRetention(store, fail_on=2), files, days=7, batch=1, clock=Clock(NOW))
    assert sweep.sweep_once() == ["t0"]
    assert sweep.sweep_once() == ["t1", "t2"]


def test_retention_sweeper_sweeps_as_soon_as_it_starts(store: MemoryStore, files: MemoryFileStore) -> None:
    finish(store, files, "t1", NOW - 8 * DAY)
    swept = threading.Event()

    class Observed(RetentionSweeper):
        def tick(self) -> None:
            super().tick()
            swept.set()

    loop = Observed(store.retention, files, days=7, interval=3600.0, clock=Clock(NOW))
    with loop:
        assert swept.wait(WAIT)  # long before the first interval
    assert store.tasks.get_task("t1") is None and files_of(files, "t1") == []


def test_retention_sweeper_refuses_zero_days(store: MemoryStore, files: MemoryFileStore) -> None:
    with pytest.raises(ValueError, match="at least one day"):
        sweeper(store, files, days=0)


def test_retention_setting_defaults_to_seven_days_and_refuses_negatives() -> None:
    assert Settings().retention_days == 7
    assert Settings(retention_days="0").retention_days == 0  # type: ignore[arg-type]
    for bad in ("-1", "1.5", "week"):
        with pytest.raises(ValidationError, match="retention_days"):
            Settings(retention_days=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(("days", "sweeps"), [(7, True), (0, False)])
def test_retention_runtime_sweeps_unless_kept_forever(tmp_path: Path, days: int, sweeps: bool) -> None:
    runtime = build_runtime(
        Settings(data_dir=tmp_path, retention_days=days),
        store=MemoryStore(),
        fetcher=FakeImageFetcher(),
        workers=ThreadWorkers([]),
    )
    assert (runtime.retention is not None) is sweeps
    assert (runtime.retention in runtime.services()) is sweeps
