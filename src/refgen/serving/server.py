"""uvicorn configured from settings: connection cap, timeouts and the guarded protocol."""

from __future__ import annotations

import logging
from typing import Any

import uvicorn

from refgen.serving.guard import ConnectionGuard, ConnectionLimits
from refgen.serving.open_files import connection_cap, raise_open_files_limit
from refgen.serving.protocol import guarded_protocol
from refgen.settings import Settings

log = logging.getLogger("refgen.serving")

BACKLOG = 4096
"""Connections the kernel queues for accepting (capped by ``net.core.somaxconn``). uvicorn's 2,048 is
less than a flood holds beyond the cap; a full queue drops a fresh client's SYN, which then waits
a second or more to be sent again, whereas a queued one waits only its turn."""


def connection_limits(settings: Settings, *, max_connections: int | None = None) -> ConnectionLimits:
    return ConnectionLimits(
        max_connections=max_connections or settings.max_connections,
        header_timeout=settings.header_timeout,
        body_timeout=settings.body_timeout,
        body_min_rate=settings.body_min_rate,
    )


def build_server(
    app: Any, settings: Settings, limits: ConnectionLimits, *, log_level: str = "info"
) -> uvicorn.Server:
    """A uvicorn server for ``app`` on the settings' host and port, its connections under ``limits``."""
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        log_config=None,  # uvicorn's loggers keep the handler refgen.logs gave the root
        access_log=False,  # refgen.access writes one line per request, with its trace id
        http=guarded_protocol(ConnectionGuard(limits)),
        ws="none",  # the API has no WebSocket routes; an upgrade request gets a plain HTTP answer
        timeout_keep_alive=settings.keep_alive_timeout,
        backlog=BACKLOG,
    )
    return uvicorn.Server(config)


def run_server(app: Any, settings: Settings) -> None:
    """Raise the open-files limit, fit the connection cap inside it, log both, then serve until stopped."""
    limit = raise_open_files_limit()
    limits = connection_limits(settings, max_connections=connection_cap(settings.max_connections, limit.soft))
    log.info(
        "%s; at most %d HTTP connections (head timeout %g s, body timeout %g s, keep-alive %g s)",
        limit.describe(),
        limits.max_connections,
        limits.header_timeout,
        limits.body_timeout,
        settings.keep_alive_timeout,
    )
    build_server(app, settings, limits).run()
