"""Signed, expiring URLs for stored files: ``/files/<key>?expires=<unix>&signature=<sig>``."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import quote

from refgen.tokens import TokenCipher

URL_LIFETIME_SECONDS = 24 * 3600
FILES_PATH = "/files/"


class FileUrlSigner:
    def __init__(self, cipher: TokenCipher, public_url: str, clock: Callable[[], float] = time.time) -> None:
        self._cipher = cipher
        self._base = public_url.rstrip("/")
        self._clock = clock

    def url(self, key: str, lifetime: float = URL_LIFETIME_SECONDS) -> str:
        expires = int(self._clock() + lifetime)
        signature = self._cipher.sign(f"{key}\n{expires}")
        return f"{self._base}{FILES_PATH}{quote(key)}?expires={expires}&signature={signature}"

    def verify(self, key: str, expires: str, signature: str) -> bool:
        """True when the signature is ours and the URL has not expired."""
        try:
            deadline = int(expires)
        except ValueError:
            return False
        if deadline < self._clock():
            return False
        return self._cipher.verify(f"{key}\n{deadline}", signature)
