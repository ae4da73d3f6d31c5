"""Concurrent duplicate creates through the app on a real database (SQLite, PostgreSQL): threads send
the same create with one ``Idempotency-Key`` at once; exactly one task is stored, every answer names
it, and the key is charged once when it succeeds."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from refgen.domain import ApiKey
from refgen.http.app import create_app
from refgen.keys import create_key
from refgen.resources import ServerStore, open_engine, open_files, open_store
from refgen.runtime import build_runtime
from refgen.settings import Settings
from refgen.testing.backends import FakeBackend, every_route
from refgen.worker.groups import ThreadWorkers
from refgen.worker.loop import Worker, WorkerTiming
from tests.images import data_url, picture
from tests.integration.scale.cluster import fresh_database

SENDERS = 8
VIDEO = {"model": "vidu2.0", "images": [data_url(picture())], "prompt": "a red balloon"}  # 2 credits
TIMING = WorkerTiming(lease_seconds=10, heartbeat_seconds=0.05, poll_seconds=0.02)


@dataclass
class App:
    client: TestClient
    store: ServerStore
    key: ApiKey
    token: str


@pytest.fixture(params=["sqlite", "postgres"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[App]:
    settings = Settings(data_dir=tmp_path / "data")
    if request.param == "postgres":
        url = fresh_database(request.getfixturevalue("postgres_url"))
        settings = settings.model_copy(update={"database_url": url})
    engine = open_engine(settings)
    store, files = open_store(settings, engine=engine), open_files(settings)
    workers = ThreadWorkers([Worker(store.queue, files, every_route(FakeBackend()), timing=TIMING)])
    runtime = build_runtime(settings, store=store, files=files, workers=workers)
    key, token = create_key(store.keys, runtime.cipher, "studio", credits=3)  # one task's worth
    try:
        with TestClient(create_app(runtime=runtime)) as client:
            yield App(client, store, key, token)
    finally:
        engine.dispose()


def test_idempotent_create_concurrent_duplicates_make_one_task_and_one_charge(app: App) -> None:
    start = threading.Barrier(SENDERS)
    headers = {"Authorization": f"Token {app.token}", "Idempotency-Key": "order-42"}

    def send(_: int) -> httpx.Response:
        start.wait(timeout=30)
        return app.client.post("/ent/v2/reference2video", json=VIDEO, headers=headers)

    with ThreadPoolExecutor(SENDERS) as pool:
        answers = list(pool.map(send, range(SENDERS)))

    assert [a.status_code for a in answers] == [200] * SENDERS, [a.json() for a in answers]
    assert len({a.json()["task_id"] for a in answers}) == 1
    (task_id,) = {a.json()["task_id"] for a in answers}
    assert [t.id for t in app.store.tasks.list_tasks(app.key.id)] == [task_id]

    deadline = time.monotonic() + 60
    while (task := app.store.tasks.get_task(task_id)) is None or task.state.value != "success":
        assert time.monotonic() < deadline, task
        time.sleep(0.05)
    key = app.store.keys.key_by_id(app.key.id)
    assert key is not None and key.credits == 1  # 3 - 2, charged once
    again = app.client.post("/ent/v2/reference2video", json=VIDEO, headers=headers)
    assert again.status_code == 200 and again.json() == answers[0].json()
