"""The SDK's task list and credits calls, sync and async, against the real app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from refgen.client import Credits, InvalidRequestError, TaskPage
from refgen.client.base import list_params
from tests.conftest import Server
from tests.images import data_url, picture
from tests.unit.client.conftest import async_client, sync_client

VIDEO = {"model": "vidu2.0", "images": [data_url(picture())], "prompt": "a red balloon"}


def create(server: Server, n: int) -> list[str]:
    made = []
    for _ in range(n):
        response = server.client.post("/ent/v2/reference2video", json=VIDEO, headers=server.auth)
        made.append(response.json()["task_id"])
    return made[::-1]


def test_client_list_params_repeat_keys_and_leave_out_none() -> None:
    at = datetime(2026, 1, 2, tzinfo=UTC)
    params = list_params(
        task_ids=["a", "b"],
        states="success",
        resolutions=(),
        created_from=at,
        created_to=1767312000,
        page=0,
        page_token="",
    )
    assert params == (
        ("task_ids", "a"),
        ("task_ids", "b"),
        ("states", "success"),
        ("created_at.from", "2026-01-02T00:00:00+00:00"),
        ("created_at.to", "1767312000"),
        ("paper.page", "0"),
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        list_params(created_from=datetime(2026, 1, 2))


def test_client_list_tasks_pages_and_filters(idle_server: Server) -> None:
    made = create(idle_server, 5)
    with sync_client(idle_server) as client:
        first = client.list_tasks(page_size=2)
        assert isinstance(first, TaskPage) and [t.id for t in first.tasks] == made[:2]
        seen = [t.id for t in first.tasks]
        page = first
        while page.next_page_token:
            page = client.list_tasks(page_size=2, page_token=page.next_page_token)
            seen += [t.id for t in page.tasks]
        assert seen == made
        item = first.tasks[0]
        assert (item.type, item.model, item.duration, item.state, item.done) == (
            "reference2video",
            "vidu2.0",
            4,
            "queueing",
            False,
        )
        assert item.created_at is not None and item.created_at.tzinfo is not None
        assert [t.id for t in client.list_tasks(task_ids=made[1:3], model_versions=["2.0"]).tasks] == made[
            1:3
        ]
        assert client.list_tasks(states=["success"]).tasks == []
        since = datetime.now(UTC) + timedelta(minutes=1)
        assert client.list_tasks(created_from=since).tasks == []
        with pytest.raises(InvalidRequestError) as refused:
            client.list_tasks(page_size=101)
        assert refused.value.reason == "PageSizeOutOfRange"


def test_client_credits(idle_server: Server) -> None:
    token = idle_server.new_token("metered", credits=50, concurrency=2)
    with sync_client(idle_server, api_key=token) as client:
        summary = client.credits()
        assert isinstance(summary, Credits) and summary.packages == []
        assert summary.credit_remain == 50 and summary.remains == summary.remaining_credits
        detailed = client.credits(show_detail=True)
        package = detailed.packages[0]
        assert (package.name, package.credit_amount, package.concurrency) == ("metered", 50, 2)
        assert package.valid_to == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


@pytest.mark.anyio
async def test_async_client_list_tasks_and_credits(idle_server: Server) -> None:
    made = create(idle_server, 3)
    async with async_client(idle_server) as client:
        page = await client.list_tasks(page_size=2, states=["queueing"])
        rest = await client.list_tasks(page_size=2, states=["queueing"], page_token=page.next_page_token)
        assert [t.id for t in page.tasks + rest.tasks] == made and rest.next_page_token == ""
        summary = await client.credits(show_detail=True)
        assert summary.remains[0].queue_count == 3 and len(summary.packages) == 1


def test_client_reads_what_the_original_api_may_leave_out() -> None:
    page = TaskPage.model_validate({"tasks": [{"id": "t", "state": "success", "new_field": 1}]})
    assert page.next_page_token == "" and page.tasks[0].done and page.tasks[0].model_extra == {"new_field": 1}
    assert Credits.model_validate({"remaining_credits": [{"credit_remain": 7}]}).credit_remain == 7
    query = httpx.QueryParams(list_params(task_ids="x", page_size=5))
    assert query == httpx.QueryParams("task_ids=x&paper.pagesz=5")
