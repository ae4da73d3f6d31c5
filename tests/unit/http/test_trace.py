"""Trace ids and access lines: one per request, the trace id in the header, the body and the log."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from refgen.http.errors import install_error_handlers
from refgen.logs import current_trace_id
from tests.conftest import Server

ACCESS = re.compile(r'^[\d.:a-z-]+ "(GET|POST) (\S+) HTTP/1\.1" (\d{3}) [\d.]+ms trace_id=([0-9a-f]{32})$')


def access_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str, int, str]]:
    lines = []
    for record in caplog.records:
        if record.name == "refgen.access":
            match = ACCESS.match(record.getMessage())
            assert match, record.getMessage()
            lines.append((match[1], match[2], int(match[3]), match[4]))
    return lines


def test_trace_each_request_has_one_access_line_with_its_trace_id(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="refgen.access")
    ok = server.client.get("/healthz")
    missing = server.client.get("/ent/v2/tasks/nope/creations?secret=1", headers=server.auth)
    assert access_lines(caplog) == [
        ("GET", "/healthz", 200, ok.headers["x-trace-id"]),
        ("GET", "/ent/v2/tasks/nope/creations", 404, missing.headers["x-trace-id"]),
    ]
    assert missing.json()["metadata"]["trace_id"] == missing.headers["x-trace-id"]
    assert ok.headers["x-trace-id"] != missing.headers["x-trace-id"]


def test_trace_an_unexpected_error_answers_500_with_one_trace_id_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = FastAPI()
    install_error_handlers(app)
    seen: list[str | None] = []

    @app.get("/boom")
    async def boom() -> None:
        seen.append(current_trace_id.get())
        raise RuntimeError("boom")

    caplog.set_level(logging.INFO, logger="refgen.access")
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    tid = response.headers["x-trace-id"]
    assert response.status_code == 500 and response.json()["metadata"]["trace_id"] == tid
    assert response.headers.get_list("x-trace-id") == [tid]
    assert seen == [tid]
    assert access_lines(caplog) == [("GET", "/boom", 500, tid)]
    assert current_trace_id.get() is None


def test_trace_no_access_line_when_the_logger_is_quiet(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="refgen.access")
    server.client.get("/healthz")
    assert access_lines(caplog) == []
