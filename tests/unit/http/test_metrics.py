"""``GET /metrics`` after real create → generate → callback flows (fake store and backends, thread
workers, a fake callback transport), parsed with Prometheus' own parser; its token; its absence
from the OpenAPI schema; and that no token reaches any log line on the way."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from refgen.callbacks.dispatcher import CallbackDispatcher
from refgen.callbacks.signing import SIGNATURE_HEADER
from refgen.contract.responses import generation_body
from refgen.domain import TaskKind
from refgen.errors import OutOfMemory
from refgen.files.local import LocalFileStore
from refgen.http.app import create_app
from refgen.keys import create_key
from refgen.logs import make_handler
from refgen.metrics import Metrics
from refgen.runtime import build_runtime
from refgen.settings import Settings
from refgen.store.base import DeliveryStatus
from refgen.testing.backends import FakeBackend, every_route
from refgen.testing.fetcher import FakeImageFetcher
from refgen.testing.store import MemoryStore
from refgen.worker.groups import ThreadWorkers
from refgen.worker.loop import Worker
from tests.conftest import FAST
from tests.images import data_url, picture

IMG = data_url(picture())
VIDEO = {"model": "vidu2.0", "images": [IMG, IMG], "prompt": "two friends by a lake"}
IMAGE = {"model": "viduq1", "images": [IMG], "prompt": "a portrait"}
HOOK = "https://hooks.example/refgen"
METRICS_TOKEN = "metrics-scrape-secret-0123"


@dataclass
class Hooks:
    """A callback transport that accepts every POST and remembers the headers it was sent."""

    headers: list[dict[str, str]] = field(default_factory=list)

    async def post(
        self,
        url: str,
        *,
        content: bytes,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> int:
        self.headers.append(dict(headers or {}))
        return 200

    async def aclose(self) -> None:
        pass


@dataclass
class Stack:
    client: TestClient
    store: MemoryStore
    token: str
    hooks: Hooks
    auth: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.auth = {"Authorization": f"Token {self.token}"}

    def scrape(self, headers: Mapping[str, str] | None = None) -> dict[str, list[Sample]]:
        response = self.client.get("/metrics", headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain")
        return {family.name: family.samples for family in text_string_to_metric_families(response.text)}

    def create(self, path: str, body: dict[str, Any]) -> str:
        response = self.client.post(path, json={**body, "callback_url": HOOK}, headers=self.auth)
        assert response.status_code == 200, response.json()
        task_id: str = response.json()["task_id"]
        return task_id

    def wait_until(self, done: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, f"still waiting for {what}"
            time.sleep(0.02)

    def finished(self, task_id: str) -> str:
        """Wait for the task to end and for its last callback to be delivered; its state."""
        state = ""

        def ended() -> bool:
            nonlocal state
            body = self.client.get(f"/ent/v2/tasks/{task_id}/creations", headers=self.auth).json()
            state = body["state"]
            return state in ("success", "failed")

        def called_back() -> bool:
            deliveries = self.store.outbox.list_deliveries(task_id)
            return any(d.state.value == state and d.status is DeliveryStatus.DELIVERED for d in deliveries)

        self.wait_until(ended, f"task {task_id} to end")
        self.wait_until(called_back, f"the {state} callback of {task_id}")
        return state


def make_stack(tmp_path: Path, **settings: Any) -> Iterator[Stack]:
    store = MemoryStore()
    files = LocalFileStore(tmp_path / "files")
    good, broken = FakeBackend("fake"), FakeBackend("broken", fail_with=OutOfMemory())
    backends = {
        route: broken if route[0] is TaskKind.IMAGE else good for route, _ in every_route(good).items()
    }
    metrics = Metrics()
    config = Settings(data_dir=tmp_path / "data", callback_retry_delays=[0.01], **settings)
    hooks = Hooks()
    runtime_holder: dict[str, Any] = {}

    def render(task: Any) -> Mapping[str, Any]:
        body: Mapping[str, Any] = generation_body(task, links=runtime_holder["links"])
        return body

    dispatcher = CallbackDispatcher(
        store,
        decrypt=lambda blob: runtime_holder["cipher"].decrypt(blob),
        render=render,
        transport=lambda: hooks,
        retry_delays=[0.01],
        poll_seconds=0.02,
        metrics=metrics.callbacks,
    )
    workers = ThreadWorkers([Worker(store.queue, files, backends, timing=FAST, metrics=metrics.tasks)])
    runtime = build_runtime(
        config,
        store=store,
        files=files,
        fetcher=FakeImageFetcher(),
        workers=workers,
        callbacks=dispatcher,
        speaks=lambda route: True,
        metrics=metrics,
    )
    runtime_holder.update(links=runtime.links, cipher=runtime.cipher)
    _, token = create_key(store.keys, runtime.cipher, "tester")
    with TestClient(create_app(runtime=runtime)) as client:
        yield Stack(client, store, token, hooks)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    yield from make_stack(tmp_path)


def value(samples: dict[str, list[Sample]], family: str, name: str, **labels: str) -> float:
    found = [s.value for s in samples[family] if s.name == name and s.labels == labels]
    assert len(found) == 1, f"{name}{labels}: {found} in {samples[family]}"
    return found[0]


def test_metrics_after_a_real_flow_report_runs_outcomes_callbacks_queue_and_latency(stack: Stack) -> None:
    before = stack.scrape()
    assert value(before, "refgen_workers_alive", "refgen_workers_alive") == 1
    waiting = {"state": "created", "endpoint": "reference2video", "model": "vidu2.0"}
    assert value(before, "refgen_queue_tasks", "refgen_queue_tasks", **waiting) == 0
    attempts = "refgen_callback_attempts"
    assert value(before, attempts, f"{attempts}_total", result="delivered") == 0

    video = stack.create("/ent/v2/reference2video", VIDEO)
    image = stack.create("/ent/v2/reference2image", IMAGE)
    assert stack.finished(video) == "success"
    assert stack.finished(image) == "failed"
    after = stack.scrape()

    ok = {"endpoint": "reference2video", "model": "vidu2.0", "backend": "fake", "state": "success"}
    oom = {"endpoint": "reference2image", "model": "viduq1", "backend": "broken", "state": "failed"}
    outcomes = "refgen_task_outcomes"
    assert value(after, outcomes, "refgen_task_outcomes_total", **ok, err_code="") == 1
    assert value(after, outcomes, "refgen_task_outcomes_total", **oom, err_code="OutOfMemory") == 1
    durations = "refgen_task_duration_seconds"
    assert value(after, durations, "refgen_task_duration_seconds_count", **ok) == 1
    assert value(after, durations, "refgen_task_duration_seconds_bucket", **ok, le="+Inf") == 1
    assert 0 <= value(after, durations, "refgen_task_duration_seconds_sum", **ok) < 30
    # processing + success for the video, processing + failed for the image: all delivered at once
    assert value(after, attempts, f"{attempts}_total", result="delivered") == 4
    assert value(after, attempts, f"{attempts}_total", result="retry") == 0
    for state in ("created", "queueing", "processing"):
        assert value(after, "refgen_queue_tasks", "refgen_queue_tasks", **{**waiting, "state": state}) == 0

    latency = "refgen_http_request_duration_seconds"
    polled = {"method": "GET", "route": "/ent/v2/tasks/{task_id}/creations", "status": "200"}
    polls = value(after, latency, f"{latency}_count", **polled)
    assert polls >= 2 and value(after, latency, f"{latency}_bucket", **polled, le="+Inf") == polls
    created = {"method": "POST", "route": "/ent/v2/reference2video", "status": "200"}
    assert value(after, latency, f"{latency}_count", **created) == 1
    assert value(after, latency, f"{latency}_count", method="GET", route="/metrics", status="200") == 1
    # the route template only: never a task id
    assert not any(video in str(s.labels) or image in str(s.labels) for s in after[latency])


def test_metrics_queue_counts_waiting_tasks_by_state_and_model(tmp_path: Path) -> None:
    for stack in make_stack(tmp_path):
        stack.client.app.state.runtime.workers.stop()  # type: ignore[attr-defined]  # nobody takes them
        for _ in range(3):
            stack.create("/ent/v2/reference2video", VIDEO)
        samples = stack.scrape()
        labels = {"endpoint": "reference2video", "model": "vidu2.0"}
        waiting = sum(
            value(samples, "refgen_queue_tasks", "refgen_queue_tasks", state=state, **labels)
            for state in ("created", "queueing")
        )
        assert waiting == 3
        assert value(samples, "refgen_queue_tasks", "refgen_queue_tasks", state="processing", **labels) == 0
        assert value(samples, "refgen_workers_alive", "refgen_workers_alive") == 0


def test_metrics_unmatched_paths_share_one_label(stack: Stack) -> None:
    for i in range(5):
        assert stack.client.get(f"/no/such/path/{i}").status_code == 404
    samples = stack.scrape()
    latency = "refgen_http_request_duration_seconds"
    assert value(samples, latency, f"{latency}_count", method="GET", route="unmatched", status="404") == 5
    assert not any("/no/such" in str(s.labels) for s in samples[latency])


def test_metrics_open_without_a_token(stack: Stack) -> None:
    assert "refgen_queue_tasks" in stack.scrape()


def test_metrics_token_required_when_set(tmp_path: Path) -> None:
    for stack in make_stack(tmp_path, metrics_token=METRICS_TOKEN):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Token {METRICS_TOKEN}"}):
            refused = stack.client.get("/metrics", headers=headers)
            assert refused.status_code == 401
            body = refused.json()
            assert body["reason"] == "Unauthorized" and body["code"] == 401
            assert body["metadata"]["trace_id"] == refused.headers["X-Trace-Id"]
        # an API key is not a metrics token
        assert stack.client.get("/metrics", headers=stack.auth).status_code == 401
        assert "refgen_queue_tasks" in stack.scrape({"Authorization": f"Bearer {METRICS_TOKEN}"})


def test_metrics_not_in_the_openapi_schema(stack: Stack) -> None:
    schema = stack.client.get("/openapi.json").json()
    assert "/metrics" not in schema["paths"]


def test_metrics_flow_writes_no_token_in_any_log_line(tmp_path: Path) -> None:
    stream = io.StringIO()
    handler = make_handler("json", stream=stream)
    root = logging.getLogger()
    saved_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        for stack in make_stack(tmp_path, metrics_token=METRICS_TOKEN):
            task = stack.create("/ent/v2/reference2video", VIDEO)
            assert stack.finished(task) == "success"
            failed = stack.create("/ent/v2/reference2image", IMAGE)
            assert stack.finished(failed) == "failed"
            assert stack.client.get("/ent/v2/tasks/nosuch/creations", headers=stack.auth).status_code == 404
            stack.scrape({"Authorization": f"Bearer {METRICS_TOKEN}"})
            # the callbacks were signed with the key's token: the flow did handle it
            assert len(stack.hooks.headers) == 4 and all(SIGNATURE_HEADER in h for h in stack.hooks.headers)
            # a careless line anywhere, with a header dict or an exception carrying headers
            logging.getLogger("refgen.http").info("request headers %s", stack.auth)
            try:
                raise RuntimeError(f"failed with {stack.auth}")
            except RuntimeError:
                logging.getLogger("refgen.worker").exception("unexpected")
            token = stack.token
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert any("delivered" in r["message"] for r in records)  # the flow's own lines were captured
    assert any(r["message"] == "request headers {'Authorization': 'Token [redacted]'}" for r in records)
    assert token not in stream.getvalue() and METRICS_TOKEN not in stream.getvalue()
