"""How a client command fails: one line on stderr and an exit status that says what kind of failure.

A failure is one line on stderr, ``error: <reason>: <message> (HTTP n) [trace_id …]``, and
the exit status says what kind of failure it was:

====  =====================================================================
0     done
1     anything else
2     usage: a bad option, an image file that does not exist
3     authentication: no key, unknown or revoked key (401), forbidden (403)
4     not found: no such task for this key (404)
5     invalid request: the server refused what was sent (400, 413)
6     the task failed (including cancelled)
7     timeout: ``--timeout`` passed before the task ended, or a request timed out
8     server error (5xx) or the server could not be reached
9     rate limited (429)
130   interrupted (Ctrl-C); the task keeps running on the server
====  =====================================================================
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import click

from refgen.client import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    Generation,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TaskFailedError,
    WaitTimeoutError,
)

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_NOT_FOUND = 4
EXIT_INVALID = 5
EXIT_TASK_FAILED = 6
EXIT_TIMEOUT = 7
EXIT_SERVER = 8
EXIT_RATE_LIMITED = 9
EXIT_INTERRUPTED = 130

EXIT_CODES: tuple[tuple[type[APIError], int], ...] = (
    (AuthenticationError, EXIT_AUTH),
    (NotFoundError, EXIT_NOT_FOUND),
    (InvalidRequestError, EXIT_INVALID),
    (TaskFailedError, EXIT_TASK_FAILED),
    (WaitTimeoutError, EXIT_TIMEOUT),
    (APITimeoutError, EXIT_TIMEOUT),
    (RateLimitError, EXIT_RATE_LIMITED),
    (ServerError, EXIT_SERVER),
    (APIConnectionError, EXIT_SERVER),
)


def exit_code_for(error: APIError) -> int:
    for cls, code in EXIT_CODES:
        if isinstance(error, cls):
            return code
    return EXIT_FAILURE


def one_line(text: str) -> str:
    return " ".join(text.split())


def fail(message: str, exit_code: int) -> NoReturn:
    """Print ``error: <message>`` as one line on stderr and exit with ``exit_code``."""
    click.echo(f"error: {one_line(message)}", err=True)
    raise click.exceptions.Exit(exit_code)


@contextmanager
def reporting(as_json: bool, task_id: str = "") -> Iterator[None]:
    """Turn SDK errors into one line and an exit status (and, with ``--json``, an error object)."""
    try:
        yield
    except APIError as error:
        if as_json:
            generation = getattr(error, "generation", None)
            body: dict[str, Any] = {
                "error": {
                    "code": error.code,
                    "reason": error.reason,
                    "message": error.message,
                    "trace_id": error.trace_id,
                }
            }
            if isinstance(generation, Generation):
                body["task"] = generation.model_dump(mode="json")
            click.echo(json.dumps(body, indent=2))
        message = str(error)
        if type(error) is APIConnectionError:
            message += " (is the server running? see --base-url)"
        if isinstance(error, WaitTimeoutError):
            message += f"; it keeps running: refgen status {error.generation.id}"
        fail(message, exit_code_for(error))
    except FileNotFoundError as error:
        fail(f"file not found: {error.filename}", EXIT_USAGE)
    except OSError as error:
        fail(f"{error.strerror or error}: {error.filename or ''}".rstrip(": "), EXIT_FAILURE)
    except KeyboardInterrupt:
        hint = f": task {task_id} keeps running (refgen cancel {task_id} stops it)" if task_id else ""
        fail(f"interrupted{hint}", EXIT_INTERRUPTED)
