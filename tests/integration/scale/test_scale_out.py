"""Scaled out on real PostgreSQL and S3: several API and worker processes, hundreds of tasks."""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.images import picture
from tests.integration.scale.cluster import Cluster

pytestmark = pytest.mark.slow

IMG = "data:image/png;base64," + base64.b64encode(picture(256, 256)).decode()


def submit(base: str, token: str, body: dict[str, Any]) -> str:
    response = httpx.post(
        f"{base}/ent/v2/reference2image", json=body, headers={"Authorization": f"Token {token}"}, timeout=30
    )
    assert response.status_code == 200, response.text
    task_id: str = response.json()["task_id"]
    return task_id


def state(base: str, token: str, task_id: str) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(
        f"{base}/ent/v2/tasks/{task_id}/creations", headers={"Authorization": f"Token {token}"}, timeout=30
    ).json()
    return body


def wait_all(base: str, tasks: list[tuple[str, str]], timeout: float) -> dict[str, dict[str, Any]]:
    pending = dict(tasks)
    done: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while pending:
        assert time.monotonic() < deadline, f"{len(pending)} tasks unfinished"
        for task_id, token in list(pending.items()):
            body = state(base, token, task_id)
            if body["state"] in ("success", "failed"):
                done[task_id] = body
                del pending[task_id]
        time.sleep(0.3)
    return done


@pytest.fixture
def cluster_factory(tmp_path: Path, postgres_url: str, s3_endpoint: str) -> Iterator[Any]:
    made: list[Cluster] = []

    def make(seconds: float, **extra: str) -> Cluster:
        record = tmp_path / "generations.log"
        cluster = Cluster.create(
            tmp_path,
            postgres_url,
            s3_endpoint,
            {"viduq1": {"backend": "timed", "options": {"seconds": seconds, "record": str(record)}}},
            **extra,
        )
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.stop()


def generations(cluster: Cluster) -> Counter[str]:
    return Counter(line.split()[0] for line in (cluster.root / "generations.log").read_text().splitlines())


def test_scale_out_hundreds_of_tasks_each_processed_once(cluster_factory: Any) -> None:
    cluster: Cluster = cluster_factory(0.05)
    tokens = [cluster.new_key(f"k{i}") for i in range(3)]
    apis = [cluster.start_api(), cluster.start_api()]
    for _ in range(3):
        cluster.start_worker()
    deadline = time.monotonic() + 60
    while (ready := httpx.get(f"{apis[1]}/readyz", timeout=5)).status_code != 200 or ready.json()[
        "workers"
    ] < 3:
        assert time.monotonic() < deadline, ready.text
        time.sleep(0.2)
    listed = json.loads(cluster.cli("workers", "--json"))
    assert [w["status"] for w in listed] == ["alive"] * 3
    jobs = [(apis[i % 2], tokens[i % 3]) for i in range(200)]
    with ThreadPoolExecutor(8) as pool:
        ids = list(
            pool.map(
                lambda job: submit(
                    job[0], job[1], {"model": "viduq1", "images": [IMG], "prompt": "p", "aspect_ratio": "1:1"}
                ),
                jobs,
            )
        )
    done = wait_all(apis[0], [(task_id, token) for task_id, (_, token) in zip(ids, jobs, strict=True)], 300)
    assert Counter(body["state"] for body in done.values()) == {"success": 200}
    counts = generations(cluster)
    assert set(counts) == set(ids) and max(counts.values()) == 1, "a task was generated twice"
    for body in list(done.values())[:3]:
        url = body["creations"][0]["url"]
        assert "X-Amz-Signature" in url
        image = Image.open(io.BytesIO(httpx.get(url, timeout=30).content))
        assert image.size == (1080, 1080)


def test_scale_out_killed_worker_task_completes_elsewhere(cluster_factory: Any) -> None:
    cluster: Cluster = cluster_factory(4.0, REFGEN_LEASE_SECONDS="2", REFGEN_HEARTBEAT_SECONDS="0.2")
    token = cluster.new_key("k")
    api = cluster.start_api()
    first, second = cluster.start_worker(), cluster.start_worker()
    task_id = submit(api, token, {"model": "viduq1", "images": [IMG], "prompt": "p"})
    deadline = time.monotonic() + 30
    while not (cluster.root / "generations.log").exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    _, pid = (cluster.root / "generations.log").read_text().split()
    victim = first if int(pid) == first.pid else second
    os.kill(victim.pid, signal.SIGKILL)
    body = wait_all(api, [(task_id, token)], 60)[task_id]
    assert body["state"] == "success", body
    assert generations(cluster)[task_id] == 2


def test_scale_out_cancel_reaches_a_worker_through_another_api(cluster_factory: Any) -> None:
    cluster: Cluster = cluster_factory(30.0)
    token = cluster.new_key("k")
    api_a, api_b = cluster.start_api(), cluster.start_api()
    cluster.start_worker()
    task_id = submit(api_a, token, {"model": "viduq1", "images": [IMG], "prompt": "p"})
    deadline = time.monotonic() + 30
    while state(api_b, token, task_id)["state"] != "processing":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    started = time.monotonic()
    assert (
        httpx.post(
            f"{api_b}/ent/v2/tasks/{task_id}/cancel", headers={"Authorization": f"Token {token}"}
        ).status_code
        == 200
    )
    while (body := state(api_a, token, task_id))["state"] != "failed":
        assert time.monotonic() - started < 10
        time.sleep(0.05)
    assert body["err_code"] == "UserCancelled"
    assert time.monotonic() - started < 1.5, "the worker took more than a second to stop"


def test_scale_out_refuses_single_machine_configuration(tmp_path: Path) -> None:
    import subprocess

    from tests.integration.scale.cluster import REFGEN

    env = {**os.environ, "REFGEN_DATA_DIR": str(tmp_path)}
    for args in (["serve", "--no-worker"], ["worker"]):
        result = subprocess.run([REFGEN, *args], env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 2
        assert "REFGEN_DATABASE_URL=postgresql://" in result.stderr and "s3://" in result.stderr


def test_scale_out_sigterm_finishes_or_hands_back(cluster_factory: Any) -> None:
    """SIGTERM: a task longer than the grace period is handed back, and another worker completes it."""
    cluster: Cluster = cluster_factory(3.0, REFGEN_SHUTDOWN_GRACE_SECONDS="1")
    token = cluster.new_key("k")
    api = cluster.start_api()
    first = cluster.start_worker()
    task_id = submit(api, token, {"model": "viduq1", "images": [IMG], "prompt": "p"})
    deadline = time.monotonic() + 30
    while state(api, token, task_id)["state"] != "processing":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    first.send_signal(signal.SIGTERM)
    assert first.wait(20) == 0
    assert state(api, token, task_id)["state"] == "queueing", "the task was not handed back"
    cluster.start_worker()
    body = wait_all(api, [(task_id, token)], 60)[task_id]
    assert body["state"] == "success"
    assert generations(cluster)[task_id] == 2
