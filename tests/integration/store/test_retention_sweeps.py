"""Retention on real databases and real file stores: SQLite and PostgreSQL, a folder on disk and an
S3-compatible server; and two sweeper PROCESSES at once on one database and one folder."""

from __future__ import annotations

import multiprocessing
import uuid
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from refgen.domain import Creation, TaskState
from refgen.err_codes import ErrCode
from refgen.files.base import FileStore
from refgen.files.local import LocalFileStore
from refgen.retention import RetentionSweeper
from refgen.store.engine import make_engine
from refgen.store.sql import SqlStore
from refgen.testing.store import make_api_key, make_task

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=30)
HOOK = "https://hooks.example/cb"
SWEEPERS = 2


@pytest.fixture(params=["local", "s3"])
def files(request: pytest.FixtureRequest, tmp_path: Path) -> FileStore:
    if request.param == "local":
        return LocalFileStore(tmp_path / "files")
    from refgen.files.s3 import S3FileStore

    bucket = f"refgen-{uuid.uuid4().hex[:12]}"
    store = S3FileStore(
        bucket, "deploy/", endpoint_url=request.getfixturevalue("s3_endpoint"), region="us-east-1"
    )
    store._client.create_bucket(Bucket=bucket)
    return store


def stored_keys(files: FileStore) -> list[str]:
    """Every key in the file store, sorted."""
    if isinstance(files, LocalFileStore):
        return sorted(str(p.relative_to(files.root)) for p in files.root.rglob("*") if p.is_file())
    from refgen.files.s3 import S3FileStore

    assert isinstance(files, S3FileStore)
    pages = files._client.get_paginator("list_objects_v2").paginate(Bucket=files.bucket, Prefix=files.prefix)
    return sorted(
        item["Key"].removeprefix(files.prefix) for page in pages for item in page.get("Contents", [])
    )


def put(files: FileStore, *keys: str) -> None:
    for key in keys:
        files.put_bytes(key, b"bytes of " + key.encode(), "application/octet-stream")


def succeed(store: SqlStore, files: FileStore, task_id: str, ended: datetime, **kwargs: Any) -> None:
    """A task that succeeded at ``ended`` with a reference and one attempt's output on the file store."""
    store.tasks.insert_task(make_task(task_id, "k1", created_at=ended - timedelta(minutes=5), **kwargs))
    put(files, f"tasks/{task_id}/refs/0.png")
    task = store.queue.claim("w", None, 30, ended - timedelta(minutes=2))
    assert task is not None and task.id == task_id
    out = f"tasks/{task_id}/out{task.attempts}/"
    put(files, out + "video.mp4", out + "cover.jpg")
    creation = Creation("c-" + task_id, out + "video.mp4", out + "cover.jpg", None, 640, 360, 4.0, 24)
    assert store.queue.complete(task_id, "w", [creation], ended)


def test_retention_sweep_on_real_stores(engine: Engine, files: FileStore) -> None:
    store = SqlStore(engine)
    store.keys.add_key(make_api_key("k", key_id="k1", concurrency=10, credits=1000))
    # success, with a callback delivered, and the output of an attempt whose worker died first
    store.tasks.insert_task(make_task("retried", "k1", created_at=OLD, callback_url=HOOK))
    put(files, "tasks/retried/refs/0.png")
    assert store.queue.claim("dead", None, 30, OLD) is not None
    put(files, "tasks/retried/out1/video.mp4")
    assert store.queue.release_worker("dead", OLD + timedelta(minutes=1)) == ["retried"]
    assert store.queue.claim("w", None, 30, OLD + timedelta(minutes=2)) is not None
    put(files, "tasks/retried/out2/video.mp4")
    assert store.queue.complete("retried", "w", [], OLD + timedelta(minutes=3))
    for delivery in store.outbox.list_deliveries("retried"):
        store.outbox.record_attempt(
            delivery.id,
            OLD + timedelta(minutes=4),
            status_code=204,
            error=None,
            delivered=True,
            next_attempt_at=None,
        )
    # failed by the reaper after its only attempt: its worker's files stay behind until the sweep
    store.tasks.insert_task(make_task("reaped", "k1", created_at=OLD + timedelta(minutes=5)))
    put(files, "tasks/reaped/refs/0.png")
    assert store.queue.claim("gone", None, 30, OLD + timedelta(minutes=5)) is not None
    put(files, "tasks/reaped/out1/video.mp4")
    assert store.queue.reap(OLD + timedelta(minutes=10), 1, 3600) == ["reaped"]
    # cancelled while waiting
    store.tasks.insert_task(make_task("cancelled", "k1", created_at=OLD + timedelta(minutes=11)))
    put(files, "tasks/cancelled/refs/0.png")
    store.tasks.request_cancel("cancelled", OLD + timedelta(minutes=12))
    # kept: finished within the retention; still processing; still waiting
    succeed(store, files, "young", NOW - timedelta(days=6))
    store.tasks.insert_task(make_task("running", "k1", created_at=OLD - timedelta(days=1)))
    assert store.queue.claim("w", None, 30, NOW) is not None
    put(files, "tasks/running/refs/0.png")
    store.tasks.insert_task(make_task("waiting", "k1", created_at=OLD))
    put(files, "tasks/waiting/refs/0.png")
    usage = store.tasks.key_usage("k1")

    removed = RetentionSweeper(store.retention, files, days=7, batch=2, clock=lambda: NOW).sweep_once()

    assert removed == ["retried", "reaped", "cancelled"]
    assert [store.tasks.get_task(t) for t in removed] == [None, None, None]
    assert store.outbox.list_deliveries("retried") == []
    assert stored_keys(files) == [
        "tasks/running/refs/0.png",
        "tasks/waiting/refs/0.png",
        "tasks/young/out1/cover.jpg",
        "tasks/young/out1/video.mp4",
        "tasks/young/refs/0.png",
    ]
    remaining = {t.id: t.state for t in store.tasks.list_tasks("k1")}
    assert remaining == {
        "young": TaskState.SUCCESS,
        "running": TaskState.PROCESSING,
        "waiting": TaskState.CREATED,
    }
    assert store.tasks.key_usage("k1") == usage  # what the key was charged is unchanged
    assert store.retention.sweep_finished(NOW - timedelta(days=7), 10, lambda ids: None) == []


def _sweep(url: str, folder: str, barrier: Any) -> list[str]:
    engine = make_engine(url)
    try:
        sweeper = RetentionSweeper(
            SqlStore(engine).retention, LocalFileStore(Path(folder)), days=7, batch=7, clock=lambda: NOW
        )
        barrier.wait(timeout=60)
        return sweeper.sweep_once()
    finally:
        engine.dispose()


def test_retention_two_sweeper_processes_remove_each_task_once(
    url: str, engine: Engine, tmp_path: Path
) -> None:
    store, files = SqlStore(engine), LocalFileStore(tmp_path / "files")
    store.keys.add_key(make_api_key("k", key_id="k1", concurrency=10))
    old = [f"t{n:03d}" for n in range(60)]
    for n, task_id in enumerate(old):
        succeed(store, files, task_id, OLD + timedelta(minutes=n))
    store.tasks.insert_task(make_task("failing", "k1", created_at=OLD))
    assert store.queue.claim("w", None, 30, OLD) is not None
    assert store.queue.fail("failing", "w", ErrCode.INTERNAL_SERVICE_FAILURE, OLD + timedelta(hours=2))
    succeed(store, files, "young", NOW - timedelta(days=1))

    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(SWEEPERS, mp_context=context) as pool:
        barrier = manager.Barrier(SWEEPERS)
        results = list(pool.map(_sweep, [url] * SWEEPERS, [str(files.root)] * SWEEPERS, [barrier] * SWEEPERS))

    every = [task_id for result in results for task_id in result]
    assert Counter(every) == Counter([*old, "failing"])  # each removed, by exactly one sweeper
    assert [t.id for t in store.tasks.list_tasks("k1")] == ["young"]
    assert stored_keys(files) == [
        "tasks/young/out1/cover.jpg",
        "tasks/young/out1/video.mp4",
        "tasks/young/refs/0.png",
    ]
