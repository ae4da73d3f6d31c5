"""Reading request bodies without ever buffering more than the limit."""

from __future__ import annotations

import json

from fastapi import Request

from refgen.errors import BodyTooLarge, RequestError

MAX_BODY_BYTES = 20 * 1024 * 1024


async def read_json(request: Request, limit: int = MAX_BODY_BYTES, *, optional: bool = False) -> object:
    """The request's JSON body; 413 past ``limit`` bytes (checked before and while reading)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"request body is larger than {limit // (1024 * 1024)} MB")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"request body is larger than {limit // (1024 * 1024)} MB")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if optional and not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError(f"request body is not valid JSON: {exc}") from None
