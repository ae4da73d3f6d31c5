"""The app factory. No module-level app or settings: ``create_app`` builds everything."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from refgen import __version__
from refgen.http.account import router as account_router
from refgen.http.console import install_console
from refgen.http.errors import install_error_handlers
from refgen.http.generation_reads import GenerationReads
from refgen.http.health import router as health_router
from refgen.http.key_cache import KeyCache
from refgen.http.metrics import install_metrics
from refgen.http.openapi import install_openapi
from refgen.http.routes import router
from refgen.http.task_list import router as task_list_router
from refgen.runtime import Runtime, build_runtime
from refgen.settings import Settings

DESCRIPTION = """Self-hosted reference-to-video and reference-to-image with the Vidu API contract.
Authenticate with `Authorization: Token <key>`."""


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    """Build the app from ``settings`` (or a ready ``runtime``, as tests do). The lifespan starts
    the workers and the reaper and stops them again."""
    if runtime is None:
        runtime = build_runtime(settings or Settings())
    ready = runtime

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ready.start()
        try:
            yield
        finally:
            ready.stop()

    app = FastAPI(
        title="refgen",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served offline by install_console, with vendored Swagger UI
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.key_cache = KeyCache(runtime.authenticator.key_for)
    days = runtime.settings.retention_days
    app.state.generation_reads = GenerationReads(
        runtime.service.get, runtime.links, retention=timedelta(days=days) if days else None
    )
    install_error_handlers(app)
    install_metrics(app)  # after the trace ids: its latency includes theirs
    app.include_router(health_router)  # first: probes and status reads are matched before the rest
    app.include_router(router)
    app.include_router(task_list_router)
    app.include_router(account_router)
    install_console(app)
    install_openapi(app)
    return app
