"""The SQL store: keys, tasks and the queue in one database (SQLite or PostgreSQL).

Every method is one transaction. Transactions that read and then write take the write lock up
front: on SQLite ``BEGIN IMMEDIATE`` (see :mod:`refgen.store.engine`), so processes sharing the file
are serialised; on PostgreSQL row locks: the claim picks its task ``FOR UPDATE SKIP LOCKED`` (two
workers never wait for, nor take, the same task) and locks the key row ``FOR UPDATE`` before
counting the key's processing tasks, so two workers claiming two tasks of one key at once cannot
both slip under its concurrency limit. Credit checks lock the key row the same way.

The callback outbox rides on the same transactions: a state change a callback reports inserts its
``callback_deliveries`` row before the transaction commits
(:func:`~refgen.store.sql_changes.enqueue_callback`). Dispatchers take due deliveries the way
workers take tasks (``SKIP LOCKED``, or the SQLite write lock), marking them with a short lease
(``locked_until``).

Driver errors become :class:`~refgen.errors.StoreError` once, in
:mod:`refgen.store.sql_transactions`.

:class:`SqlStore` has one part per concern, each in its own module, all sharing one
:class:`~refgen.store.sql_transactions.SqlTransactions`:

- ``store.keys``: :mod:`refgen.store.sql_keys` (API keys);
- ``store.tasks``: :mod:`refgen.store.sql_tasks` (insert with the credit check, get, list, cancel);
- ``store.queue``: :mod:`refgen.store.sql_queue` (claim, heartbeat, complete, fail, reap, release);
- ``store.workers``: :mod:`refgen.store.sql_workers` (the worker registry);
- ``store.outbox``: :mod:`refgen.store.sql_outbox` (the callback outbox);
- ``store.retention``: :mod:`refgen.store.sql_retention` (removing old finished tasks).

The parts never import each other; what they share lives in its own module:
:mod:`refgen.store.sql_transactions` (the transactions), :mod:`refgen.store.sql_rows` (rows ↔
objects) and :mod:`refgen.store.sql_changes` (applying a :class:`~refgen.lifecycle.TaskChange`
with its callback).
"""

from __future__ import annotations

from sqlalchemy import Engine

from refgen.store.sql_keys import SqlKeys
from refgen.store.sql_outbox import SqlOutbox
from refgen.store.sql_queue import SqlQueue
from refgen.store.sql_retention import SqlRetention
from refgen.store.sql_tasks import SqlTasks
from refgen.store.sql_transactions import SqlTransactions
from refgen.store.sql_workers import SqlWorkers


class SqlStore:
    """The store on an engine from :func:`~refgen.store.engine.make_engine` whose schema is
    migrated (:func:`~refgen.store.migrate.upgrade`). The caller owns the engine."""

    def __init__(self, engine: Engine) -> None:
        self._db = SqlTransactions(engine)
        self.keys = SqlKeys(self._db)
        self.tasks = SqlTasks(self._db)
        self.queue = SqlQueue(self._db)
        self.outbox = SqlOutbox(self._db)
        self.workers = SqlWorkers(self._db)
        self.retention = SqlRetention(self._db)

    def ping(self) -> bool:
        """Whether the database answers (for readiness checks)."""
        return self._db.ping()
