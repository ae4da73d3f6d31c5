"""API keys: create one (the token is shown once), list, revoke."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Protocol

from refgen.domain import ApiKey
from refgen.errors import FieldInvalid
from refgen.tokens import TokenCipher, hash_token, new_token


class KeyAdder(Protocol):
    """Where a new key is stored (a :class:`~refgen.store.base.KeyStore` is one)."""

    def add_key(self, key: ApiKey) -> None: ...


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def create_key(
    keys: KeyAdder,
    cipher: TokenCipher,
    name: str,
    *,
    credits: int | None = None,
    concurrency: int = 5,
    now: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key; returns it with its token, which is never shown again."""
    if not _NAME.match(name):
        raise FieldInvalid("invalid field: name (letters, digits, '.', '_' or '-', at most 64)", field="name")
    if concurrency < 1:
        raise FieldInvalid("invalid field: concurrency (at least 1)", field="concurrency")
    if credits is not None and credits < 0:
        raise FieldInvalid("invalid field: credits (0 or more)", field="credits")
    token = new_token()
    key = ApiKey(
        id=uuid.uuid4().hex,
        name=name,
        token_hash=hash_token(token),
        token_encrypted=cipher.encrypt(token),
        concurrency=concurrency,
        credits=credits,
        created_at=now or datetime.now(UTC),
    )
    keys.add_key(key)
    return key, token
