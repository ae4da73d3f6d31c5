"""The ``/metrics`` server of ``refgen worker --metrics-port``: its registry, behind the token."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from refgen.domain import TaskKind
from refgen.err_codes import ErrCode
from refgen.metrics.exposition import MetricsServer, authorized
from refgen.metrics.families import TaskMetrics

TOKEN = "worker-scrape-token"


@pytest.fixture
def served() -> Iterator[tuple[MetricsServer, TaskMetrics]]:
    registry = CollectorRegistry()
    metrics = TaskMetrics(registry)
    server = MetricsServer(registry, "127.0.0.1", 0, TOKEN)
    server.start()
    yield server, metrics
    server.stop()


def test_worker_metrics_server_serves_the_runs_behind_the_token(
    served: tuple[MetricsServer, TaskMetrics],
) -> None:
    server, metrics = served
    metrics.ended(TaskKind.VIDEO, "viduq1", "wan-vace", None, 42.0)
    metrics.ended(TaskKind.VIDEO, "viduq1", "wan-vace", ErrCode.OUT_OF_MEMORY, 3.0)
    url = f"http://127.0.0.1:{server.port}/metrics"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401
    response = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    samples = {
        (s.name, s.labels.get("state"), s.labels.get("err_code")): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    assert samples[("refgen_task_outcomes_total", "success", "")] == 1
    assert samples[("refgen_task_outcomes_total", "failed", "OutOfMemory")] == 1
    assert samples[("refgen_task_duration_seconds_sum", "success", None)] == 42.0
    assert httpx.get(f"http://127.0.0.1:{server.port}/other").status_code == 404


def test_worker_metrics_authorized_checks_scheme_and_value() -> None:
    assert authorized(None, None) and authorized("anything", None)
    assert authorized(f"Bearer {TOKEN}", TOKEN) and authorized(f"bearer {TOKEN}", TOKEN)
    assert not authorized(None, TOKEN)
    assert not authorized(f"Token {TOKEN}", TOKEN)
    assert not authorized(f"Bearer {TOKEN}x", TOKEN)
