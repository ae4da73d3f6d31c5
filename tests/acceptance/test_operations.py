"""``refgen serve`` as operators run it: JSON log lines, ``/metrics`` adding up what its worker
processes counted (prometheus-client's multiprocess mode), the token kept out of the log, and a
data folder only its owner can read."""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.acceptance.conftest import RunningServer
from tests.acceptance.test_embedded_server import data_url, pngs, wait

pytestmark = pytest.mark.slow

METRICS_TOKEN = "scrape-me-0123456789"


@pytest.fixture
def json_server(refgen_server: RunningServer) -> Iterator[RunningServer]:
    """The server restarted with JSON logs, a metrics token and two worker processes; its log
    then holds only what the restarted server wrote."""
    refgen_server.stop()
    refgen_server.log.write_bytes(b"")
    refgen_server.env.update(REFGEN_LOG_FORMAT="json", REFGEN_METRICS_TOKEN=METRICS_TOKEN)
    refgen_server.extra_args = ["--workers", "2"]
    refgen_server.start()
    yield refgen_server


def scrape(server: RunningServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(
        f"{server.base_url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def test_operations_serve_metrics_count_the_worker_processes_runs(json_server: RunningServer) -> None:
    assert httpx.get(f"{json_server.base_url}/metrics", timeout=10).status_code == 401
    body = {"model": "viduq2", "images": [data_url(pngs()[0])], "prompt": "a portrait", "aspect_ratio": "1:1"}
    with json_server.client() as client:
        ids = [client.post("/ent/v2/reference2image", json=body).json()["task_id"] for _ in range(3)]
        assert all(wait(client, task_id)["state"] == "success" for task_id in ids)
    success = (
        ("backend", "compositor"),
        ("endpoint", "reference2image"),
        ("err_code", ""),
        ("model", "viduq2"),
        ("state", "success"),
    )
    samples = scrape(json_server)
    assert samples[("refgen_task_outcomes_total", success)] == 3
    duration = tuple(p for p in success if p[0] != "err_code")
    assert samples[("refgen_task_duration_seconds_count", duration)] == 3
    assert samples[("refgen_task_duration_seconds_sum", duration)] > 0
    assert samples[("refgen_workers_alive", ())] == 2
    queued = (("endpoint", "reference2image"), ("model", "viduq2"), ("state", "processing"))
    assert samples[("refgen_queue_tasks", queued)] == 0


def test_operations_serve_logs_json_lines_without_the_token(json_server: RunningServer) -> None:
    body = {"model": "viduq2", "images": [data_url(pngs()[1])], "prompt": "a portrait", "aspect_ratio": "1:1"}
    with json_server.client() as client:
        task_id = client.post("/ent/v2/reference2image", json=body).json()["task_id"]
        assert wait(client, task_id)["state"] == "success"
    deadline = time.monotonic() + 30
    while "GET /ent/v2/tasks/" not in json_server.log.read_text():  # the access log line is written
        assert time.monotonic() < deadline
        time.sleep(0.1)
    text = json_server.log.read_text()
    assert json_server.token not in text and METRICS_TOKEN not in text
    entries: list[dict[str, Any]] = [json.loads(line) for line in text.splitlines()]
    assert entries and all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    access = [e for e in entries if e["logger"] == "refgen.access"]
    assert access and all(len(e["trace_id"]) == 32 and e["message"].endswith(e["trace_id"]) for e in access)
    assert any(e["logger"] == "refgen" and e["message"].startswith("refgen ") for e in entries)  # banner


def test_operations_data_folder_is_owner_only(refgen_server: RunningServer) -> None:
    data = refgen_server.data_dir
    assert stat.S_IMODE(os.stat(data).st_mode) == 0o700
    for name in ("refgen.db", "secret.key"):
        assert stat.S_IMODE(os.stat(data / name).st_mode) == 0o600, name
    assert stat.S_IMODE(os.stat(data / "metrics").st_mode) == 0o700
