"""Tasks in the SQL store: insert (with the credit check), read, list, cancel and mark queueing;
the groups of task states the queries use.

Credit checks lock the key row (``FOR UPDATE`` on PostgreSQL, the write lock on SQLite) before
summing the credits the key's unfinished tasks hold.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from refgen.domain import Task, TaskState
from refgen.err_codes import ErrCode
from refgen.errors import CreditInsufficient, StoreError, TaskNotCancellable, TaskNotFound
from refgen.store.base import not_cancellable_message
from refgen.store.schema import api_keys, tasks
from refgen.store.sql_outbox import enqueue_callback
from refgen.store.sql_rows import row_to_task, task_values
from refgen.store.sql_transactions import SqlTransactions
from refgen.store.times import as_utc

WAITING = (TaskState.CREATED.value, TaskState.QUEUEING.value)
UNFINISHED = (TaskState.CREATED.value, TaskState.QUEUEING.value, TaskState.PROCESSING.value)
PROCESSING = TaskState.PROCESSING.value


class SqlTasks(SqlTransactions):
    """:class:`~refgen.store.base.TaskStore` on the ``tasks`` table."""

    def insert_task(self, task: Task) -> None:
        values = task_values(task)
        with self._write() as connection:
            balance_row = connection.execute(
                select(api_keys.c.credits).where(api_keys.c.id == task.key_id).with_for_update()
            ).first()
            if balance_row is None:
                raise StoreError(f"unknown key id {task.key_id!r}")
            balance: int | None = balance_row.credits
            if balance is not None:
                reserved = connection.execute(
                    select(func.coalesce(func.sum(tasks.c.credits), 0)).where(
                        tasks.c.key_id == task.key_id, tasks.c.state.in_(UNFINISHED)
                    )
                ).scalar_one()
                if balance - int(reserved) < task.spec.credits:
                    raise CreditInsufficient()
            connection.execute(insert(tasks).values(**values))

    def get_task(self, task_id: str) -> Task | None:
        with self._read() as connection:
            return load_task(connection, task_id)

    def list_tasks(self, key_id: str, limit: int = 100) -> list[Task]:
        """The key's tasks, newest first."""
        with self._read() as connection:
            rows = connection.execute(
                select(tasks)
                .where(tasks.c.key_id == key_id)
                .order_by(tasks.c.created_at.desc(), tasks.c.id.desc())
                .limit(limit)
            ).all()
        return [row_to_task(row) for row in rows]

    def request_cancel(self, task_id: str, now: datetime) -> Task:
        now = as_utc(now)
        with self._write() as connection:
            row = connection.execute(
                select(tasks.c.state).where(tasks.c.id == task_id).with_for_update()
            ).first()
            if row is None:
                raise TaskNotFound()
            state = TaskState(row.state)
            if state in (TaskState.SUCCESS, TaskState.FAILED):
                raise TaskNotCancellable(not_cancellable_message(state.value))
            if state is TaskState.PROCESSING:
                values: dict[str, Any] = {"cancel_requested": True}
            else:
                values = {
                    "state": TaskState.FAILED.value,
                    "err_code": ErrCode.USER_CANCELLED.value,
                    "finished_at": now,
                    "cancel_requested": True,
                }
            connection.execute(update(tasks).where(tasks.c.id == task_id).values(**values))
            if state is not TaskState.PROCESSING:
                enqueue_callback(connection, task_id, TaskState.FAILED, now)
            task = load_task(connection, task_id)
            assert task is not None
            return task

    def mark_queueing(self, task_id: str) -> None:
        with self._write() as connection:
            connection.execute(
                update(tasks)
                .where(tasks.c.id == task_id, tasks.c.state == TaskState.CREATED.value)
                .values(state=TaskState.QUEUEING.value)
            )


def load_task(connection: Connection, task_id: str) -> Task | None:
    row = connection.execute(select(tasks).where(tasks.c.id == task_id)).first()
    return None if row is None else row_to_task(row)
