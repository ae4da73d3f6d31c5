"""The connection guard in uvicorn over real sockets: both HTTP parsers, tiny limits, a plain ASGI app."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from refgen.serving.guard import ConnectionGuard, ConnectionLimits
from refgen.serving.protocol import guarded_protocol
from tests.services import free_port

Guarded = tuple[ConnectionGuard, int]


class App:
    """Answers 200 after reading the whole body; ``/block`` answers only once ``release`` is set."""

    def __init__(self) -> None:
        self.blocked = threading.Event()
        self.release = threading.Event()

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
            if message["type"] == "http.disconnect":
                return
        if scope["path"] == "/block":
            self.blocked.set()
            while not self.release.is_set():
                await asyncio.sleep(0.01)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def app() -> App:
    return App()


@pytest.fixture(params=[HttpToolsProtocol, H11Protocol], ids=["httptools", "h11"])
def serve(request: pytest.FixtureRequest, app: App) -> Iterator[Callable[[ConnectionLimits], Guarded]]:
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(limits: ConnectionLimits) -> Guarded:
        guard, port = ConnectionGuard(limits), free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            http=guarded_protocol(guard, request.param),
            ws="none",
            lifespan="off",
            log_level="warning",
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        wait_for(lambda: server.started)
        return guard, port

    yield start
    app.release.set()
    for server, thread in servers:
        server.should_exit = True
        thread.join(20)


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the state was not reached"
        time.sleep(0.01)


def connect(port: int, data: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    if data:
        sock.sendall(data)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (a reset counts as closed)."""
    answer = b""
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except ConnectionResetError:
        pass
    sock.close()
    return answer


def limits(**changes: float) -> ConnectionLimits:
    values: dict[str, Any] = {
        "max_connections": 100,
        "header_timeout": 60,
        "body_timeout": 60,
        "body_min_rate": 1e9,
    }
    return ConnectionLimits(**{**values, **changes})


def test_connection_guard_partial_head_gets_408_after_the_header_timeout(serve: Any) -> None:
    guard, port = serve(limits(header_timeout=0.3))
    sock = connect(port, b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ")
    answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    body = json.loads(answer.partition(b"\r\n\r\n")[2])
    assert (body["code"], body["reason"]) == (408, "BadRequest") and len(body["metadata"]["trace_id"]) == 32
    assert guard.counts.head_timeouts == 1


def test_connection_guard_silent_connection_is_closed_after_the_header_timeout(serve: Any) -> None:
    guard, port = serve(limits(header_timeout=0.3))
    assert read_until_closed(connect(port)) == b""
    wait_for(lambda: guard.open_count == 0)
    assert guard.counts.head_timeouts == 1


def test_connection_guard_stalled_body_is_closed_after_the_body_timeout(serve: Any) -> None:
    guard, port = serve(limits(body_timeout=0.3))
    sock = connect(port, b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n0123456789")
    assert read_until_closed(sock) == b""
    assert guard.counts.body_timeouts == 1


def test_connection_guard_keep_alive_requests_are_answered_one_after_another(serve: Any) -> None:
    guard, port = serve(limits(header_timeout=60))
    with connect(port) as sock:
        for _ in range(3):
            sock.sendall(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc")
            answer = b""
            while not answer.endswith(b"ok"):
                answer += sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200 ")
    assert guard.counts == type(guard.counts)()


def test_connection_guard_at_the_cap_a_fresh_request_is_answered_and_the_oldest_waiter_closed(
    serve: Any,
) -> None:
    guard, port = serve(limits(max_connections=2))
    oldest = connect(port)
    wait_for(lambda: guard.open_count == 1)
    half_sent = connect(port, b"GET / HTTP/1.1\r\nHost: t\r\n")
    wait_for(lambda: guard.open_count == 2)
    fresh = connect(port, b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert read_until_closed(fresh).startswith(b"HTTP/1.1 200 ")
    assert read_until_closed(oldest) == b""
    assert guard.counts.evicted == 1
    wait_for(lambda: guard.open_count == 1)  # the half-sent one is still there
    half_sent.close()


def test_connection_guard_when_every_connection_is_busy_a_new_one_gets_503(serve: Any, app: App) -> None:
    guard, port = serve(limits(max_connections=1))
    busy = connect(port, b"GET /block HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert app.blocked.wait(30)
    refused = read_until_closed(connect(port))
    assert refused.startswith(b"HTTP/1.1 503 Service Unavailable\r\n") and b"retry-after: 1\r\n" in refused
    body = json.loads(refused.partition(b"\r\n\r\n")[2])
    assert (body["code"], body["reason"]) == (503, "SystemThrottling")
    app.release.set()
    assert read_until_closed(busy).startswith(b"HTTP/1.1 200 ")
    assert guard.counts.refused == 1
