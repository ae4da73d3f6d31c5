"""Checking a callback on the receiving side: signature, freshness of ``Date``, replayed nonces.

Usable by any receiver (it needs only the standard library)::

    from refgen.callbacks import NonceCache, verify

    nonces = NonceCache()
    if not verify("POST", full_url, request_headers, api_token, nonces=nonces):
        ...  # answer 401 and ignore the body
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, TypeAlias

from refgen.callbacks.signing import (
    ACCESS_KEY,
    ACCESS_KEY_HEADER,
    ALGORITHM,
    ALGORITHM_HEADER,
    DATE,
    NONCE,
    SIGNATURE_HEADER,
    SIGNED_HEADERS_HEADER,
    sign,
    signing_string,
    split_header_names,
)

DEFAULT_MAX_AGE = 300.0


class _HasItems(Protocol):
    def items(self) -> Iterable[tuple[str, Any]]: ...


#: Request headers: a mapping (``dict``, Starlette's ``Headers``), ``http.server``'s
#: ``self.headers`` (an ``email.message.Message``), or ``(name, value)`` pairs.
Headers: TypeAlias = Mapping[str, str] | _HasItems | Iterable[tuple[str, str]]


class NonceCache:
    """Nonces seen in the last ``ttl`` seconds; thread-safe.

    ``ttl`` should cover the whole window :func:`verify` accepts a ``Date`` in (``max_age``
    either side of now): a nonce forgotten earlier could be replayed while its ``Date`` is still
    fresh. ``max_entries`` bounds memory; past it the oldest nonces are forgotten first.
    """

    def __init__(
        self,
        ttl: float = 2 * DEFAULT_MAX_AGE,
        *,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, float] = OrderedDict()  # nonce -> when it expires, oldest first

    def add(self, nonce: str) -> bool:
        """Remember ``nonce``; False if it was seen within ``ttl`` (a replay)."""
        now = self._clock()
        with self._lock:
            while self._seen:
                oldest, expires = next(iter(self._seen.items()))
                if expires > now and len(self._seen) < self.max_entries:
                    break
                del self._seen[oldest]
            if nonce in self._seen:
                return False
            self._seen[nonce] = now + self.ttl
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)


def verify(
    method: str,
    url: str,
    headers: Headers,
    token: str,
    *,
    now: datetime | None = None,
    max_age: float = DEFAULT_MAX_AGE,
    nonces: NonceCache | None = None,
) -> bool:
    """Whether a request is a callback signed with ``token``, fresh, and (given ``nonces``) not a replay.

    ``url`` is the URL the request was sent to, as the receiver registered it as ``callback_url``
    (its path and raw query are signed). Checks, in order: the algorithm and access-key headers,
    that ``Date`` and ``x-request-nonce`` are among the signed headers and each signed header
    appears once, the signature (compared in constant time), that ``Date`` is within ``max_age``
    seconds of ``now`` (default: the current time), and, when ``nonces`` is given, that the nonce
    was not seen before. Only an authentic request's nonce is remembered.
    """
    values, counts = _collect(headers)
    if values.get(ALGORITHM_HEADER.lower(), "").strip().lower() != ALGORITHM:
        return False
    if values.get(ACCESS_KEY_HEADER.lower(), "").strip() != ACCESS_KEY:
        return False
    names = split_header_names(values.get(SIGNED_HEADERS_HEADER.lower(), ""))
    lowered = [name.lower() for name in names]
    if DATE.lower() not in lowered or NONCE.lower() not in lowered:
        return False
    if any(counts.get(name, 0) != 1 for name in {*lowered, DATE.lower()}):
        return False
    expected = sign(token, signing_string(method, url, values, names))
    if not hmac.compare_digest(expected.encode(), values.get(SIGNATURE_HEADER.lower(), "").strip().encode()):
        return False
    try:
        sent = parsedate_to_datetime(values[DATE.lower()])
    except (TypeError, ValueError):
        return False
    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=UTC)
    moment = now if now is not None else datetime.now(UTC)
    if abs((moment - sent).total_seconds()) > max_age:
        return False
    return nonces is None or nonces.add(values[NONCE.lower()])


def _collect(headers: Headers) -> tuple[dict[str, str], dict[str, int]]:
    """Header values by lower-cased name (first one wins) and how often each name appears."""
    items: Iterable[tuple[str, Any]]
    if hasattr(headers, "multi_items"):  # Starlette's Headers: every value, not just the first
        items = headers.multi_items()
    elif hasattr(headers, "items"):
        items = headers.items()
    else:
        items = headers
    values: dict[str, str] = {}
    counts: dict[str, int] = {}
    for name, value in items:
        key = str(name).lower()
        values.setdefault(key, str(value))
        counts[key] = counts.get(key, 0) + 1
    return values, counts
