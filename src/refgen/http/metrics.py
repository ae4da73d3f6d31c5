"""``GET /metrics`` (Prometheus text format) and the middleware that times every request.

:class:`RequestLatency` is a pure ASGI middleware: per request it reads the clock twice, notes the
status as the response starts, and makes one histogram observe labelled with the ROUTE TEMPLATE
the router matched (``/ent/v2/tasks/{task_id}/creations``), never the raw path, so the number of
series stays bounded whatever clients send.

``/metrics`` is for operators, not part of the Vidu contract: it is left out of the OpenAPI
schema. With ``REFGEN_METRICS_TOKEN`` set it answers only ``Authorization: Bearer <token>``
(401 in the Vidu error format otherwise); without it, it is open.
"""

from __future__ import annotations

from time import perf_counter

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from refgen import errors
from refgen.metrics.exposition import authorized, render
from refgen.metrics.families import UNMATCHED_ROUTE, HttpMetrics

METRICS_PATH = "/metrics"


def route_template(scope: Scope) -> str:
    """The path template of the route that served the request, or ``unmatched``."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) else UNMATCHED_ROUTE


class RequestLatency:
    """Observes each HTTP request's time into :class:`~refgen.metrics.families.HttpMetrics`."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        status = 500  # what the client gets when the app raises before it answers

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            self.metrics.observe(scope["method"], route_template(scope), status, perf_counter() - started)


def install_metrics(app: FastAPI) -> None:
    """Add ``GET /metrics`` and the latency middleware for ``app.state.runtime``'s metrics."""
    runtime = app.state.runtime
    metrics = runtime.metrics
    secret = runtime.settings.metrics_token
    token = secret.get_secret_value() if secret is not None else None
    app.add_middleware(RequestLatency, metrics=metrics.http)

    @app.get(METRICS_PATH, include_in_schema=False)
    async def scrape(request: Request) -> Response:
        if not authorized(request.headers.get("authorization"), token):
            raise errors.Unauthorized("metrics need Authorization: Bearer <REFGEN_METRICS_TOKEN>")
        body = await run_in_threadpool(render, metrics.registry)  # the queue gauges read the database
        return Response(body, media_type=CONTENT_TYPE_LATEST)
