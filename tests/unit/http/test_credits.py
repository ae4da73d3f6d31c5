"""GET /ent/v2/credits: the calling key's balance, its load and its package."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from refgen.domain import Creation
from tests.conftest import Server
from tests.images import data_url, picture

VIDEO = {
    "model": "vidu2.0",
    "images": [data_url(picture())],
    "prompt": "a red balloon",
}  # 2 credits (4 s, 360p)
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def credits(server: Server, token: str, **params: Any) -> Any:
    response = server.client.get(
        "/ent/v2/credits", params=params, headers={"Authorization": f"Token {token}"}
    )
    assert response.status_code == 200, response.json()
    return response.json()


def create(server: Server, token: str) -> str:
    response = server.client.post(
        "/ent/v2/reference2video", json=VIDEO, headers={"Authorization": f"Token {token}"}
    )
    assert response.status_code == 200, response.json()
    task_id: str = response.json()["task_id"]
    return task_id


def test_credits_of_a_fresh_key(idle_server: Server) -> None:
    token = idle_server.new_token("studio", credits=1000, concurrency=3)
    body = credits(idle_server, token)
    remain = {
        "type": "metered",
        "credit_remain": 1000,
        "concurrency_limit": 3,
        "current_concurrency": 0,
        "queue_count": 0,
    }
    assert body == {"remains": [remain], "remaining_credits": [remain], "packages": []}


def test_credits_follow_the_keys_tasks(idle_server: Server) -> None:
    token = idle_server.new_token("studio", credits=100)
    other = idle_server.new_token("other", credits=100)
    done, running, _waiting, cancelled = (create(idle_server, token) for _ in range(4))
    create(idle_server, other)
    queue = idle_server.store.queue
    for task_id in (done, running):
        claimed = queue.claim("w", None, 30, NOW)
        assert claimed is not None and claimed.id == task_id
    video = Creation("c", "m.mp4", "c.jpg", None, 640, 360, 4.0, 24)
    assert queue.complete(done, "w", [video], NOW)
    idle_server.store.tasks.request_cancel(cancelled, NOW)
    body = credits(idle_server, token, show_detail="true")
    # limit 100; charged 2 (done); held 4 (running, waiting); the cancelled task costs nothing
    assert body["remains"][0] == {
        "type": "metered",
        "credit_remain": 94,
        "concurrency_limit": 5,
        "current_concurrency": 1,
        "queue_count": 1,
    }
    package = body["packages"][0]
    key = idle_server.runtime.authenticator.key_for(token)
    assert key is not None
    assert (package["id"], package["name"], package["credit_amount"], package["credit_remain"]) == (
        key.id,
        "studio",
        100,
        94,
    )
    assert package["created_at"] == package["purchase_at"] == package["valid_from"]
    assert package["valid_to"] == "9999-12-31T23:59:59Z"
    assert credits(idle_server, other)["remains"][0]["credit_remain"] == 98


def test_credits_of_a_key_without_a_limit(idle_server: Server) -> None:
    create(idle_server, idle_server.token)
    body = credits(idle_server, idle_server.token, show_detail="1")
    assert body["remains"][0]["credit_remain"] == 2147483647 and body["remains"][0]["queue_count"] == 1
    assert body["packages"][0]["credit_amount"] == 2147483647


@pytest.mark.parametrize(("value", "packages"), [("true", 1), ("True", 1), ("1", 1), ("false", 0), ("0", 0)])
def test_credits_show_detail(idle_server: Server, value: str, packages: int) -> None:
    assert len(credits(idle_server, idle_server.token, show_detail=value)["packages"]) == packages


def test_credits_refuses_other_show_detail_values_and_unknown_keys(idle_server: Server) -> None:
    response = idle_server.client.get("/ent/v2/credits?show_detail=yes", headers=idle_server.auth)
    assert response.status_code == 400
    assert (response.json()["reason"], response.json()["message"]) == (
        "FieldInvalid",
        "invalid field: show_detail (true or false)",
    )
    assert (
        idle_server.client.get("/ent/v2/credits", headers={"Authorization": "Token nope"}).status_code == 401
    )


def test_credits_show_detail_sent_twice_must_be_valid_both_times(idle_server: Server) -> None:
    client, auth = idle_server.client, idle_server.auth
    assert client.get("/ent/v2/credits?show_detail=yes&show_detail=true", headers=auth).status_code == 400
    body = client.get("/ent/v2/credits?show_detail=0&show_detail=true", headers=auth).json()
    assert len(body["packages"]) == 1  # the last one counts
