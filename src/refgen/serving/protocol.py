"""uvicorn's HTTP protocol with a :class:`~refgen.serving.guard.ConnectionGuard` watching each connection.

The protocol class is made per server (the guard is a class attribute of it), because uvicorn builds
protocols from a class and fixed arguments. It reports the connection's phase to the guard after each
read and each finished response; the guard's sweep runs on the event loop while connections are open.
"""

from __future__ import annotations

import asyncio
import http
import os
from typing import Any, ClassVar

from uvicorn.protocols.http.flow_control import FlowControl

from refgen.contract.responses import error_body
from refgen.err_codes import ErrCode
from refgen.serving.guard import ConnectionGuard


class Sweeper:
    """Runs the guard's sweep every ``sweep_every`` seconds on the loop while any connection is open."""

    def __init__(self, guard: ConnectionGuard) -> None:
        self.guard = guard
        self._handle: asyncio.TimerHandle | None = None

    def ensure_running(self) -> None:
        if self._handle is None:
            self._handle = asyncio.get_running_loop().call_later(self.guard.limits.sweep_every, self._tick)

    def _tick(self) -> None:
        self._handle = None
        self.guard.sweep()
        if self.guard.open_count:
            self.ensure_running()


_REFUSALS: dict[int, tuple[ErrCode, str]] = {
    408: (ErrCode.BAD_REQUEST, "the request head did not arrive in time"),
    503: (ErrCode.SYSTEM_THROTTLING, "too many connections are open: try again in a second"),
}


def _answer(status: int) -> bytes:
    """The whole answer to a connection the guard refuses: the Vidu error body, then close."""
    reason, message = _REFUSALS[status]
    trace_id = os.urandom(16).hex()
    body = error_body(status, reason, message, trace_id).model_dump_json().encode()
    extra = b"retry-after: 1\r\n" if status == 503 else b""
    phrase = http.HTTPStatus(status).phrase.encode()
    head = b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n" % (
        status,
        phrase,
        len(body),
    )
    return head + b"x-trace-id: %s\r\nconnection: close\r\n%s\r\n" % (trace_id.encode(), extra) + body


class GuardedHttp(asyncio.Protocol):
    """Mixed in before uvicorn's HTTP protocol (httptools or h11); see :func:`guarded_protocol`."""

    guard: ClassVar[ConnectionGuard]
    sweeper: ClassVar[Sweeper]
    # set by uvicorn's protocol
    transport: asyncio.Transport
    flow: FlowControl
    cycle: Any  # the implementation's RequestResponseCycle, or None before the first request

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.sweeper.ensure_running()
        self.guard.opened(self)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._report(len(data))

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]  # defined by both of uvicorn's protocols
        self._report(0)

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.closed(self)
        super().connection_lost(exc)

    def _report(self, received: int) -> None:
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            self.guard.waiting(self, received)
        elif cycle.more_body:
            self.guard.receiving(self, received)
        else:
            self.guard.busy(self)

    # what the guard needs of a connection

    def close_with(self, status: int | None) -> None:
        if self.transport.is_closing():
            return
        if status is None:
            self.transport.abort()
            return
        self.transport.write(_answer(status))
        self.transport.close()

    def reading_paused(self) -> bool:
        return bool(self.flow.read_paused)


def default_base() -> type[asyncio.Protocol]:
    """The protocol uvicorn's ``http="auto"`` picks: httptools where installed, else h11."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # pragma: no cover - uvicorn[standard] installs httptools
        from uvicorn.protocols.http.h11_impl import H11Protocol

        return H11Protocol
    return HttpToolsProtocol


def guarded_protocol(
    guard: ConnectionGuard, base: type[asyncio.Protocol] | None = None
) -> type[asyncio.Protocol]:
    """A protocol class for ``uvicorn.Config(http=...)`` whose connections ``guard`` watches."""
    attributes = {"guard": guard, "sweeper": Sweeper(guard)}
    return type("GuardedHttpProtocol", (GuardedHttp, base or default_base()), attributes)
