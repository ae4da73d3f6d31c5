"""How a callback is signed: the signing string and its HMAC-SHA256 (spec, "Callbacks").

Pure functions over the standard library, shared by the server (which signs) and by receivers
(:func:`refgen.callbacks.verify`). The signing string is::

    METHOD "\\n" path "\\n" query "\\n" "vidu" "\\n" <Date value> "\\n"
    then for each header named in X-HMAC-SIGNED-HEADERS, in order:  Name ":" value "\\n"

``path`` is the URL's path exactly as written (``/`` if empty), ``query`` its raw query string
(not sorted, not re-encoded; ``""`` if none), and header names are written as listed. The
signature is ``base64(HMAC-SHA256(key=the API token that created the task, msg=signing_string))``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

ACCESS_KEY = "vidu"
ALGORITHM = "hmac-sha256"
SIGNED_HEADERS: tuple[str, ...] = ("Date", "x-request-nonce")

DATE = "Date"
NONCE = "x-request-nonce"
SIGNED_HEADERS_HEADER = "X-HMAC-SIGNED-HEADERS"
ALGORITHM_HEADER = "X-HMAC-ALGORITHM"
ACCESS_KEY_HEADER = "X-HMAC-ACCESS-KEY"
SIGNATURE_HEADER = "X-HMAC-SIGNATURE"


def path_and_query(url: str) -> tuple[str, str]:
    """The URL's path as written (``/`` if empty) and its raw query string (``""`` if none)."""
    parts = urlsplit(url)
    return parts.path or "/", parts.query


def http_date(moment: datetime) -> str:
    """``moment`` as an RFC 7231 date: ``Tue, 06 May 2025 12:09:42 GMT``."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware one")
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def split_header_names(value: str) -> list[str]:
    """The names listed in an ``X-HMAC-SIGNED-HEADERS`` value (``Date;x-request-nonce``), as written."""
    return [name.strip() for name in value.split(";") if name.strip()]


def signing_string(
    method: str, url: str, headers: Mapping[str, str], signed_headers: Sequence[str] = SIGNED_HEADERS
) -> str:
    """The string to sign for a request to ``url``.

    ``headers`` maps header names to values; names are looked up case-insensitively, and the
    ones in ``signed_headers`` are written as listed there. A listed header that is missing
    raises :class:`KeyError`, as does a missing ``Date``.
    """
    values = _lowered(headers.items())
    path, query = path_and_query(url)
    lines = [method.upper(), path, query, ACCESS_KEY, values[DATE.lower()]]
    lines += [f"{name}:{values[name.lower()]}" for name in signed_headers]
    return "".join(line + "\n" for line in lines)


def sign(token: str, message: str) -> str:
    """``base64(HMAC-SHA256(token, message))``."""
    digest = hmac.new(token.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_headers(method: str, url: str, token: str, now: datetime, nonce: str) -> dict[str, str]:
    """Every header a signed callback carries, for a request made at ``now`` with ``nonce``."""
    headers = {
        DATE: http_date(now),
        NONCE: nonce,
        SIGNED_HEADERS_HEADER: ";".join(SIGNED_HEADERS),
        ALGORITHM_HEADER: ALGORITHM,
        ACCESS_KEY_HEADER: ACCESS_KEY,
    }
    headers[SIGNATURE_HEADER] = sign(token, signing_string(method, url, headers, SIGNED_HEADERS))
    return headers


def _lowered(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Header values by lower-cased name; the first of repeated headers wins."""
    values: dict[str, str] = {}
    for name, value in items:
        values.setdefault(name.lower(), str(value))
    return values
