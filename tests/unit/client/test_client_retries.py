"""Retries: GETs and creates survive 429, 5xx and broken connections (a create's retries repeat its
``Idempotency-Key``, so a lost answer never makes a second task); cancel is sent once."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from refgen.client import (
    APIConnectionError,
    APITimeoutError,
    ConflictError,
    InvalidRequestError,
    RateLimitError,
    ServerError,
)
from refgen.client.base import PollSchedule, retry_delay
from refgen.client.bodies import create_body
from refgen.client.models import Generation
from tests.conftest import Server
from tests.unit.client.conftest import Faults, async_client, flaky_client, sync_client

CREATIONS = "/ent/v2/tasks/{}/creations"


@pytest.mark.parametrize(
    ("status", "error"),
    [(503, None), (500, None), (429, None), (502, None), (0, httpx.ConnectError), (0, httpx.ReadTimeout)],
)
def test_client_get_retries_then_succeeds(
    server: Server, status: int, error: type[httpx.TransportError] | None
) -> None:
    faults = Faults(2, status=status, error=error, methods=("GET",))
    with flaky_client(server, faults, max_retries=2) as client:
        task = client.reference2image(model="viduq2", prompt="x")
        assert client.get(task).id == task.task_id
    assert faults.failed == 2
    assert [m for m, _, _ in faults.seen] == ["POST", "GET", "GET", "GET"]


def test_client_get_gives_up_after_max_retries(server: Server) -> None:
    faults = Faults(10, status=503, methods=("GET",))
    with flaky_client(server, faults, max_retries=3) as client, pytest.raises(ServerError) as error:
        client.get("abc")
    assert error.value.code == 503 and error.value.reason == "InternalServiceFailure"
    assert error.value.trace_id == "f" * 32
    assert faults.failed == 4


def test_client_rate_limit_error_after_retries(server: Server) -> None:
    faults = Faults(5, status=429, methods=("GET",), retry_after="0")
    with flaky_client(server, faults, max_retries=1) as client, pytest.raises(RateLimitError):
        client.get("abc")
    assert faults.failed == 2


@pytest.mark.parametrize(
    ("status", "error", "expected"),
    [(503, None, ServerError), (429, None, RateLimitError), (0, httpx.ConnectError, APIConnectionError)],
)
def test_client_cancel_is_never_retried(
    server: Server, status: int, error: type[httpx.TransportError] | None, expected: type[Exception]
) -> None:
    faults = Faults(1, status=status, error=error, methods=("POST",))
    with flaky_client(server, faults, max_retries=5) as client, pytest.raises(expected):
        client.cancel("some-task")
    assert [(m, failed) for m, _, failed in faults.seen] == [("POST", True)]
    assert faults.keys == [None]


@pytest.mark.parametrize(
    ("status", "error"), [(503, None), (429, None), (0, httpx.ConnectError), (0, httpx.ReadTimeout)]
)
def test_client_create_is_retried_with_the_same_key(
    server: Server, status: int, error: type[httpx.TransportError] | None
) -> None:
    faults = Faults(2, status=status, error=error, methods=("POST",), retry_after="0")
    with flaky_client(server, faults, max_retries=2) as client:
        task = client.text2video(model="viduq1", prompt="a red balloon")
    assert [(m, failed) for m, _, failed in faults.seen] == [("POST", True), ("POST", True), ("POST", False)]
    assert len(set(faults.keys)) == 1 and faults.keys[0] is not None
    assert [t.id for t in server.store.tasks.list_tasks(task_key_id(server))] == [task.task_id]


def task_key_id(server: Server) -> str:
    [key] = server.store.keys.list_keys()
    return key.id


def test_client_create_whose_answer_was_lost_gets_the_task_it_made(server: Server) -> None:
    faults = Faults(1, methods=("POST",), drop_answers=True)
    with flaky_client(server, faults, max_retries=2) as client:
        task = client.reference2image(model="viduq2", prompt="once")
    assert [failed for *_, failed in faults.seen] == [True, False]
    assert faults.keys[0] is not None and faults.keys[0] == faults.keys[1]
    # the first attempt made the task; the retry was answered with it
    assert [t.id for t in server.store.tasks.list_tasks(task_key_id(server))] == [task.task_id]


def test_client_create_gives_up_after_max_retries(server: Server) -> None:
    faults = Faults(10, status=503, methods=("POST",))
    with flaky_client(server, faults, max_retries=1) as client, pytest.raises(ServerError):
        client.text2video(model="viduq1", prompt="x")
    assert faults.failed == 2
    assert server.store.tasks.list_tasks(task_key_id(server)) == []


def test_client_create_sends_a_fresh_key_per_call_or_the_callers(server: Server) -> None:
    faults = Faults(0)
    with flaky_client(server, faults) as client:
        first = client.text2video(model="viduq1", prompt="x")
        second = client.text2video(model="viduq1", prompt="x")
        mine = client.text2video(model="viduq1", prompt="x", idempotency_key="order-7")
        again = client.text2video(model="viduq1", prompt="x", idempotency_key="order-7")
        with pytest.raises(ConflictError) as conflict:
            client.text2video(model="viduq1", prompt="y", idempotency_key="order-7")
    assert first.task_id != second.task_id and mine.task_id == again.task_id
    assert faults.keys[0] != faults.keys[1] and faults.keys[2:] == ["order-7"] * 3
    assert conflict.value.code == 409 and conflict.value.reason == "Conflict"
    assert isinstance(conflict.value, InvalidRequestError)
    # a header, never a body field
    assert create_body({"model": "viduq1", "idempotency_key": "order-7"}) == {"model": "viduq1"}


def test_client_connection_errors_read_well(server: Server) -> None:
    faults = Faults(10, error=httpx.ConnectError, methods=("GET",))
    with flaky_client(server, faults, max_retries=1) as client, pytest.raises(APIConnectionError) as refused:
        client.get("abc")
    assert "could not reach http://127.0.0.1:8000" in str(refused.value)
    assert refused.value.reason == "ConnectionError" and refused.value.code == 0

    faults = Faults(10, error=httpx.ReadTimeout, methods=("GET",))
    with (
        flaky_client(server, faults, max_retries=0) as client,
        pytest.raises(APITimeoutError, match="timed out"),
    ):
        client.get("abc")


def test_client_download_retries_the_file_request(server: Server, tmp_path: Path) -> None:
    with sync_client(server) as client:
        task = client.reference2image(model="viduq2", prompt="x")
        done = client.wait(task, interval=0.01)
    faults = Faults(2, status=502, methods=("GET",))
    with flaky_client(server, faults) as client:
        path = client.download(done, tmp_path / "x.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [failed for *_, failed in faults.seen] == [True, True, False]
    assert all(p.startswith("/files/") for _, p, _ in faults.seen)


@pytest.mark.anyio
async def test_async_client_retries_gets_and_creates(server: Server) -> None:
    faults = Faults(1, status=503)
    inner = httpx.ASGITransport(app=server.client.app)
    async with async_client(server, transport=faults.wrap_async(inner), max_retries=2) as client:
        created = await client.reference2image(model="viduq2", prompt="x")
        faults.count = 2
        assert (await client.get(created)).id == created.task_id
        faults.count = 1
        with pytest.raises(ServerError):
            await client.cancel(created)
    assert [(m, failed) for m, _, failed in faults.seen] == [
        ("POST", True),
        ("POST", False),
        ("GET", True),
        ("GET", True),
        ("GET", False),
        ("POST", True),
    ]
    assert faults.keys[0] is not None and faults.keys[0] == faults.keys[1]


@pytest.mark.anyio
async def test_async_client_create_whose_answer_was_lost_gets_the_task_it_made(server: Server) -> None:
    faults = Faults(1, methods=("POST",), drop_answers=True)
    inner = httpx.ASGITransport(app=server.client.app)
    async with async_client(server, transport=faults.wrap_async(inner), max_retries=2) as client:
        task = await client.text2video(model="viduq1", prompt="once", idempotency_key="mine")
    assert faults.keys == ["mine", "mine"]
    assert [t.id for t in server.store.tasks.list_tasks(task_key_id(server))] == [task.task_id]


def test_retry_delay_backs_off_and_honours_retry_after() -> None:
    assert retry_delay(0, 1.0, "7") == 7.0
    assert retry_delay(0, 1.0, "999") == 30.0
    assert 0.75 <= retry_delay(0, 1.0, "soon") <= 1.25
    assert 3.0 <= retry_delay(2, 1.0) <= 5.0
    assert retry_delay(20, 1.0) == 30.0
    assert retry_delay(3, 0.0) == 0.0


def test_poll_schedule_grows_while_nothing_moves_and_resets_when_it_does() -> None:
    schedule = PollSchedule(1.0, 3.0)
    queued = Generation(id="t", state="queueing", progress=0)
    delays = [schedule.next_delay(queued) for _ in range(5)]
    assert delays == [1.0, 1.5, 2.25, 3.0, 3.0]
    assert schedule.next_delay(Generation(id="t", state="processing", progress=10)) == 1.0
