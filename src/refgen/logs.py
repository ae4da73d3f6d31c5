"""How refgen writes its logs: plain text (default) or one JSON object per line, tokens redacted.

:func:`configure_logging` sets up the root logger once per process (``refgen serve``, each worker
process, ``refgen worker``); uvicorn's own loggers propagate to it, so every line has one format.

- ``REFGEN_LOG_FORMAT=json``: each record is one line ``{"time", "level", "logger", "message"}``,
  plus ``trace_id`` when it was logged while a request was served, ``process`` for a worker
  process, and ``exception`` with the traceback when there is one.
- The trace id comes from :data:`current_trace_id`, a context variable: the middleware that gives
  each request its trace id calls :func:`bind_trace_id` (and resets it afterwards), so every record
  logged inside that request, in any module, carries it.
- :class:`RedactTokens` is the last line of defence against leaking credentials: whatever the
  code logs, a refgen API token (``rg_…``) and the value of an ``Authorization``-style
  ``Token``/``Bearer`` credential are replaced by ``[redacted]`` before a record is written.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from refgen.tokens import TOKEN_PREFIX

if TYPE_CHECKING:
    from refgen.settings import Settings

current_trace_id: ContextVar[str | None] = ContextVar("refgen_trace_id", default=None)
"""The trace id of the request being served in this context (None outside requests)."""

REDACTED = "[redacted]"

TOKEN_PATTERN = re.compile(
    rf"{re.escape(TOKEN_PREFIX)}[A-Za-z0-9_\-]{{16,}}"  # a refgen API token, wherever it appears
    r"|(?<=Token )[A-Za-z0-9._~+/=\-]{8,}"  # an Authorization credential, whatever its kind
    r"|(?<=Bearer )[A-Za-z0-9._~+/=\-]{8,}",
    re.IGNORECASE,
)

TEXT_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"

# loggers that are too chatty at INFO: one line per alembic plugin
_QUIET = ("alembic.runtime.plugins",)
ACCESS_LOGGER = "refgen.access"  # one line per HTTP request (refgen.http.trace)


def bind_trace_id(trace_id: str) -> Token[str | None]:
    """Records logged from now on in this context carry ``trace_id``; pass the returned token to
    :func:`unbind_trace_id` when the request is done."""
    return current_trace_id.set(trace_id)


def unbind_trace_id(token: Token[str | None]) -> None:
    current_trace_id.reset(token)


def redact(text: str) -> str:
    """``text`` with every API token and credential replaced by ``[redacted]``."""
    return TOKEN_PATTERN.sub(REDACTED, text)


class RedactTokens(logging.Filter):
    """Redacts tokens from a record's message, its arguments and its exception text, in place.

    Set on the handlers (not the loggers), so it sees the records of every logger that propagates
    to them, uvicorn's included."""

    def filter(self, record: logging.LogRecord) -> bool:
        # the message is formatted once here, and the formatter reuses it (no arguments left)
        record.msg, record.args = redact(record.getMessage()), None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class TraceIdFilter(logging.Filter):
    """Puts the current trace id (or None) on each record as ``record.trace_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "trace_id"):
            record.trace_id = current_trace_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, and ``trace_id``,
    ``process`` and ``exception`` when there are any."""

    def __init__(self, process: str | None = None) -> None:
        super().__init__()
        self._process = process

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        trace_id = getattr(record, "trace_id", None) or current_trace_id.get()
        if trace_id:
            entry["trace_id"] = trace_id
        if self._process:
            entry["process"] = self._process
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


def make_handler(
    log_format: str, process: str | None = None, stream: TextIO | None = None
) -> logging.Handler:
    """A handler writing to ``stream`` (default: stderr) in ``log_format`` (``text`` or ``json``)
    with the trace id and redaction filters; ``process`` names a worker process in each line."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter(process))
    else:
        prefix = f"{process} " if process else ""
        handler.setFormatter(logging.Formatter(TEXT_FORMAT.replace("%(name)s", prefix + "%(name)s")))
    handler.addFilter(TraceIdFilter())
    handler.addFilter(RedactTokens())
    return handler


def configure_logging(settings: Settings, *, process: str | None = None, level: int = logging.INFO) -> None:
    """Log every record at ``level`` and above to stderr in ``settings.log_format``, redacted.

    Replaces the root logger's handlers (calling it again does not double the lines) and lets
    uvicorn's loggers propagate to the root, so the server's own lines look the same."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(make_handler(settings.log_format, process))
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    # the access lines cost a quarter of a status read: REFGEN_ACCESS_LOG=false leaves them out
    logging.getLogger(ACCESS_LOGGER).setLevel(logging.NOTSET if settings.access_log else logging.WARNING)
