"""What ``/openapi.json`` says beyond what FastAPI infers: every answer a route can give, bodies the
create routes read themselves, their ``Idempotency-Key`` header, the ``X-Trace-Id`` header, and links
from a created task onward.

The create and cancel routes read their bodies with the size limit (:mod:`refgen.http.bodies`), so
their request bodies are declared here (``openapi_extra``), from the models in
:mod:`refgen.contract.bodies`. Validation errors are 400 with the Vidu error body, never FastAPI's 422.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Header
from fastapi.openapi.utils import get_openapi

from refgen.contract.bodies import BODY_MODELS, EXAMPLES
from refgen.contract.responses import ErrorBody
from refgen.domain import TaskKind
from refgen.http.errors import RETRY_AFTER_SECONDS
from refgen.http.trace import TRACE_HEADER
from refgen.idempotency import HEADER, KEY_PATTERN, MAX_KEY_LENGTH

ERROR_DESCRIPTIONS = {
    400: "Refused: the body or a parameter is invalid (`reason` and `message` name the field).",
    401: "Missing or invalid API key.",
    403: "Link expired or signature invalid.",
    404: "No such task for this key (`TaskNotFound`), or no such path or file (`NotFound`).",
    405: "Method not allowed (the `Allow` header lists the allowed ones).",
    409: (
        "`Conflict`: this `Idempotency-Key` was used in the last 24 hours with a different request "
        "(another body or endpoint); nothing was stored."
    ),
    413: "Request body larger than 20 MB.",
    429: (
        "Too many tasks waiting: for this key (`TooManyRequests`) or the whole server "
        "(`SystemThrottling`); nothing was stored. Retry after `Retry-After` seconds."
    ),
    500: "Internal service failure.",
}


_RETRY_AFTER = {
    "description": f"Seconds to wait before trying again (always {RETRY_AFTER_SECONDS}).",
    "schema": {"type": "integer", "minimum": 0},
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error answers a route can give; 500 always. A 429 declares its ``Retry-After`` header."""
    answers: dict[int | str, dict[str, Any]] = {
        s: {"model": ErrorBody, "description": ERROR_DESCRIPTIONS[s]} for s in sorted({*statuses, 500})
    }
    if 429 in answers:
        answers[429]["headers"] = {"Retry-After": _RETRY_AFTER}
    return answers


def _key_schema(schema: dict[str, Any]) -> None:
    """A plain string with the key's syntax (``refgen.idempotency.check_key`` checks it, so a bad key
    is a 400 in the contract's form), not FastAPI's "string or null"."""
    schema.pop("anyOf", None)
    schema.update(type="string", pattern=KEY_PATTERN, minLength=1, maxLength=MAX_KEY_LENGTH)


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias=HEADER,
        description=(
            "Optional; makes the create safe to retry. The same key (per API key) with the same "
            "request within 24 hours answers the task it created (same `task_id`, 200, no second task "
            "or charge); with a different request, 409 `Conflict`. 1–255 printable ASCII characters "
            "(a UUID, say); a create that is refused stores nothing for its key."
        ),
        json_schema_extra=lambda schema: _key_schema(schema),
    ),
]
"""The ``Idempotency-Key`` request header of every create route."""


def create_body(kind: TaskKind) -> dict[str, Any]:
    """``openapi_extra`` declaring a create route's JSON body (read by the route itself)."""
    schema = BODY_MODELS[kind].model_json_schema()
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema, "example": EXAMPLES[kind]}},
        }
    }


def optional_body(description: str) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads and ignores an optional JSON body."""
    return {
        "requestBody": {
            "required": False,
            "description": description,
            "content": {"application/json": {"schema": {}}},
        }
    }


def task_links() -> dict[str, Any]:
    """Links from a created task's ``task_id`` to the calls that take it."""
    parameters = {"task_id": "$response.body#/task_id"}
    return {
        "GetGeneration": {"operationId": "get_generation", "parameters": parameters},
        "CancelTask": {"operationId": "cancel_task", "parameters": parameters},
    }


_TRACE = {
    "description": "The request's trace id (also in error bodies).",
    "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
}


def _finish(schema: dict[str, Any]) -> dict[str, Any]:
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            responses = operation.get("responses", {})
            responses.pop("422", None)  # validation errors are 400s with the error body
            for response in responses.values():
                response.setdefault("headers", {})[TRACE_HEADER] = _TRACE
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    return schema


def install_openapi(app: FastAPI) -> None:
    """Serve the finished schema at ``app.openapi_url`` (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _finish(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
