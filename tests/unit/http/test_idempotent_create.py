"""``Idempotency-Key`` on the create routes, through the app: a retry answers the original task, another
request with the key is a 409 ``Conflict``, a bad key a 400, and a refused create keeps nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from refgen.domain import TaskKind
from tests.conftest import Server, make_server
from tests.images import data_url, picture

VIDEO = {"model": "vidu2.0", "images": [data_url(picture())], "prompt": "a red balloon"}  # 2 credits
TEXT = {"model": "viduq1", "prompt": "a red balloon"}


@pytest.fixture
def tight_server(tmp_path: Path) -> Iterator[Server]:
    """No workers (tasks stay waiting); one task may wait per key."""
    yield from make_server(tmp_path, workers=0, max_queued_per_key=1)


def create(
    server: Server,
    body: dict[str, Any] | bytes,
    key: str | bytes | None,
    *,
    path: str = "/ent/v2/reference2video",
    token: str | None = None,
) -> httpx.Response:
    headers: dict[str, Any] = {"Authorization": f"Token {token or server.token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    if isinstance(body, bytes):
        headers["Content-Type"] = "application/json"
        return server.client.post(path, content=body, headers=headers)
    return server.client.post(path, json=body, headers=headers)


def stored_files(server: Server) -> list[Path]:
    return sorted(p for p in server.files.root.rglob("*") if p.is_file())


def tasks_of(server: Server, name: str = "tester") -> list[str]:
    [key] = [k for k in server.store.keys.list_keys() if k.name == name]
    return [t.id for t in server.store.tasks.list_tasks(key.id)]


def test_idempotent_create_a_retry_answers_the_original_task(idle_server: Server) -> None:
    first = create(idle_server, VIDEO, "order-1")
    assert first.status_code == 200, first.json()
    files = stored_files(idle_server)
    again = create(idle_server, VIDEO, "order-1")
    assert again.status_code == 200
    assert again.json() == first.json()  # the same answer: task id, seed, created_at, images as sent
    assert tasks_of(idle_server) == [first.json()["task_id"]]
    assert stored_files(idle_server) == files  # the retry wrote nothing


def test_idempotent_create_ignores_key_order_and_whitespace(idle_server: Server) -> None:
    first = create(idle_server, json.dumps(VIDEO).encode(), "k")
    reordered = json.dumps(dict(reversed(list(VIDEO.items()))), indent=4).encode()
    again = create(idle_server, reordered, "k")
    assert again.status_code == 200 and again.json()["task_id"] == first.json()["task_id"]


def test_idempotent_create_with_a_seed_drawn_by_the_server_answers_that_seed(idle_server: Server) -> None:
    first = create(idle_server, {**VIDEO, "seed": 0}, "k").json()
    assert first["seed"] != 0
    assert create(idle_server, {**VIDEO, "seed": 0}, "k").json()["seed"] == first["seed"]


def test_idempotent_create_answers_as_created_while_the_task_moves_on(server: Server) -> None:
    first = create(
        server, {**TEXT, "callback_url": "https://example.com/hook"}, "k", path="/ent/v2/text2video"
    )
    task_id = first.json()["task_id"]
    deadline = time.monotonic() + 30
    while (
        state := server.client.get(f"/ent/v2/tasks/{task_id}/creations", headers=server.auth).json()["state"]
    ) != "success":
        assert time.monotonic() < deadline, state
        time.sleep(0.02)
    again = create(
        server, {**TEXT, "callback_url": "https://example.com/hook"}, "k", path="/ent/v2/text2video"
    )
    assert again.status_code == 200 and again.json() == first.json()
    assert again.json()["state"] == "created"
    assert tasks_of(server) == [task_id]
    # one task: one charge and one task's callbacks, however often the create was sent
    assert {d.task_id for d in server.store.outbox.list_deliveries()} == {task_id}


def test_idempotent_create_conflicts_for_another_body(idle_server: Server) -> None:
    first = create(idle_server, VIDEO, "k")
    response = create(idle_server, {**VIDEO, "prompt": "a blue balloon"}, "k")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == 409 and body["reason"] == "Conflict"
    assert body["metadata"]["trace_id"] == response.headers["X-Trace-Id"]
    assert first.json()["task_id"] in body["message"]
    assert tasks_of(idle_server) == [first.json()["task_id"]]


def test_idempotent_create_conflicts_for_the_same_body_on_another_endpoint(idle_server: Server) -> None:
    create(idle_server, TEXT, "k", path="/ent/v2/text2video")
    response = create(idle_server, TEXT, "k", path="/ent/v2/reference2image")
    assert response.status_code == 409 and response.json()["reason"] == "Conflict"


def test_idempotent_create_types_of_values_matter(idle_server: Server) -> None:
    create(idle_server, {**TEXT, "duration": 5}, "k", path="/ent/v2/text2video")
    response = create(idle_server, {**TEXT, "duration": "5"}, "k", path="/ent/v2/text2video")
    assert response.status_code == 409


def test_idempotent_create_keys_belong_to_one_api_key(idle_server: Server) -> None:
    other = idle_server.new_token("other")
    mine = create(idle_server, VIDEO, "shared").json()["task_id"]
    theirs = create(idle_server, VIDEO, "shared", token=other).json()["task_id"]
    assert mine != theirs
    assert tasks_of(idle_server, "other") == [theirs]


@pytest.mark.parametrize(
    "key",
    ["", "x" * 256, b"caf\xc3\xa9", "tab\there"],
    ids=["empty", "too-long", "not-ascii", "control-character"],
)
def test_idempotent_create_refuses_a_malformed_key(idle_server: Server, key: str | bytes) -> None:
    response = create(idle_server, VIDEO, key)
    assert response.status_code == 400
    body = response.json()
    assert body["reason"] == "FieldInvalid" and "Idempotency-Key" in body["message"]
    assert tasks_of(idle_server) == [] and stored_files(idle_server) == []


@pytest.mark.parametrize(
    "key", ["x", "x" * 255, "a b", "~!#$%&'*+-.^_`|"], ids=["one", "255", "space", "signs"]
)
def test_idempotent_create_accepts_printable_ascii_keys(idle_server: Server, key: str) -> None:
    assert create(idle_server, VIDEO, key).status_code == 200


def test_idempotent_create_refused_stores_nothing_for_the_key(tight_server: Server) -> None:
    token = tight_server.new_token("studio", credits=2)  # one task's worth

    def cancel(response: httpx.Response) -> None:
        path = f"/ent/v2/tasks/{response.json()['task_id']}/cancel"
        assert tight_server.client.post(path, headers={"Authorization": f"Token {token}"}).status_code == 200

    invalid = create(tight_server, {**VIDEO, "duration": 99}, "k", token=token)
    assert invalid.status_code == 400 and invalid.json()["reason"] != "Conflict"
    holder = create(tight_server, VIDEO, None, token=token)  # holds the credits and the queue place
    too_dear = create(tight_server, VIDEO, "k", token=token)
    assert too_dear.status_code == 400 and too_dear.json()["reason"] == "CreditInsufficient"
    cancel(holder)
    created = create(tight_server, VIDEO, "k", token=token)  # the same key, now with room
    assert created.status_code == 200
    assert create(tight_server, {**VIDEO, "prompt": "other"}, "k2", token=token).status_code == 400  # credits
    assert create(tight_server, VIDEO, "k", token=token).json()["task_id"] == created.json()["task_id"]
    cancel(created)
    # the refused key was not kept: sent again with room, it creates a task for the new request
    assert create(tight_server, {**VIDEO, "prompt": "other"}, "k2", token=token).status_code == 200
    assert len(tasks_of(tight_server, "studio")) == 3


def test_idempotent_create_past_the_queue_limit_stores_nothing_for_the_key(tight_server: Server) -> None:
    holder = create(tight_server, VIDEO, None)
    throttled = create(tight_server, VIDEO, "k")
    assert throttled.status_code == 429 and throttled.json()["reason"] == "TooManyRequests"
    tight_server.client.post(f"/ent/v2/tasks/{holder.json()['task_id']}/cancel", headers=tight_server.auth)
    assert create(tight_server, {**VIDEO, "prompt": "other"}, "k").status_code == 200


def test_idempotent_create_every_create_route_takes_the_key(idle_server: Server) -> None:
    bodies = {
        TaskKind.VIDEO: VIDEO,
        TaskKind.IMAGE: {"model": "viduq2", "prompt": "a red balloon"},
        TaskKind.TEXT_TO_VIDEO: TEXT,
        TaskKind.IMAGE_TO_VIDEO: {"model": "viduq1", "images": [data_url(picture())]},
        TaskKind.START_END_TO_VIDEO: {"model": "viduq1", "images": [data_url(picture())] * 2},
    }
    for kind, body in bodies.items():
        path = f"/ent/v2/{kind.value}"
        first = create(idle_server, body, f"key-{kind.value}", path=path)
        assert first.status_code == 200, (kind, first.json())
        assert create(idle_server, body, f"key-{kind.value}", path=path).json() == first.json(), kind
    assert len(tasks_of(idle_server)) == len(bodies)


def test_idempotent_create_without_a_key_creates_each_time(idle_server: Server) -> None:
    assert (
        create(idle_server, VIDEO, None).json()["task_id"]
        != create(idle_server, VIDEO, None).json()["task_id"]
    )
