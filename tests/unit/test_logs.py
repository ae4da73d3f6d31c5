"""refgen.logs: JSON lines with the trace id, the plain text default, and tokens never written."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from refgen.logs import (
    ACCESS_LOGGER,
    REDACTED,
    bind_trace_id,
    configure_logging,
    current_trace_id,
    make_handler,
    redact,
    unbind_trace_id,
)
from refgen.settings import Settings
from refgen.tokens import new_token


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("refgen.test-logs")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log
    log.handlers.clear()
    log.propagate = True


def capture(logger: logging.Logger, log_format: str, process: str | None = None) -> io.StringIO:
    stream = io.StringIO()
    logger.addHandler(make_handler(log_format, process, stream))
    return stream


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_logs_json_one_object_per_line_with_trace_id_inside_a_request(logger: logging.Logger) -> None:
    stream = capture(logger, "json")
    logger.info("before %s", "the request")
    bound = bind_trace_id("a" * 32)
    try:
        logger.warning("inside\nwith a newline")
    finally:
        unbind_trace_id(bound)
    logger.error("after")
    first, inside, after = lines(stream)
    assert first["message"] == "before the request" and "trace_id" not in first
    assert inside == {
        "time": inside["time"],
        "level": "WARNING",
        "logger": "refgen.test-logs",
        "message": "inside\nwith a newline",
        "trace_id": "a" * 32,
    }
    assert inside["time"].endswith("+00:00")
    assert "trace_id" not in after and current_trace_id.get() is None


def test_logs_json_carries_the_exception_and_the_process(logger: logging.Logger) -> None:
    stream = capture(logger, "json", process="worker-1")
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("it failed")
    (entry,) = lines(stream)
    assert entry["process"] == "worker-1" and entry["level"] == "ERROR"
    assert "ValueError: boom" in entry["exception"] and "Traceback" in entry["exception"]


def test_logs_text_is_the_default_format() -> None:
    assert Settings().log_format == "text"
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        configure_logging(Settings())
        (handler,) = root.handlers
        record = logging.LogRecord("refgen.x", logging.INFO, __file__, 1, "hello %s", ("you",), None)
        assert handler.format(record).endswith(" refgen.x INFO hello you")
        configure_logging(Settings(log_format="json"))  # again: replaces, never doubles
        (handler,) = root.handlers
        assert json.loads(handler.format(record))["message"] == "hello you"
        assert logging.getLogger("uvicorn.access").propagate and not logging.getLogger("uvicorn").handlers
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def test_logs_access_lines_follow_the_access_log_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    root, access = logging.getLogger(), logging.getLogger(ACCESS_LOGGER)
    saved_handlers, saved_level, saved_access = root.handlers[:], root.level, access.level
    try:
        monkeypatch.setenv("REFGEN_ACCESS_LOG", "false")
        configure_logging(Settings())
        assert not access.isEnabledFor(logging.INFO) and access.isEnabledFor(logging.WARNING)
        monkeypatch.delenv("REFGEN_ACCESS_LOG")
        configure_logging(Settings())  # the default: one line per request
        assert access.isEnabledFor(logging.INFO)
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        access.setLevel(saved_access)


def test_logs_settings_refuse_an_unknown_format() -> None:
    with pytest.raises(ValueError, match="log_format"):
        Settings(log_format="xml")  # type: ignore[arg-type]


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_logs_redact_tokens_in_messages_arguments_and_exceptions(
    logger: logging.Logger, log_format: str
) -> None:
    token = new_token()
    stream = capture(logger, log_format)
    logger.info("created key with token %s", token)
    logger.info("headers: %r", {"Authorization": f"Token {token}", "Accept": "*/*"})
    logger.info("metrics scraped with Authorization: Bearer s3cret-metrics-token")
    logger.info("callback to https://hooks.example/cb?auth=%s&x=1", token)
    try:
        raise RuntimeError(f"request failed with headers {{'authorization': 'Token {token}'}}")
    except RuntimeError:
        logger.exception("unexpected error")
    text = stream.getvalue()
    assert token not in text and "s3cret-metrics-token" not in text
    assert text.count(REDACTED) == 5
    assert "created key with token [redacted]" in text and "Accept" in text and "&x=1" in text


def test_logs_redact_leaves_ordinary_text_alone() -> None:
    for text in ("task 0123 failed: OutOfMemory", "the token cannot be decrypted", "rg_short"):
        assert redact(text) == text
