"""API tokens: made at random, looked up by hash, kept only encrypted under the server secret.

The token itself must be recoverable because callbacks are signed with the token that created the
task; it is encrypted with a key derived from the server secret (``REFGEN_SECRET_KEY``, or a secret
generated once into the data folder with 0600 permissions).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from refgen.errors import RefgenError

TOKEN_PREFIX = "rg_"
SECRET_FILE = "secret.key"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def load_or_create_secret(data_dir: Path, configured: str | None) -> bytes:
    """The server secret: the configured one, else the data folder's (created once, mode 0600)."""
    if configured:
        return configured.encode()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = data_dir / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_bytes().strip()
        if len(secret) < 32:
            raise RefgenError(f"server secret in {path} is too short; delete it to make a new one") from None
        return secret
    with os.fdopen(fd, "wb") as f:
        f.write(secrets.token_urlsafe(48).encode())
    return path.read_bytes().strip()


class TokenCipher:
    """Encrypts tokens for storage and signs URLs, with keys derived from the server secret."""

    def __init__(self, secret: bytes) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(self._derive(secret, b"refgen token encryption")))
        self._url_key = self._derive(secret, b"refgen url signing")

    @staticmethod
    def _derive(secret: bytes, purpose: bytes) -> bytes:
        return hmac.new(secret, purpose, hashlib.sha256).digest()

    def encrypt(self, token: str) -> bytes:
        return self._fernet.encrypt(token.encode())

    def decrypt(self, blob: bytes) -> str:
        try:
            return self._fernet.decrypt(blob).decode()
        except InvalidToken:
            raise RefgenError("stored token cannot be decrypted: was the server secret changed?") from None

    def sign(self, message: str) -> str:
        digest = hmac.new(self._url_key, message.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def verify(self, message: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(message), signature)
