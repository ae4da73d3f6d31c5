"""``Idempotency-Key`` records in the SQL store, inside the transactions of :mod:`refgen.store.sql_tasks`.

A create with a key first drops the key's expired record (older than the window), then looks for a
live one; both run after the API key's row is locked, so duplicates of one API key are serialised on
SQLite (the write lock) and on PostgreSQL (``FOR UPDATE`` on the key row). The record is inserted in
the task's transaction; the primary key ``(key_id, idempotency_key)`` is what finally decides: an
insert that still collides fails its whole transaction, and :func:`is_duplicate_key` tells the
caller to read the winner's record instead.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import IntegrityError

from refgen.errors import StoreError
from refgen.store.base import IdempotencyRecord, IdempotentCreate
from refgen.store.schema import idempotency_keys
from refgen.store.times import as_utc

_KEY = idempotency_keys.c


def live_record(connection: Connection, key_id: str, create: IdempotentCreate) -> IdempotencyRecord | None:
    """The record of ``create``'s key for this API key, if made since ``create.since``."""
    row = connection.execute(
        select(_KEY.task_id, _KEY.request_hash).where(
            _KEY.key_id == key_id,
            _KEY.idempotency_key == create.key,
            _KEY.created_at >= as_utc(create.since),
        )
    ).first()
    return None if row is None else IdempotencyRecord(row.task_id, row.request_hash)


def record(connection: Connection, key_id: str, task_id: str, create: IdempotentCreate) -> None:
    """Record the key for ``task_id``, replacing an expired record of the same key."""
    connection.execute(
        delete(idempotency_keys).where(
            _KEY.key_id == key_id,
            _KEY.idempotency_key == create.key,
            _KEY.created_at < as_utc(create.since),
        )
    )
    connection.execute(
        insert(idempotency_keys).values(
            key_id=key_id,
            idempotency_key=create.key,
            request_hash=create.request_hash,
            task_id=task_id,
            created_at=as_utc(create.at),
        )
    )


def is_duplicate_key(error: StoreError) -> bool:
    """Whether a failed write broke a unique constraint (the driver's IntegrityError)."""
    return isinstance(error.__cause__, IntegrityError)
