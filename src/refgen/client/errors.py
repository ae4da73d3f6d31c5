"""Every error the SDK raises, rooted at one class.

An error answered by the server carries the contract's error body: ``code`` (the HTTP status),
``reason`` (``FieldInvalid``, ``TaskNotFound``, …), ``message`` and ``trace_id`` (quote it when you
report a problem). Errors made on this side (no connection, a task that failed, a wait that ran out
of time) carry the same four attributes, so one ``except APIError`` handles them all.

::

    APIError
    ├── AuthenticationError      401 Unauthorized (missing, unknown or revoked key), 403 Forbidden
    ├── NotFoundError            404 TaskNotFound, NotFound
    ├── InvalidRequestError      400 and other 4xx: FieldInvalid, FieldItemCountOutOfRange, …, 413
    │   └── ConflictError        409 Conflict: an Idempotency-Key already used with another request
    ├── RateLimitError           429 TooManyRequests, SystemThrottling, QuotaExceeded
    ├── ServerError              5xx InternalServiceFailure
    ├── APIConnectionError       the server could not be reached, or the connection broke
    │   └── APITimeoutError      a request took longer than the client's timeout
    ├── TaskFailedError          the task ended ``failed`` (``reason`` is its ``err_code``)
    └── WaitTimeoutError         ``wait()`` gave up before the task ended
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from refgen.client.models import Generation


class APIError(Exception):
    """The root of every SDK error."""

    def __init__(
        self,
        message: str,
        *,
        code: int = 0,
        reason: str = "",
        trace_id: str = "",
        response: httpx.Response | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.reason = reason
        self.trace_id = trace_id
        self.response = response
        self.body = body

    @property
    def status_code(self) -> int:
        """The HTTP status of the response, or 0 when there was none."""
        return self.response.status_code if self.response is not None else 0

    def __str__(self) -> str:
        head = f"{self.reason}: {self.message}" if self.reason else self.message
        if self.code:
            head = f"{head} (HTTP {self.code})"
        return f"{head} [trace_id {self.trace_id}]" if self.trace_id else head

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, reason={self.reason!r}, "
            f"message={self.message!r}, trace_id={self.trace_id!r})"
        )


class AuthenticationError(APIError):
    """The key is missing, unknown or revoked (401), or a file link was refused (403)."""


class NotFoundError(APIError):
    """No such task for this key (404)."""


class InvalidRequestError(APIError):
    """The server refused the request as sent (400 and other 4xx)."""


class ConflictError(InvalidRequestError):
    """The ``Idempotency-Key`` was used in the last 24 hours with a different request (409)."""


class RateLimitError(APIError):
    """Too many requests or quota exceeded (429)."""


class ServerError(APIError):
    """The server failed (5xx)."""


class APIConnectionError(APIError):
    """The server could not be reached, or the connection broke."""


class APITimeoutError(APIConnectionError):
    """A request took longer than the client's timeout."""


class TaskFailedError(APIError):
    """The task ended ``failed``; ``reason`` is its ``err_code`` and ``generation`` its last state."""

    def __init__(self, generation: Generation) -> None:
        reason = generation.err_code or "InternalServiceFailure"
        what = "was cancelled" if reason == "UserCancelled" else "failed"
        super().__init__(f"task {generation.id} {what}", reason=reason, body=generation)
        self.generation = generation


class WaitTimeoutError(APIError):
    """``wait()`` gave up before the task ended; ``generation`` is its last known state."""

    def __init__(self, generation: Generation, timeout: float) -> None:
        super().__init__(
            f"task {generation.id} still {generation.state} after {timeout:g} s",
            reason="WaitTimeout",
            body=generation,
        )
        self.generation = generation
        self.timeout = timeout


def _class_for(status: int) -> type[APIError]:
    if status in (401, 403):
        return AuthenticationError
    if status == 404:
        return NotFoundError
    if status == 409:
        return ConflictError
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ServerError
    return InvalidRequestError


def error_from_response(response: httpx.Response) -> APIError:
    """The error for a response with status >= 400, or a 2xx JSON body with a non-null ``code``.

    The response must have been read. Bodies that are not the contract's (a proxy's HTML page, say)
    still give an error of the right class, with the status as reason and the start of the text.
    """
    status = response.status_code
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    trace_id = response.headers.get("x-trace-id", "")
    if isinstance(body, dict) and body.get("code") is not None:
        metadata = body.get("metadata")
        if isinstance(metadata, dict) and isinstance(metadata.get("trace_id"), str):
            trace_id = metadata["trace_id"]
        try:
            code = int(body["code"])
        except (TypeError, ValueError):
            code = status
        reason = str(body.get("reason") or "")
        message = str(body.get("message") or body.get("msg") or reason or f"HTTP {status}")
        # A 2xx body with an error code (the contract allows it) is classed by that code.
        cls = _class_for(code if status < 400 and code >= 400 else status)
        return cls(message, code=code, reason=reason, trace_id=trace_id, response=response, body=body)
    text = response.text.strip().replace("\n", " ")
    message = text[:200] if text else (response.reason_phrase or f"HTTP {status}")
    reason = response.reason_phrase.replace(" ", "") if response.reason_phrase else ""
    return _class_for(status)(
        message, code=status, reason=reason, trace_id=trace_id, response=response, body=body
    )


def error_from_transport(exc: httpx.TransportError, request: httpx.Request) -> APIConnectionError:
    where = f"{request.url.scheme}://{request.url.netloc.decode('ascii', 'replace')}"
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"request to {where} timed out ({type(exc).__name__})", reason="Timeout")
    detail = str(exc) or type(exc).__name__
    return APIConnectionError(f"could not reach {where}: {detail}", reason="ConnectionError")
