"""GET /ent/v2/tasks (a refgen extension): the caller's own tasks, newest first, within limits."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Server
from tests.images import data_url, picture

IMG = data_url(picture())
VIDEO = {"model": "vidu2.0", "images": [IMG], "prompt": "a red balloon"}
IMAGE = {"model": "viduq2", "images": [IMG, IMG], "prompt": "a blue kite", "resolution": "2K"}


def create(
    server: Server, body: dict[str, Any], kind: str = "reference2video", token: str | None = None
) -> str:
    headers = {"Authorization": f"Token {token}"} if token else server.auth
    response = server.client.post(f"/ent/v2/{kind}", json=body, headers=headers)
    assert response.status_code == 200, response.json()
    task_id: str = response.json()["task_id"]
    return task_id


def listed(server: Server, token: str | None = None, **params: Any) -> Any:
    headers = {"Authorization": f"Token {token}"} if token else server.auth
    return server.client.get("/ent/v2/tasks", params=params, headers=headers)


def test_task_list_shows_only_the_callers_tasks_newest_first(idle_server: Server) -> None:
    other = idle_server.new_token("other")
    first = create(idle_server, VIDEO)
    theirs = create(idle_server, VIDEO, token=other)
    second = create(idle_server, IMAGE, kind="reference2image")
    response = listed(idle_server)
    assert response.status_code == 200
    tasks = response.json()["tasks"]
    assert [t["id"] for t in tasks] == [second, first]
    assert [t["id"] for t in listed(idle_server, token=other).json()["tasks"]] == [theirs]


def test_task_list_item_is_the_get_generation_body_plus_what_was_asked(idle_server: Server) -> None:
    task_id = create(idle_server, IMAGE, kind="reference2image")
    item = listed(idle_server).json()["tasks"][0]
    generation = idle_server.client.get(f"/ent/v2/tasks/{task_id}/creations", headers=idle_server.auth).json()
    assert {k: item[k] for k in generation} == generation
    assert item["model"] == "viduq2" and item["kind"] == "reference2image" and item["prompt"] == "a blue kite"
    assert (item["resolution"], item["aspect_ratio"], item["duration"]) == ("2K", "16:9", None)
    assert item["created_at"].endswith("Z") and "T" in item["created_at"]
    assert item["credits"] == 2 and isinstance(item["creations"], list)


def test_task_list_shows_finished_tasks_with_their_creations(server: Server) -> None:
    import time

    task_id = create(server, VIDEO)
    deadline = time.monotonic() + 30
    while (item := listed(server).json()["tasks"][0])["state"] != "success":
        assert time.monotonic() < deadline, item
        time.sleep(0.02)
    assert item["id"] == task_id and item["progress"] == 100 and item["kind"] == "reference2video"
    assert item["duration"] == 4 and item["creations"][0]["url"] and item["creations"][0]["cover_url"]


def test_task_list_limit_defaults_to_50_and_bounds_are_enforced(idle_server: Server) -> None:
    ids = [create(idle_server, VIDEO) for _ in range(3)]
    assert len(listed(idle_server, limit=2).json()["tasks"]) == 2
    assert [t["id"] for t in listed(idle_server, limit=100).json()["tasks"]] == ids[::-1]
    assert len(listed(idle_server).json()["tasks"]) == 3
    for bad in (0, 101, -1, "many"):
        response = listed(idle_server, limit=bad)
        assert response.status_code == 400, bad
        body = response.json()
        assert body["reason"] == "FieldInvalid" and "limit" in body["message"]
        assert len(body["metadata"]["trace_id"]) == 32


@pytest.mark.parametrize("header", [None, "Token nope", "Basic abc"])
def test_task_list_needs_a_valid_key(idle_server: Server, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = idle_server.client.get("/ent/v2/tasks", headers=headers)
    assert response.status_code == 401
    assert response.json()["reason"] == "Unauthorized"


def test_task_list_of_a_new_key_is_empty(idle_server: Server) -> None:
    assert listed(idle_server, token=idle_server.new_token("fresh")).json() == {"tasks": []}
