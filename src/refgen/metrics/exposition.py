"""Serving metrics: the bearer-token check, the folder ``refgen serve``'s worker processes count
into, and the small HTTP server of ``refgen worker --metrics-port``.

``refgen serve`` runs its generation workers as spawned child processes. Each child counts its
runs in prometheus-client's multiprocess mode, into files in ``<data dir>/metrics`` (emptied when
the server starts); the server's ``/metrics`` adds them up at scrape time with a
``MultiProcessCollector``, next to its own in-memory families. ``refgen worker`` on another
machine has no server to add its counts to: it serves its own registry on ``--metrics-port``.
"""

from __future__ import annotations

import hmac
import os
import shutil
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
METRICS_FOLDER = "metrics"

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def authorized(header: str | None, token: str | None) -> bool:
    """Whether an ``Authorization`` header value carries ``Bearer <token>`` (always, without a token)."""
    if token is None:
        return True
    if header is None:
        return False
    scheme, _, value = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


def render(registry: CollectorRegistry) -> bytes:
    """The registry in the Prometheus text format (:data:`CONTENT_TYPE_LATEST`)."""
    return generate_latest(registry)


def fresh_multiprocess_dir(data_dir: Path) -> Path:
    """An empty ``<data_dir>/metrics`` (owner only) for this server's worker processes: counts
    of an earlier run are removed, so counters start at zero with the server."""
    path = data_dir / METRICS_FOLDER
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(mode=0o700, parents=True)
    return path


def add_worker_processes(registry: CollectorRegistry, path: Path) -> None:
    """Add up, at each scrape, what the worker processes counted into ``path``."""
    MultiProcessCollector(registry, path=str(path))  # type: ignore[no-untyped-call]


def count_into(path: str) -> None:
    """Make this process (a spawned worker) count its metrics into the files in ``path``.

    Called first thing in the child: prometheus-client picks the kind of value a metric keeps
    when it is imported, so the choice is made again here in case something imported it already."""
    os.environ[MULTIPROCESS_ENV] = path
    from prometheus_client import values

    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # scrapes are not worth a log line
        pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class MetricsServer:
    """``GET /metrics`` of one registry on ``host:port`` in a thread, behind the bearer token when
    one is given (401 otherwise). ``port`` 0 picks a free one (:attr:`port` says which)."""

    def __init__(self, registry: CollectorRegistry, host: str, port: int, token: str | None) -> None:
        self._registry = registry
        self._token = token
        self._server = make_server(host, port, self._app, _ThreadingServer, handler_class=_Quiet)
        self.port: int = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics", daemon=True)

    def _app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") not in ("/metrics", "/"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        if not authorized(environ.get("HTTP_AUTHORIZATION"), self._token):
            challenge = [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")]
            start_response("401 Unauthorized", challenge)
            return [b"unauthorized\n"]
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
        return [render(self._registry)]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
