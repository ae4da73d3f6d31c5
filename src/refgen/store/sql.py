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

:class:`SqlStore` is put together from one part per concern, each in its own module:

- :mod:`refgen.store.sql_transactions`: the engine, the read and write transactions, error translation;
- :mod:`refgen.store.sql_keys`: API keys;
- :mod:`refgen.store.sql_tasks`: tasks (insert with the credit check, get, list, cancel);
- :mod:`refgen.store.sql_queue`: the queue (claim, heartbeat, complete, fail, reap, release);
- :mod:`refgen.store.sql_workers`: the worker registry;
- :mod:`refgen.store.sql_outbox`: the callback outbox;
- :mod:`refgen.store.sql_rows`: rows ↔ objects.
"""

from __future__ import annotations

from refgen.store.sql_keys import SqlKeys
from refgen.store.sql_outbox import SqlOutbox
from refgen.store.sql_queue import SqlQueue
from refgen.store.sql_tasks import SqlTasks
from refgen.store.sql_workers import SqlWorkers


class SqlStore(SqlKeys, SqlTasks, SqlQueue, SqlWorkers, SqlOutbox):
    """:class:`~refgen.store.base.KeyStore`, :class:`~refgen.store.base.TaskStore`,
    :class:`~refgen.store.base.TaskQueue`, :class:`~refgen.store.base.WorkerRegistry` and
    :class:`~refgen.store.base.CallbackOutbox` on an
    engine from :func:`~refgen.store.engine.make_engine` whose schema is migrated
    (:func:`~refgen.store.migrate.upgrade`). The caller owns the engine."""
