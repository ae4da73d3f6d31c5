"""API keys of recent requests, kept for a few seconds so that a status poll needs no key lookup.

Status reads, the task list and creates use it. A create still cannot outlive a revocation: the
store refuses a revoked key in the insert's own transaction. Cancels and the credits endpoint look
the key up every time (the balance is always current). A key revoked in the database is refused by
reads within :data:`KEY_CACHE_SECONDS`.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

import anyio.to_thread

from refgen.domain import ApiKey

KEY_CACHE_SECONDS = 5.0
KEY_CACHE_SIZE = 10_000


class KeyCache:
    """Valid keys by token, for ``ttl`` seconds each; at most ``size`` (least recently used go).
    ``lookup`` finds a token's key in the store (``None``: unknown or revoked)."""

    def __init__(
        self,
        lookup: Callable[[str], ApiKey | None],
        *,
        ttl: float = KEY_CACHE_SECONDS,
        size: int = KEY_CACHE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lookup = lookup
        self._ttl = ttl
        self._size = size
        self._clock = clock
        self._entries: OrderedDict[str, tuple[ApiKey, float]] = OrderedDict()

    async def key_for(self, token: str) -> ApiKey | None:
        """The key of ``token``; a token that matches no valid key is never kept."""
        now = self._clock()
        entry = self._entries.get(token)
        if entry is not None:
            key, expires = entry
            if expires > now:
                self._entries.move_to_end(token)
                return key
            del self._entries[token]
        found = await anyio.to_thread.run_sync(self._lookup, token)
        if found is not None:
            self._entries[token] = (found, now + self._ttl)
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return found
