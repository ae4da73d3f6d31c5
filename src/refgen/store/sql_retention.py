"""Retention in the SQL store: removing finished tasks, oldest first, with their callbacks.

On PostgreSQL one transaction takes the batch ``FOR UPDATE SKIP LOCKED`` (a concurrent sweeper
skips these rows and takes the next ones), locks the batch's callback deliveries (a dispatcher
recording an attempt waits, then finds the delivery gone), has the files discarded, and deletes
the rows. On SQLite, whose write lock would stall every create and claim while files are removed,
the batch is read first, its files discarded with no lock held, and the rows deleted in one write
transaction that takes only the tasks still eligible. Rows referring to a task are deleted before it:
callback attempts, then deliveries; tables that reference tasks ``ON DELETE CASCADE`` follow it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, delete, exists, func, select, update

from refgen.domain import TERMINAL_STATES, TaskState
from refgen.store.base import DeliveryStatus
from refgen.store.schema import api_keys, callback_attempts, callback_deliveries, tasks
from refgen.store.sql_transactions import SqlTransactions
from refgen.store.times import as_utc

FINISHED = sorted(state.value for state in TERMINAL_STATES)


class SqlRetention:
    """:class:`~refgen.store.base.TaskRetention` on the ``tasks`` table and the callback outbox."""

    def __init__(self, db: SqlTransactions) -> None:
        self._db = db

    def sweep_finished(
        self, finished_before: datetime, limit: int, discard_files: Callable[[Sequence[str]], None]
    ) -> list[str]:
        eligible = _eligible(as_utc(finished_before))
        batch = select(tasks.c.id).where(eligible).order_by(tasks.c.finished_at, tasks.c.id).limit(limit)
        if self._db.row_locks:
            with self._db.write() as connection:
                ids = list(connection.execute(batch.with_for_update(skip_locked=True, of=tasks)).scalars())
                if ids:
                    _lock_deliveries(connection, ids)
                    discard_files(ids)
                    _delete(connection, ids)
                return ids
        with self._db.read() as connection:
            taken = list(connection.execute(batch).scalars())
        if not taken:
            return []
        discard_files(taken)
        with self._db.write() as connection:
            still = set(
                connection.execute(select(tasks.c.id).where(tasks.c.id.in_(taken), eligible)).scalars()
            )
            ids = [task_id for task_id in taken if task_id in still]  # in the batch's order
            _delete(connection, ids)
        return ids


def _eligible(finished_before: datetime) -> ColumnElement[bool]:
    """Finished before the cutoff, and no callback of the task is still to be sent."""
    pending = exists().where(
        callback_deliveries.c.task_id == tasks.c.id,
        callback_deliveries.c.status == DeliveryStatus.PENDING.value,
    )
    return tasks.c.state.in_(FINISHED) & (tasks.c.finished_at < finished_before) & ~pending


def _lock_deliveries(connection: Connection, ids: Sequence[str]) -> None:
    connection.execute(
        select(callback_deliveries.c.id).where(callback_deliveries.c.task_id.in_(ids)).with_for_update()
    ).all()


def _delete(connection: Connection, ids: Sequence[str]) -> None:
    """Delete the tasks ``ids`` and what refers to them; their key keeps the credits they were charged."""
    if not ids:
        return
    charged = (
        select(tasks.c.key_id, func.sum(tasks.c.credits))
        .where(tasks.c.id.in_(ids), tasks.c.state == TaskState.SUCCESS.value)
        .group_by(tasks.c.key_id)
        .order_by(tasks.c.key_id)
    )
    for key_id, credits in connection.execute(charged).all():
        connection.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id)
            .values(swept_credits=api_keys.c.swept_credits + int(credits))
        )
    deliveries = select(callback_deliveries.c.id).where(callback_deliveries.c.task_id.in_(ids))
    connection.execute(delete(callback_attempts).where(callback_attempts.c.delivery_id.in_(deliveries)))
    connection.execute(delete(callback_deliveries).where(callback_deliveries.c.task_id.in_(ids)))
    connection.execute(delete(tasks).where(tasks.c.id.in_(ids)))
