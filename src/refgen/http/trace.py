"""A trace id on every response and one access log line per request, as a plain ASGI middleware.

Starlette's ``@app.middleware("http")`` (``BaseHTTPMiddleware``) wraps each request in extra tasks and
streams; on a status read it cost more than the read itself. This middleware only adds a header to
the response's first message and, when the ``refgen.access`` logger is enabled, writes one line when
the response starts: client, method, path, HTTP version, status, milliseconds and the trace id.

The trace id is 32 hex digits, kept in the request's ``state`` (``request.state.trace_id``: error
bodies quote it) and bound (:func:`refgen.logs.bind_trace_id`) while the request runs, so log lines
written on its behalf name it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from refgen.logs import ACCESS_LOGGER, bind_trace_id, unbind_trace_id

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TRACE_HEADER = "X-Trace-Id"
_TRACE_HEADER_BYTES = TRACE_HEADER.lower().encode()

access_log = logging.getLogger(ACCESS_LOGGER)


def new_trace_id() -> str:
    return os.urandom(16).hex()


class TraceMiddleware:
    """Give each HTTP request a trace id (header ``X-Trace-Id``) and log it once it is answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tid = new_trace_id()
        state = scope.setdefault("state", {})
        state["trace_id"] = tid
        started = time.perf_counter()
        header = (_TRACE_HEADER_BYTES, tid.encode())

        answered = False

        async def send_traced(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = True
                headers = message.get("headers") or []
                # an error answer built by the outermost handler carries the header already
                if not any(name.lower() == _TRACE_HEADER_BYTES for name, _ in headers):
                    message["headers"] = [*headers, header]
                if access_log.isEnabledFor(logging.INFO):
                    _log_access(scope, message["status"], started, tid)
            await send(message)

        token = bind_trace_id(tid)
        try:
            await self.app(scope, receive, send_traced)
        except Exception:
            # the outermost handler answers 500 (quoting the same trace id from the state)
            if not answered and access_log.isEnabledFor(logging.INFO):
                _log_access(scope, 500, started, tid)
            raise
        finally:
            unbind_trace_id(token)


def _log_access(scope: Scope, status: int, started: float, tid: str) -> None:
    client = scope.get("client")
    where = f"{client[0]}:{client[1]}" if client else "-"
    path = scope.get("path", "")
    millis = (time.perf_counter() - started) * 1000
    method, version = scope.get("method", ""), scope.get("http_version", "1.1")
    access_log.info(
        '%s "%s %s HTTP/%s" %d %.1fms trace_id=%s', where, method, path, version, status, millis, tid
    )
