"""Retries: GETs survive 429, 5xx and broken connections; POSTs are sent once."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from refgen.client import APIConnectionError, APITimeoutError, RateLimitError, ServerError
from refgen.client.base import PollSchedule, retry_delay
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
def test_client_post_is_never_retried(
    server: Server, status: int, error: type[httpx.TransportError] | None, expected: type[Exception]
) -> None:
    faults = Faults(1, status=status, error=error, methods=("POST",))
    with flaky_client(server, faults, max_retries=5) as client:
        with pytest.raises(expected):
            client.reference2image(model="viduq2", prompt="once")
        faults.count = 1
        with pytest.raises(expected):
            client.cancel("some-task")
    assert [(m, failed) for m, _, failed in faults.seen] == [("POST", True), ("POST", True)]


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
async def test_async_client_retries_gets_only(server: Server) -> None:
    faults = Faults(1, status=503)
    inner = httpx.ASGITransport(app=server.client.app)
    async with async_client(server, transport=faults.wrap_async(inner), max_retries=2) as client:
        with pytest.raises(ServerError):
            await client.reference2image(model="viduq2", prompt="x")
        created = await client.reference2image(model="viduq2", prompt="x")
        faults.count = 2
        assert (await client.get(created)).id == created.task_id
    assert [(m, failed) for m, _, failed in faults.seen] == [
        ("POST", True),
        ("POST", False),
        ("GET", True),
        ("GET", True),
        ("GET", False),
    ]


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
