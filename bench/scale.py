"""Scale-out benchmark: worker throughput against the ideal, and create-to-processing latency.

    .venv/bin/python bench/scale.py [--seconds 2] [--tasks-per-worker 4] [--database-url postgresql://…]

With a fixed-duration backend (``timed``: each task takes ``--seconds``), it measures

1. throughput with 1, 2, 4 and 8 worker processes on PostgreSQL, as a ratio to the ideal
   (workers × 1/duration); target ≥ 0.85 at 8 workers;
2. the latency from a task's creation to its ``processing`` state (median and p99), with idle
   workers, on SQLite (the embedded shape: the server wakes its own workers) and on PostgreSQL
   (workers on "other machines", woken by LISTEN/NOTIFY); target median ≤ 50 ms.

Without ``--database-url`` it starts a throw-away PostgreSQL (Debian's server binaries). Tasks are
created through the service layer (validation, file store, database, wake-up), as the API does.
The figures are printed, never asserted: machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import anyio
from PIL import Image

from refgen.domain import TaskKind, TaskState
from refgen.keys import create_key
from refgen.runtime import Runtime, build_runtime
from refgen.settings import Settings
from refgen.worker.groups import ProcessWorkers
from refgen.worker.process import worker_process_main


def reference() -> str:
    out = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 80, 40)).save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


BODY = {"model": "viduq1", "images": [reference()], "prompt": "benchmark", "aspect_ratio": "1:1"}


@contextlib.contextmanager
def postgres(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    from refgen.testing.postgres import PostgresUnavailable, throwaway_postgres

    try:
        with throwaway_postgres() as started:
            yield started
    except PostgresUnavailable as exc:
        raise SystemExit(f"scale benchmark: {exc}; or pass --database-url postgresql://…") from None


def fresh_database(admin_url: str) -> str:
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def settings_for(database_url: str | None, root: Path, seconds: float) -> Settings:
    return Settings(
        data_dir=root / "data",
        database_url=database_url,
        secret_key="bench-secret-" + "x" * 32,
        model_map={"viduq1": {"backend": "timed", "options": {"seconds": seconds}}},
        heartbeat_seconds=0.5,
    )


def submit(runtime: Runtime, token: str, count: int, spacing: float = 0.0) -> list[str]:
    key = runtime.authenticator.key_for(token)
    assert key is not None
    ids = []

    async def create() -> None:
        for _ in range(count):
            task, _ = await runtime.service.create(key, TaskKind.IMAGE, BODY)
            ids.append(task.id)
            if spacing:
                await anyio.sleep(spacing)

    anyio.run(create)
    return ids


def wait_done(runtime: Runtime, ids: list[str], timeout: float = 600) -> list[tuple[float, float, float]]:
    """(created, started, finished) unix times of each task once all finished."""
    deadline = time.monotonic() + timeout
    while True:
        tasks = [runtime.store.tasks.get_task(task_id) for task_id in ids]
        if all(t is not None and t.state in (TaskState.SUCCESS, TaskState.FAILED) for t in tasks):
            break
        if time.monotonic() > deadline:
            raise TimeoutError("tasks did not finish")
        time.sleep(0.1)
    out = []
    for task in tasks:
        assert task is not None and task.state is TaskState.SUCCESS, task
        assert task.started_at is not None and task.finished_at is not None
        out.append((task.created_at.timestamp(), task.started_at.timestamp(), task.finished_at.timestamp()))
    return out


def workers_for(settings: Settings, runtime: Runtime, count: int) -> ProcessWorkers:
    group = ProcessWorkers(
        count, worker_process_main, (settings.model_dump(),), runtime.store.queue, max_attempts=3
    )
    group.start()
    deadline = time.monotonic() + 60
    while group.alive() < count:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(2.0)  # let every worker finish importing and reach its idle wait
    return group


def throughput(admin_url: str, root: Path, seconds: float, per_worker: int) -> None:
    print(f"\nthroughput on PostgreSQL, {seconds:.2f} s per task, {per_worker} tasks per worker")
    columns = (
        ("workers", 8),
        ("tasks", 6),
        ("wall s", 8),
        ("tasks/s", 8),
        ("ideal", 8),
        ("ratio", 6),
        ("per task s", 11),
    )
    print(" ".join(f"{name:>{width}}" for name, width in columns))
    for count in (1, 2, 4, 8):
        settings = settings_for(fresh_database(admin_url), root / f"tp{count}", seconds)
        runtime = build_runtime(settings, process_workers=False)
        _, token = create_key(runtime.store.keys, runtime.cipher, "bench", concurrency=64)
        group = workers_for(settings, runtime, count)
        try:
            times = wait_done(runtime, submit(runtime, token, count * per_worker))
        finally:
            group.stop()
            runtime.stop()
        wall = max(f for _, _, f in times) - min(s for _, s, _ in times)
        rate = len(times) / wall
        ideal = count / seconds
        busy = statistics.mean(f - s for _, s, f in times)
        row = f"{count:>8} {len(times):>6} {wall:>8.2f} {rate:>8.2f} {ideal:>8.2f}"
        print(f"{row} {rate / ideal:>6.2f} {busy:>11.3f}")
    print("per task s: claim to finish; beyond the backend's fixed time it is the worker's own work")
    print("(writing the 1080x1080 PNG and its copy, recording completion)")


def latency(name: str, database_url: str | None, root: Path, embedded: bool) -> None:
    settings = settings_for(database_url, root, 0.02)
    runtime: Runtime
    if embedded:  # the server's own worker processes, woken directly
        runtime = build_runtime(settings.model_copy(update={"workers": 2}))
        runtime.start()
        group = None
        time.sleep(3.0)
    else:  # workers elsewhere: woken by LISTEN/NOTIFY
        runtime = build_runtime(settings, process_workers=False)
        group = workers_for(settings, runtime, 2)
    try:
        _, token = create_key(runtime.store.keys, runtime.cipher, "bench", concurrency=64)
        times = wait_done(runtime, submit(runtime, token, 60, spacing=0.1))
    finally:
        if group is not None:
            group.stop()
        runtime.stop()
    waits = sorted((s - c) * 1000 for c, s, _ in times)
    p99 = waits[min(len(waits) - 1, round(0.99 * (len(waits) - 1)))]
    print(f"{name:<34} median {statistics.median(waits):7.1f} ms   p99 {p99:7.1f} ms   (n={len(waits)})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=2.0, help="duration of each task")
    parser.add_argument("--tasks-per-worker", type=int, default=4)
    parser.add_argument("--database-url", help="an existing PostgreSQL (a database is created per run)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, postgres(args.database_url) as admin_url:
        root = Path(tmp)
        print("create-to-processing latency, idle workers, one task every 100 ms")
        latency("SQLite, embedded (direct wake-up)", None, root / "lat-sqlite", embedded=True)
        latency("PostgreSQL, workers via NOTIFY", fresh_database(admin_url), root / "lat-pg", embedded=False)
        throughput(admin_url, root, args.seconds, args.tasks_per_worker)


if __name__ == "__main__":
    main()
