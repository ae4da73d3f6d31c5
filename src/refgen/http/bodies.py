"""Reading request bodies without ever buffering more than the limit, and refusing every body that
is not plain JSON text with a clear 400 (never a 500): invalid JSON, nesting too deep for the
parser, numbers too long to convert, strings with lone surrogates (not text any database stores)."""

from __future__ import annotations

import json
import logging
import re

from fastapi import Request
from starlette.requests import ClientDisconnect

from refgen.errors import BodyTooLarge, FieldInvalid, RequestError

MAX_BODY_BYTES = 20 * 1024 * 1024
_SURROGATE = re.compile("[\ud800-\udfff]")

log = logging.getLogger("refgen.http")


async def read_json(request: Request, limit: int = MAX_BODY_BYTES, *, optional: bool = False) -> object:
    """The request's JSON body; 413 past ``limit`` bytes (checked before and while reading)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"request body is larger than {limit // (1024 * 1024)} MB")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(f"request body is larger than {limit // (1024 * 1024)} MB")
            chunks.append(chunk)
    except ClientDisconnect:
        # the client went away mid-body: nobody reads the answer, one line in the log is enough
        log.info(
            "%s %s: the client disconnected after %d bytes of its body",
            request.method,
            request.url.path,
            size,
        )
        raise RequestError("the request body ended before its Content-Length") from None
    raw = b"".join(chunks)
    if optional and not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except RecursionError:
        raise RequestError("request body is nested too deeply") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError(f"request body is not valid JSON: {exc}") from None
    except ValueError:  # an integer literal of more than 4,300 digits
        raise RequestError("request body has a number too long to read") from None
    _refuse_lone_surrogates(body)
    return body


def _refuse_lone_surrogates(body: object) -> None:
    """FieldInvalid naming the first string (or key) that holds a lone surrogate (``"\\ud800"``)."""
    pending: list[tuple[str, object]] = [("body", body)]
    while pending:
        where, value = pending.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise FieldInvalid(f"invalid field: {where} (not valid Unicode text)", field=where)
        elif isinstance(value, dict):
            for key, item in value.items():
                place = key if where == "body" else f"{where}.{key}"
                if _SURROGATE.search(key):
                    raise FieldInvalid("invalid field: a field name is not valid Unicode text", field=where)
                pending.append((place, item))
        elif isinstance(value, list):
            pending.extend((f"{where}[{i}]", item) for i, item in enumerate(value))
