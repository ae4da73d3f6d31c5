"""Domain errors → HTTP status and the Vidu error body, in one table, each quoting the trace id."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from refgen import errors
from refgen.contract.responses import error_body
from refgen.err_codes import ErrCode
from refgen.http.trace import TRACE_HEADER, TraceMiddleware, new_trace_id

log = logging.getLogger("refgen.http")

# a create refused because too many tasks wait (429) tells the client to try again this many seconds on
RETRY_AFTER_SECONDS = 5

STATUS_BY_ERROR: tuple[tuple[type[errors.RefgenError], int], ...] = (
    (errors.BodyTooLarge, 413),
    (errors.RequestError, 400),
    (errors.Unauthorized, 401),
    (errors.Forbidden, 403),
    (errors.TaskNotFound, 404),
    (errors.NotFound, 404),
    (errors.IdempotencyConflict, 409),
    (errors.TooManyRequests, 429),
    (errors.RefgenError, 500),
)


def status_for(exc: errors.RefgenError) -> int:
    for cls, status in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status
    return 500


def trace_id(request: Request) -> str:
    value = getattr(request.state, "trace_id", None)
    if not isinstance(value, str):
        value = new_trace_id()
        request.state.trace_id = value
    return value


def error_response(
    request: Request, status: int, reason: ErrCode, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    tid = trace_id(request)
    body = error_body(status, reason, message, tid).model_dump()
    return JSONResponse(body, status_code=status, headers={**(headers or {}), TRACE_HEADER: tid})


_HTTP_REASONS = {
    401: ErrCode.UNAUTHORIZED,
    403: ErrCode.FORBIDDEN,
    404: ErrCode.NOT_FOUND,
    409: ErrCode.CONFLICT,
    429: ErrCode.TOO_MANY_REQUESTS,
}


def install_error_handlers(app: FastAPI) -> None:
    async def on_refgen_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.RefgenError)
        status = status_for(exc)
        if status >= 500:
            log.error("request failed: %s", exc, exc_info=exc)
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 429 else None
        response = error_response(request, status, exc.reason, exc.message, headers)
        if isinstance(exc, errors.BodyTooLarge):
            response.headers["Connection"] = "close"  # do not drain the rest of an oversized body
        return response

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        reason = _HTTP_REASONS.get(
            exc.status_code,
            ErrCode.BAD_REQUEST if exc.status_code < 500 else ErrCode.INTERNAL_SERVICE_FAILURE,
        )
        message = exc.detail if isinstance(exc.detail, str) else reason
        if exc.status_code == 404:
            message = f"not found: {request.method} {request.url.path}"
        # keep what the exception says about the answer, such as a 405's ``Allow``
        return error_response(request, exc.status_code, reason, message, exc.headers)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header"))
        return error_response(request, 400, ErrCode.FIELD_INVALID, f"invalid field: {where or 'request'}")

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error", exc_info=exc)
        return error_response(request, 500, ErrCode.INTERNAL_SERVICE_FAILURE, "internal service failure")

    app.add_exception_handler(errors.RefgenError, on_refgen_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_unexpected)

    app.add_middleware(TraceMiddleware)
