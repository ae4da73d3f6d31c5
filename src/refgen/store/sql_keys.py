"""API keys in the SQL store: add (one active key per name), look up, list and revoke."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, exc, insert, select, update

from refgen.domain import ApiKey
from refgen.errors import FieldInvalid, StoreError
from refgen.store.schema import api_keys
from refgen.store.sql_rows import key_values, row_to_key
from refgen.store.sql_transactions import SqlTransactions
from refgen.store.times import as_utc


class SqlKeys:
    """:class:`~refgen.store.base.KeyStore` on the ``api_keys`` table."""

    def __init__(self, db: SqlTransactions) -> None:
        self._db = db

    def add_key(self, key: ApiKey) -> None:
        try:
            with self._db.write() as connection:
                if key.revoked_at is None and _active_key_named(connection, key.name):
                    raise FieldInvalid(f"a key named {key.name!r} exists already", field="name")
                connection.execute(insert(api_keys).values(**key_values(key)))
        except StoreError as error:
            # a concurrent add of the same name (PostgreSQL) trips the partial unique index
            if isinstance(error.__cause__, exc.IntegrityError):
                with self._db.read() as connection:
                    if _active_key_named(connection, key.name):
                        raise FieldInvalid(
                            f"a key named {key.name!r} exists already", field="name"
                        ) from error
            raise

    def key_by_hash(self, token_hash: str) -> ApiKey | None:
        with self._db.read() as connection:
            row = connection.execute(_KEY_BY_HASH, {"token_hash": token_hash}).first()
        return None if row is None else row_to_key(row)

    def key_by_id(self, key_id: str) -> ApiKey | None:
        with self._db.read() as connection:
            row = connection.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
        return None if row is None else row_to_key(row)

    def list_keys(self) -> Sequence[ApiKey]:
        with self._db.read() as connection:
            rows = connection.execute(select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id)).all()
        return [row_to_key(row) for row in rows]

    def revoke_key(self, name: str, now: datetime) -> bool:
        now = as_utc(now)
        with self._db.write() as connection:
            result = connection.execute(
                update(api_keys)
                .where(api_keys.c.name == name, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            return result.rowcount > 0


def _active_key_named(connection: Connection, name: str) -> bool:
    return (
        connection.execute(
            select(api_keys.c.id).where(api_keys.c.name == name, api_keys.c.revoked_at.is_(None))
        ).first()
        is not None
    )


# built once: every request without a cached key runs it
_KEY_BY_HASH = select(api_keys).where(
    api_keys.c.token_hash == bindparam("token_hash"), api_keys.c.revoked_at.is_(None)
)
