"""The SQL store's transactions: the engine, one read or write transaction at a time, and the one
place where driver errors become :class:`~refgen.errors.StoreError`.

Every part of :class:`~refgen.store.sql.SqlStore` (keys, tasks, queue, workers, outbox) is given
the store's one :class:`SqlTransactions`: a read takes a plain transaction, a write one that holds
the write lock from its start (``BEGIN IMMEDIATE`` on SQLite, see :mod:`refgen.store.engine`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, exc, select

from refgen.errors import StoreError
from refgen.store.engine import BEGIN_IMMEDIATE, is_configured_sqlite


@contextmanager
def _translate() -> Iterator[None]:
    try:
        yield
    except exc.SQLAlchemyError as error:
        detail = error.orig if isinstance(error, exc.DBAPIError) else error
        raise StoreError(f"database error: {type(detail).__name__}: {detail}") from error


class SqlTransactions:
    """The engine (owned by the caller) and the read and write transactions on it."""

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name == "sqlite" and not is_configured_sqlite(engine):
            raise ValueError("SqlStore needs a SQLite engine made by refgen.store.engine.make_engine")
        self._engine = engine
        self._writer = engine.execution_options(**{BEGIN_IMMEDIATE: True})

    @property
    def row_locks(self) -> bool:
        """Whether ``FOR UPDATE`` locks rows (PostgreSQL); SQLite ignores it and serialises writers."""
        return self._engine.dialect.name == "postgresql"

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with _translate(), self._engine.begin() as connection:
            yield connection

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with _translate(), self._writer.begin() as connection:
            yield connection

    def ping(self) -> bool:
        """Whether the database answers (for readiness checks)."""
        try:
            with self._engine.connect() as connection:
                connection.execute(select(1))
            return True
        except exc.SQLAlchemyError:
            return False
