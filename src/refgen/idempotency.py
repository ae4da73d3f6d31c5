"""What makes two creates "the same" for the ``Idempotency-Key`` header: the key's syntax and the
request hash.

The key is 1–255 printable ASCII characters (``0x20``–``0x7E``) that neither start nor end with a
space (HTTP drops spaces around a header value, so such a key could not arrive as sent). Clients
usually send a UUID.

The request hash is SHA-256 over the endpoint (the task kind) and the body's *parsed JSON* written
canonically: object keys sorted, no whitespace, non-ASCII characters as they are. So key order and
spacing do not matter, while every value does, its type included: ``"seed": 5`` and ``"seed": "5"``
are different requests, as are ``1`` and ``1.0``. The same body sent to another endpoint is a
different request too.
"""

from __future__ import annotations

import hashlib
import json
import re

from refgen.domain import TaskKind
from refgen.errors import FieldInvalid, RequestError

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
KEY_PATTERN = r"^[\x21-\x7e]([\x20-\x7e]{0,253}[\x21-\x7e])?$"
"""1–255 printable ASCII characters, no space first or last (the pattern the OpenAPI document shows)."""

_KEY = re.compile(KEY_PATTERN)


def check_key(value: str) -> str:
    """``value`` if it is a valid key, else FieldInvalid naming the header."""
    if not _KEY.fullmatch(value):
        raise FieldInvalid(
            f"invalid field: {HEADER} (1 to {MAX_KEY_LENGTH} printable ASCII characters, "
            "not starting or ending with a space)",
            field=HEADER,
        )
    return value


def request_hash(kind: TaskKind, body: object) -> str:
    """The hex SHA-256 of the endpoint and the canonical JSON of ``body`` (as parsed)."""
    try:
        canonical = json.dumps(
            [kind.value, body], sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=True
        )
    except (RecursionError, ValueError):  # what the parser read is always written back; be safe
        raise RequestError("request body cannot be compared for the Idempotency-Key") from None
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
