"""API keys in the in-memory store: add (one active key per name), look up, list and revoke."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from refgen.domain import ApiKey
from refgen.errors import FieldInvalid, StoreError
from refgen.store.times import as_utc, optional_utc
from refgen.testing.memory_state import MemoryState


class MemoryKeys:
    """:class:`~refgen.store.base.KeyStore` in memory."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def add_key(self, key: ApiKey) -> None:
        key = replace(key, created_at=as_utc(key.created_at), revoked_at=optional_utc(key.revoked_at))
        with self._state.lock:
            if key.revoked_at is None and self._active_key_named(key.name) is not None:
                raise FieldInvalid(f"a key named {key.name!r} exists already", field="name")
            if key.id in self._state.keys or any(
                k.token_hash == key.token_hash for k in self._state.keys.values()
            ):
                raise StoreError("database error: IntegrityError: duplicate key id or token hash")
            self._state.keys[key.id] = key

    def key_by_hash(self, token_hash: str) -> ApiKey | None:
        with self._state.lock:
            for key in self._state.keys.values():
                if key.token_hash == token_hash and key.revoked_at is None:
                    return key
            return None

    def key_by_id(self, key_id: str) -> ApiKey | None:
        with self._state.lock:
            return self._state.keys.get(key_id)

    def list_keys(self) -> Sequence[ApiKey]:
        with self._state.lock:
            return sorted(self._state.keys.values(), key=lambda k: (k.created_at, k.id))

    def revoke_key(self, name: str, now: datetime) -> bool:
        now = as_utc(now)
        with self._state.lock:
            key = self._active_key_named(name)
            if key is None:
                return False
            self._state.keys[key.id] = replace(key, revoked_at=now)
            return True

    def _active_key_named(self, name: str) -> ApiKey | None:
        for key in self._state.keys.values():
            if key.name == name and key.revoked_at is None:
                return key
        return None
