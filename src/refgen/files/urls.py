"""Links to stored files, valid 24 hours: the store's own presigned links (S3), or the server's
signed ``/files/<key>?expires=<unix>&signature=<sig>`` links (local files)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol
from urllib.parse import quote

from refgen.files.base import FileStore
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


class LinkMaker(Protocol):
    def url(self, key: str, lifetime: float = URL_LIFETIME_SECONDS) -> str: ...


class FileLinks:
    """Links for clients: presigned by the store when it can, else signed by this server."""

    def __init__(self, files: FileStore, signer: FileUrlSigner) -> None:
        self._files = files
        self._signer = signer

    def url(self, key: str, lifetime: float = URL_LIFETIME_SECONDS) -> str:
        return self._files.presigned_url(key, lifetime) or self._signer.url(key, lifetime)
