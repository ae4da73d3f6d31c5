"""Callbacks end to end: a real app (uvicorn, SQLite file) sends to a real receiver on loopback.

Every request the receiver gets is checked by an independent implementation of the spec's signing
algorithm (``receiver.py``, written from the spec alone).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine

from refgen.files.local import LocalFileStore
from refgen.http.app import create_app
from refgen.keys import create_key
from refgen.resources import open_engine, open_store
from refgen.runtime import build_runtime
from refgen.settings import Settings
from refgen.store.base import DeliveryStatus
from refgen.testing.backends import FakeBackend, every_route
from refgen.worker.groups import ThreadWorkers
from refgen.worker.loop import Worker, WorkerTiming
from tests.images import data_url, picture
from tests.integration.callbacks.receiver import Received, Receiver, assert_authentic, free_port

MODELS = ("viduq2", "viduq1", "vidu2.0", "vidu1.5")


# --- the server -----------------------------------------------------------------------------------


@dataclass
class App:
    """refgen on a temp SQLite file with fast fake generation; can be stopped and started again."""

    data_dir: Path
    retry_delays: list[float]
    port: int = field(default_factory=free_port)
    token: str = ""
    engine: Engine | None = None
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None

    def start(self) -> None:
        settings = Settings(
            data_dir=self.data_dir,
            port=self.port,
            allow_networks=["127.0.0.0/8"],  # type: ignore[list-item]
            callback_retry_delays=self.retry_delays,
        )
        self.engine = open_engine(settings)
        store = open_store(settings, engine=self.engine)
        files = LocalFileStore(settings.files_dir)
        timing = WorkerTiming(lease_seconds=10, heartbeat_seconds=0.05, poll_seconds=0.05)
        workers = ThreadWorkers(
            [Worker(store.queue, files, every_route(FakeBackend(), MODELS), timing=timing)]
        )
        runtime = build_runtime(settings, store=store, files=files, workers=workers)
        if not self.token:
            _, self.token = create_key(store.keys, runtime.cipher, "receiver-owner")
        self.server = uvicorn.Server(
            uvicorn.Config(create_app(runtime=runtime), host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive()
            time.sleep(0.05)

    def stop(self) -> None:
        if self.server is not None and self.thread is not None and self.engine is not None:
            self.server.should_exit = True
            self.thread.join(20)
            self.engine.dispose()
            self.server = self.thread = self.engine = None

    def create(self, callback_url: str) -> str:
        body = {
            "model": "viduq2",
            "images": [data_url(picture(256, 256))],
            "prompt": "a ball",
            "callback_url": callback_url,
            "payload": "my-payload",
        }
        with httpx.Client(timeout=30) as client:
            response = client.post(
                f"http://127.0.0.1:{self.port}/ent/v2/reference2image",
                json=body,
                headers={"Authorization": f"Token {self.token}"},
            )
        assert response.status_code == 200, response.text
        task_id: str = response.json()["task_id"]
        return task_id

    def deliveries(self, task_id: str) -> list[Any]:
        settings = Settings(data_dir=self.data_dir)
        engine = open_engine(settings, migrate=False)
        try:
            return list(open_store(settings, engine=engine).outbox.list_deliveries(task_id))
        finally:
            engine.dispose()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    app = App(tmp_path / "data", retry_delays=[0.1, 0.2, 0.3])
    yield app
    app.stop()


def states(received: list[Received]) -> list[str]:
    return [r.body["state"] for r in received]


# --- the tests ------------------------------------------------------------------------------------


def test_callbacks_processing_then_success_signed(app: App, receiver: Receiver) -> None:
    receiver.start()
    app.start()
    url = receiver.url()
    task_id = app.create(url)
    got = receiver.wait_for(lambda r: len(r) >= 2)
    assert states(got) == ["processing", "success"]
    for request in got:
        assert request.target == "/hooks/vidu?z=1&a=2"  # as registered: not sorted, not re-encoded
        assert_authentic(request, app.token)
        assert request.body["id"] == task_id and request.body["payload"] == "my-payload"
    processing, success = (r.body for r in got)
    assert processing["creations"] == [] and processing["err_code"] == ""
    assert success["progress"] == 100 and len(success["creations"]) == 1
    assert success["creations"][0]["url"].startswith(f"http://127.0.0.1:{app.port}/files/")
    assert got[0].headers["x-request-nonce"] != got[1].headers["x-request-nonce"]
    time.sleep(0.3)
    assert len(receiver.received) == 2  # delivered: not sent again
    deliveries = app.deliveries(task_id)
    assert [(d.state.value, d.status, d.attempts) for d in deliveries] == [
        ("processing", DeliveryStatus.DELIVERED, 1),
        ("success", DeliveryStatus.DELIVERED, 1),
    ]


def test_callbacks_success_retried_after_two_500s(app: App, receiver: Receiver) -> None:
    receiver.answers = [200, 500, 500]  # processing gets 200; success gets 500, 500, then 200
    receiver.start()
    app.start()
    task_id = app.create(receiver.url())
    got = receiver.wait_for(lambda r: len(r) >= 4)
    assert states(got) == ["processing", "success", "success", "success"]
    for request in got:
        assert_authentic(request, app.token)
    nonces = [r.headers["x-request-nonce"] for r in got]
    assert len(set(nonces)) == 4  # a fresh nonce each try
    gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(got[1:])]
    assert gaps[0] >= 0.09 and gaps[1] >= 0.19  # the schedule from settings: 0.1 s, then 0.2 s
    time.sleep(0.5)
    assert len(receiver.received) == 4
    success = app.deliveries(task_id)[-1]
    assert (success.status, success.attempts) == (DeliveryStatus.DELIVERED, 3)
    assert [a.status_code for a in success.history] == [500, 500, 200]


def test_callbacks_processing_is_not_retried(app: App, receiver: Receiver) -> None:
    receiver.answers = [500]
    receiver.start()
    app.start()
    task_id = app.create(receiver.url())
    got = receiver.wait_for(lambda r: len(r) >= 2)
    time.sleep(0.5)
    assert states(receiver.received) == ["processing", "success"]
    assert [(d.status, d.attempts) for d in app.deliveries(task_id)] == [
        (DeliveryStatus.FAILED, 1),
        (DeliveryStatus.DELIVERED, 1),
    ]
    assert got[0].headers["x-hmac-signature"] != got[1].headers["x-hmac-signature"]


def test_callbacks_survive_a_restart_while_the_receiver_is_down(tmp_path: Path, receiver: Receiver) -> None:
    app = App(tmp_path / "data", retry_delays=[0.5, 0.5, 60])
    try:
        app.start()
        task_id = app.create(receiver.url())  # nobody listens there yet

        def success_tried() -> bool:
            deliveries = app.deliveries(task_id)
            return len(deliveries) == 2 and deliveries[1].attempts >= 1

        deadline = time.monotonic() + 20
        while not success_tried():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        app.stop()
        success = app.deliveries(task_id)[1]
        assert success.status is DeliveryStatus.PENDING and success.last_error
        receiver.start()
        app.start()  # a new runtime on the same database
        got = receiver.wait_for(lambda r: any(x.body["state"] == "success" for x in r))
        assert states(got) == ["success"]  # processing was tried once, while the receiver was down
        assert_authentic(got[0], app.token)
        assert got[0].body["id"] == task_id
        done = app.deliveries(task_id)[1]
        assert done.status is DeliveryStatus.DELIVERED
        assert done.history[-1].status_code == 200
        assert all(a.error for a in done.history[:-1])
    finally:
        app.stop()
