"""A create past the queue limits: 429 in the error format with ``Retry-After``, and nothing stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from refgen.http.errors import RETRY_AFTER_SECONDS
from tests.conftest import Server, make_server
from tests.images import data_url, picture

VIDEO = {"model": "vidu2.0", "images": [data_url(picture())], "prompt": "a red balloon"}  # 2 credits


@pytest.fixture
def tight_server(tmp_path: Path) -> Iterator[Server]:
    """No workers (tasks stay waiting); two may wait per key, three in all."""
    yield from make_server(tmp_path, workers=0, max_queued_tasks=3, max_queued_per_key=2)


def post(server: Server, token: str, body: dict[str, Any] = VIDEO) -> Any:
    return server.client.post(
        "/ent/v2/reference2video", json=body, headers={"Authorization": f"Token {token}"}
    )


def stored_files(server: Server) -> list[Path]:
    return sorted(p for p in server.files.root.rglob("*") if p.is_file())


def key_id(server: Server, name: str) -> str:
    [key] = [k for k in server.store.keys.list_keys() if k.name == name]
    return key.id


def assert_refused(server: Server, name: str, token: str, reason: str) -> None:
    files, usage = stored_files(server), server.store.tasks.key_usage(key_id(server, name))
    response = post(server, token)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    body = response.json()
    assert body["code"] == 429 and body["reason"] == reason
    assert body["metadata"]["trace_id"] == response.headers["X-Trace-Id"]
    assert stored_files(server) == files  # the refused task's reference was removed again
    assert server.store.tasks.key_usage(key_id(server, name)) == usage  # no task, no credits held


def test_queue_limits_refuse_a_keys_create_past_its_limit(tight_server: Server) -> None:
    token = tight_server.new_token("studio", credits=100)
    for _ in range(2):
        assert post(tight_server, token).status_code == 200
    assert len(stored_files(tight_server)) == 2  # one reference per task
    assert_refused(tight_server, "studio", token, "TooManyRequests")
    assert len(tight_server.store.tasks.list_tasks(key_id(tight_server, "studio"))) == 2
    # off-peak tasks are not limited
    assert post(tight_server, token, {**VIDEO, "off_peak": True}).status_code == 200


def test_queue_limits_refuse_any_create_past_the_servers_limit(tight_server: Server) -> None:
    first, second = tight_server.new_token("first"), tight_server.new_token("second")
    for token in (first, first, second):
        assert post(tight_server, token).status_code == 200
    assert_refused(tight_server, "second", second, "SystemThrottling")
    assert len(tight_server.store.tasks.list_tasks(key_id(tight_server, "second"))) == 1
