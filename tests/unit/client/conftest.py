"""The SDK against the real app in-process: the server from ``make_server`` (real routes, store
fake, FakeBackend workers in threads), reached through a transport instead of a socket.

``AsyncClient`` goes through ``httpx.ASGITransport``. ``Client`` goes through ``AppTransport``,
which hands each request to the server's Starlette ``TestClient`` (whose portal runs the app and
its lifespan; it is built on ``httpx2``, so requests and answers are copied across). ``Faults``
wraps either in an ``httpx.MockTransport`` that fails the first requests and passes the rest on:
a fault injector on the wire, not a stand-in for the SDK.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from refgen.client import AsyncClient, Client
from refgen.testing.backends import FakeBackend
from tests.conftest import Server, make_server

_HOP_HEADERS = {"content-encoding", "content-length", "transfer-encoding"}


class AppTransport(httpx.BaseTransport):
    """A blocking transport into the app, through the server's ``TestClient``."""

    def __init__(self, test_client: TestClient) -> None:
        self.test_client = test_client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.test_client.request(
            request.method,
            str(request.url),
            content=request.read(),
            headers=list(request.headers.multi_items()),
        )
        headers = [(k, v) for k, v in answer.headers.multi_items() if k.lower() not in _HOP_HEADERS]
        return httpx.Response(answer.status_code, headers=headers, content=answer.content)


@dataclass
class Faults:
    """Fail the first ``count`` requests whose method is in ``methods``: answer ``status`` with a
    contract error body, or raise ``error`` (e.g. ``httpx.ConnectError``); with ``drop_answers``,
    pass the request on and lose its answer instead (a ``ReadError``: the server acted, the client
    never heard). ``seen`` lists every request as ``(method, path, failed)``, ``keys`` the
    ``Idempotency-Key`` each request carried (None for none)."""

    count: int
    status: int = 503
    error: type[httpx.TransportError] | None = None
    methods: tuple[str, ...] = ("GET", "POST")
    retry_after: str | None = None
    drop_answers: bool = False
    seen: list[tuple[str, str, bool]] = field(default_factory=list)
    keys: list[str | None] = field(default_factory=list)

    def _failing(self, request: httpx.Request) -> bool:
        failing = request.method in self.methods and self.count > 0
        self.seen.append((request.method, request.url.path, failing))
        self.keys.append(request.headers.get("Idempotency-Key"))
        if failing:
            self.count -= 1
        return failing

    def _fault(self, request: httpx.Request) -> httpx.Response:
        if self.error is not None:
            raise self.error("injected fault", request=request)
        headers = {"Retry-After": self.retry_after} if self.retry_after is not None else {}
        body = {
            "code": self.status,
            "reason": "TooManyRequests" if self.status == 429 else "InternalServiceFailure",
            "message": "injected fault",
            "metadata": {"trace_id": "f" * 32},
        }
        return httpx.Response(self.status, json=body, headers=headers)

    def wrap(self, inner: httpx.BaseTransport) -> httpx.MockTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            if not self._failing(request):
                return inner.handle_request(request)
            if self.drop_answers:
                inner.handle_request(request).close()
                raise httpx.ReadError("injected fault: the answer was lost", request=request)
            return self._fault(request)

        return httpx.MockTransport(handler)

    def wrap_async(self, inner: httpx.AsyncBaseTransport) -> httpx.MockTransport:
        async def handler(request: httpx.Request) -> httpx.Response:
            if not self._failing(request):
                return await inner.handle_async_request(request)
            if self.drop_answers:
                await (await inner.handle_async_request(request)).aclose()
                raise httpx.ReadError("injected fault: the answer was lost", request=request)
            return self._fault(request)

        return httpx.MockTransport(handler)

    @property
    def failed(self) -> int:
        return sum(1 for *_, failed in self.seen if failed)


def sync_client(server: Server, **kwargs: object) -> Client:
    kwargs.setdefault("transport", AppTransport(server.client))
    kwargs.setdefault("api_key", server.token)
    kwargs.setdefault("retry_backoff", 0.0)
    return Client(**kwargs)  # type: ignore[arg-type]


def flaky_client(server: Server, faults: Faults, **kwargs: object) -> Client:
    """A ``Client`` whose requests pass through ``faults`` on their way to the app."""
    return sync_client(server, transport=faults.wrap(AppTransport(server.client)), **kwargs)


def async_client(server: Server, **kwargs: object) -> AsyncClient:
    kwargs.setdefault("transport", httpx.ASGITransport(app=server.client.app))
    kwargs.setdefault("api_key", server.token)
    kwargs.setdefault("retry_backoff", 0.0)
    return AsyncClient(**kwargs)  # type: ignore[arg-type]


@pytest.fixture
def client(server: Server) -> Iterator[Client]:
    with sync_client(server) as c:
        yield c


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def slow_server(tmp_path: Path) -> Iterator[Server]:
    """Tasks take about a second: 40 steps of 25 ms."""
    yield from make_server(tmp_path / "slow", backend=FakeBackend(steps=40, delay_per_step=0.025))


@pytest.fixture
def pictures(tmp_path: Path) -> dict[str, Path]:
    from tests.images import picture

    folder = tmp_path / "pictures"
    folder.mkdir()
    out = {}
    for name, fmt in (("a.png", "PNG"), ("b.jpg", "JPEG"), ("c.webp", "WEBP")):
        path = folder / name
        path.write_bytes(picture(320, 240, fmt=fmt))
        out[name] = path
    return out
