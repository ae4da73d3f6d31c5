"""Engines for the task database: a SQLite file shared by several processes, or PostgreSQL.

SQLite is tuned for the embedded deployment, where the API process and its worker child processes
each open their own engine on one file: WAL journal (readers never block the writer), a busy
timeout (a writer waits for the lock instead of failing at once), foreign keys on, and
``synchronous=NORMAL`` (safe with WAL).

Transactions on SQLite: pysqlite's own transaction handling is switched off and SQLAlchemy's
``begin`` event emits the ``BEGIN`` (the SQLAlchemy documentation's pysqlite recipe). A connection
carrying the execution option :data:`BEGIN_IMMEDIATE` starts with ``BEGIN IMMEDIATE``: it takes the
database's write lock first, so read-then-write transactions (claiming a task, checking credits)
are serialised across processes and never fail half-way with ``SQLITE_BUSY``.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

from refgen.errors import StoreError

DRIVER_EXTRAS = {"postgresql": "postgres"}
"""Database backends whose driver ships in a package extra, and that extra."""

BEGIN_IMMEDIATE = "refgen_begin_immediate"
"""Execution option: on SQLite, start this connection's transactions with ``BEGIN IMMEDIATE``."""

SQLITE_BUSY_TIMEOUT_MS = 10_000


def normalise_url(url: str | URL) -> URL:
    """``postgresql://`` and ``postgres://`` become ``postgresql+psycopg://`` (psycopg 3)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def sqlite_file(url: str | URL) -> Path | None:
    """The file of a SQLite database URL; ``None`` for an in-memory database or another server."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def make_engine(url: str | URL, *, echo: bool = False) -> Engine:
    """An engine for ``url`` (``sqlite:///path/to/db.sqlite3`` or ``postgresql://…``).

    For a SQLite file the parent folder is created. Call ``dispose()`` when done with it.
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = sqlite_file(parsed)
        if database is not None:
            database.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, echo=echo)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    try:
        return create_engine(parsed, echo=echo, pool_pre_ping=True)
    except ModuleNotFoundError as exc:  # the driver of this database is an extra
        extra = DRIVER_EXTRAS.get(parsed.get_backend_name())
        if extra is None:
            raise
        raise StoreError(
            f"{parsed.get_backend_name()} databases need the {extra} extra: pip install 'refgen[{extra}]' "
            f"({exc})"
        ) from None


def is_configured_sqlite(engine: Engine) -> bool:
    """Whether ``engine`` is a SQLite engine set up by :func:`make_engine`."""
    return engine.dialect.name == "sqlite" and event.contains(engine, "begin", _sqlite_on_begin)


def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # stop pysqlite from emitting BEGIN (and COMMIT before DDL); _sqlite_on_begin does it
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        _set_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _set_wal(cursor: Any, attempts: int = 50) -> None:
    """Switch to WAL. The switch needs an exclusive lock, and SQLite may refuse it at once (no busy
    wait) while another process opens the same new database; try again for a few seconds."""
    for attempt in range(attempts):
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == attempts - 1:
                raise
            time.sleep(0.1)


def _sqlite_on_begin(connection: Connection) -> None:
    if connection.get_execution_options().get(BEGIN_IMMEDIATE):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN")
