"""GET /ent/v2/tasks: the caller's own tasks, newest first, filtered, paged with page numbers or
signed page tokens."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from refgen.domain import TaskState
from refgen.testing.store import make_task
from tests.conftest import Server
from tests.images import data_url, picture

IMG = data_url(picture())
IMG_URL = "https://pictures.example/cat.png"
VIDEO = {"model": "vidu2.0", "images": [IMG], "prompt": "a red balloon"}
IMAGE = {"model": "viduq2", "images": [IMG, IMG], "prompt": "a blue kite", "resolution": "2K"}
ITEM_FIELDS = {
    "id",
    "key_id",
    "type",
    "model",
    "prompt",
    "images",
    "duration",
    "resolution",
    "aspect_ratio",
    "creations",
    "state",
    "err_code",
    "credits",
    "seed",
    "progress",
    "created_at",
    "movement_amplitude",
    "bgm",
    "off_peak",
    "watermark",
    "style",
    "audio",
    "is_rec",
}


def create(
    server: Server, body: dict[str, Any], kind: str = "reference2video", token: str | None = None
) -> str:
    headers = {"Authorization": f"Token {token}"} if token else server.auth
    response = server.client.post(f"/ent/v2/{kind}", json=body, headers=headers)
    assert response.status_code == 200, response.json()
    task_id: str = response.json()["task_id"]
    return task_id


def listed(server: Server, params: Any = None, token: str | None = None) -> Any:
    headers = {"Authorization": f"Token {token}"} if token else server.auth
    return server.client.get("/ent/v2/tasks", params=params, headers=headers)


def ids(server: Server, params: Any = None, token: str | None = None) -> list[str]:
    response = listed(server, params, token)
    assert response.status_code == 200, response.json()
    return [t["id"] for t in response.json()["tasks"]]


def refused(server: Server, params: Any) -> tuple[str, str]:
    response = listed(server, params)
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] == 400 and len(body["metadata"]["trace_id"]) == 32
    return body["reason"], body["message"]


def key_id(server: Server) -> str:
    key = server.runtime.authenticator.key_for(server.token)
    assert key is not None
    return key.id


def test_task_list_shows_only_the_callers_tasks_newest_first(idle_server: Server) -> None:
    other = idle_server.new_token("other")
    first = create(idle_server, VIDEO)
    theirs = create(idle_server, VIDEO, token=other)
    second = create(idle_server, IMAGE, kind="reference2image")
    assert ids(idle_server) == [second, first]
    assert ids(idle_server, token=other) == [theirs]
    assert ids(idle_server, {"task_ids": [theirs, first]}) == [first]


def test_task_list_item_fields(idle_server: Server) -> None:
    idle_server.fetcher.images[IMG_URL] = picture()
    task_id = create(idle_server, {**IMAGE, "images": [IMG_URL, IMG], "seed": 77}, kind="reference2image")
    body = listed(idle_server).json()
    assert set(body) == {"tasks", "next_page_token"} and body["next_page_token"] == ""
    item = body["tasks"][0]
    assert set(item) == ITEM_FIELDS
    assert (item["id"], item["key_id"], item["type"], item["model"]) == (
        task_id,
        key_id(idle_server),
        "reference2image",
        "viduq2",
    )
    assert (item["prompt"], item["seed"], item["credits"]) == ("a blue kite", 77, 2)
    assert item["state"] == "queueing"
    assert (item["resolution"], item["aspect_ratio"], item["duration"]) == ("2K", "16:9", 0)
    assert (item["creations"], item["err_code"], item["progress"]) == ([], "", 0)
    assert item["created_at"].endswith("Z") and "T" in item["created_at"]
    sent, stored = item["images"]
    assert sent == IMG_URL
    link = urlsplit(stored)
    assert link.path == f"/files/tasks/{task_id}/refs/1.png" and "signature=" in link.query
    assert idle_server.client.get(stored).content == picture()


def test_task_list_shows_finished_tasks_with_their_creations(server: Server) -> None:
    task_id = create(server, VIDEO)
    deadline = time.monotonic() + 30
    while (item := listed(server).json()["tasks"][0])["state"] != "success":
        assert time.monotonic() < deadline, item
        time.sleep(0.02)
    assert item["id"] == task_id and item["progress"] == 100 and item["type"] == "reference2video"
    assert item["duration"] == 4 and item["creations"][0]["url"] and item["creations"][0]["cover_url"]
    assert item["creations"][0]["video"]["resolution"]["width"] > 0
    assert ids(server, {"states": "success"}) == [task_id]


def test_task_list_pages_by_number_default_size_10(idle_server: Server) -> None:
    made = [create(idle_server, VIDEO) for _ in range(12)][::-1]
    first = listed(idle_server).json()
    assert [t["id"] for t in first["tasks"]] == made[:10] and first["next_page_token"]
    assert ids(idle_server, {"paper.page": 1}) == made[10:]
    assert ids(idle_server, {"pager.page": 1, "pager.pagesz": 5}) == made[5:10]
    assert ids(idle_server, {"paper.page": 2, "paper.pagesz": 5}) == made[10:]
    assert ids(idle_server, {"paper.page": 9}) == []
    assert ids(idle_server, {"limit": 3}) == made[:3]  # refgen's earlier name of the page size
    assert ids(idle_server, {"paper.pagesz": 100}) == made


def test_task_list_page_tokens_walk_every_task_once(idle_server: Server) -> None:
    made = [create(idle_server, VIDEO) for _ in range(7)][::-1]
    seen: list[str] = []
    params: dict[str, Any] = {"pager.pagesz": 3}
    while True:
        body = listed(idle_server, params).json()
        seen += [t["id"] for t in body["tasks"]]
        if not body["next_page_token"]:
            break
        newer = create(idle_server, VIDEO)  # created between pages: neither shifts nor repeats items
        params = {"pager.pagesz": 3, "pager.page_token": body["next_page_token"], "paper.page": 5}
    assert seen == made
    assert newer not in seen


def test_task_list_page_token_is_bound_to_the_key_and_filters(idle_server: Server) -> None:
    for _ in range(3):
        create(idle_server, VIDEO)
    token = listed(idle_server, {"paper.pagesz": 1, "states": "queueing"}).json()["next_page_token"]
    assert token
    same = {"paper.pagesz": 1, "states": ["queueing"], "pager.page_token": token}
    assert len(ids(idle_server, same)) == 1
    assert len(ids(idle_server, {**same, "paper.pagesz": 2})) == 2  # the page size may change
    for params in (
        {**same, "states": "created"},
        {**same, "states": ["queueing", "created"]},
        {"paper.pagesz": 1, "pager.page_token": token},
        {**same, "model_versions": "2.0"},
        {**same, "pager.page_token": token[:-2] + ("AA" if token[-2:] != "AA" else "BB")},
        {**same, "pager.page_token": "A" + token[1:] if token[0] != "A" else "B" + token[1:]},
        {**same, "pager.page_token": "garbage"},
    ):
        assert refused(idle_server, params) == (
            "FieldInvalid",
            "invalid field: pager.page_token (not issued by this server for this key and these filters)",
        ), params
    other = idle_server.new_token("other")
    response = listed(idle_server, same, token=other)
    assert response.status_code == 400 and response.json()["reason"] == "FieldInvalid"


def test_task_list_filters(idle_server: Server) -> None:
    q1 = create(idle_server, {**VIDEO, "model": "viduq1", "duration": 5, "resolution": "1080p"})
    v20 = create(idle_server, VIDEO)
    image = create(idle_server, IMAGE, kind="reference2image")
    assert ids(idle_server, {"model_versions": "q1"}) == [q1]
    assert ids(idle_server, {"model_versions": ["viduq1", "2.0"]}) == [v20, q1]
    assert ids(idle_server, {"model_versions": "q9"}) == []
    assert ids(idle_server, {"resolutions": ["1080p", "2K"]}) == [image, q1]
    assert ids(idle_server, {"resolutions": "1080P"}) == []
    assert ids(idle_server, {"states": ["created", "queueing"]}) == [image, v20, q1]
    assert ids(idle_server, {"states": "failed"}) == []
    assert ids(idle_server, {"templates": "any"}) == []
    assert ids(idle_server, {"task_ids": [q1, image]}) == [image, q1]
    assert ids(idle_server, {"task_ids": f"{q1},{image}"}) == [image, q1]
    assert ids(idle_server, {"task_ids[]": [q1, v20]}) == [v20, q1]
    assert ids(idle_server, {"task_ids": q1, "states": "queueing", "model_versions": "q1"}) == [q1]
    assert ids(idle_server, {"task_ids": q1, "model_versions": "2.0"}) == []
    idle_server.client.post(f"/ent/v2/tasks/{v20}/cancel", headers=idle_server.auth)
    assert ids(idle_server, {"states": "failed"}) == [v20]


def test_task_list_time_window(idle_server: Server) -> None:
    now = datetime.now(UTC)
    old = make_task("old0", key_id(idle_server), created_at=now - timedelta(days=8))
    idle_server.store.tasks.insert_task(old)
    fresh = create(idle_server, VIDEO)
    assert ids(idle_server) == [fresh]  # default: the last 7 days
    assert ids(idle_server, {"task_ids": ["old0", fresh]}) == [fresh, "old0"]  # task_ids: open bounds
    nine_days = (now - timedelta(days=9)).isoformat()
    assert ids(idle_server, {"created_at.from": nine_days}) == [fresh, "old0"]
    assert ids(idle_server, {"created_at.to": "2020-01-01T00:00:00Z", "task_ids": [fresh]}) == []
    seven_ago = int((now - timedelta(days=7)).timestamp())
    assert ids(idle_server, {"created_at.to": str(seven_ago)}) == ["old0"]  # from: 7 days before to
    assert ids(idle_server, {"created_at.from": str(int(now.timestamp()) + 60)}) == []
    created = datetime.fromisoformat(listed(idle_server).json()["tasks"][0]["created_at"])
    assert ids(idle_server, {"created_at.from": created.isoformat()}) == [fresh]  # from is inclusive
    assert ids(idle_server, {"created_at.to": created.isoformat()}) == []  # to is exclusive


@pytest.mark.parametrize(
    ("params", "reason", "message"),
    [
        ({"states": "done"}, "FieldInvalid", "states"),
        ({"paper.pagesz": 101}, "PageSizeOutOfRange", "paper.pagesz"),
        ({"pager.pagesz": 0}, "PageSizeOutOfRange", "pager.pagesz"),
        ({"limit": 101}, "PageSizeOutOfRange", "limit"),
        ({"paper.pagesz": "many"}, "FieldInvalid", "paper.pagesz"),
        ({"paper.page": -1}, "FieldInvalid", "paper.page"),
        ({"pager.page": "x"}, "FieldInvalid", "pager.page"),
        ({"created_at.from": "yesterday"}, "FieldInvalid", "created_at.from"),
        ({"created_at.to": "2026-13-01T00:00:00Z"}, "FieldInvalid", "created_at.to"),
        ({"task_ids": [str(i) for i in range(101)]}, "FieldItemCountOutOfRange", "task_ids"),
    ],
)
def test_task_list_refuses_bad_parameters(
    idle_server: Server, params: dict[str, Any], reason: str, message: str
) -> None:
    got_reason, got_message = refused(idle_server, params)
    assert got_reason == reason and message in got_message


def test_task_list_accepts_100_task_ids(idle_server: Server) -> None:
    task_id = create(idle_server, VIDEO)
    assert ids(idle_server, {"task_ids": [task_id, *(str(i) for i in range(99))]}) == [task_id]


@pytest.mark.parametrize("header", [None, "Token nope", "Basic abc"])
def test_task_list_needs_a_valid_key(idle_server: Server, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = idle_server.client.get("/ent/v2/tasks", headers=headers)
    assert response.status_code == 401
    assert response.json()["reason"] == "Unauthorized"


def test_task_list_of_a_new_key_is_empty(idle_server: Server) -> None:
    response = listed(idle_server, token=idle_server.new_token("fresh"))
    assert response.json() == {"tasks": [], "next_page_token": ""}


def test_task_list_counts_failed_tasks_at_zero_credits(idle_server: Server) -> None:
    task_id = create(idle_server, VIDEO)
    idle_server.store.tasks.request_cancel(task_id, datetime.now(UTC))
    item = listed(idle_server).json()["tasks"][0]
    assert (item["state"], item["err_code"], item["credits"]) == ("failed", "UserCancelled", 0)
    assert TaskState(item["state"]) is TaskState.FAILED
