"""Tasks in the SQL store: insert (with the credit check), read, list, cancel and mark queueing
(the last two apply what :mod:`refgen.lifecycle` decides).

Credit checks lock the key row (``FOR UPDATE`` on PostgreSQL, the write lock on SQLite) before
summing the credits the key's unfinished tasks hold.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select

from refgen import lifecycle
from refgen.domain import TERMINAL_STATES, Task, TaskState
from refgen.errors import CreditInsufficient, StoreError, TaskNotFound
from refgen.store.schema import api_keys, tasks
from refgen.store.sql_changes import apply_change
from refgen.store.sql_rows import load_task, row_to_task, task_values
from refgen.store.sql_transactions import SqlTransactions
from refgen.store.times import as_utc

UNFINISHED = sorted(state.value for state in TaskState if state not in TERMINAL_STATES)


class SqlTasks:
    """:class:`~refgen.store.base.TaskStore` on the ``tasks`` table."""

    def __init__(self, db: SqlTransactions) -> None:
        self._db = db

    def insert_task(self, task: Task) -> None:
        values = task_values(task)
        with self._db.write() as connection:
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
        with self._db.read() as connection:
            return load_task(connection, task_id)

    def list_tasks(self, key_id: str, limit: int = 100) -> list[Task]:
        """The key's tasks, newest first."""
        with self._db.read() as connection:
            rows = connection.execute(
                select(tasks)
                .where(tasks.c.key_id == key_id)
                .order_by(tasks.c.created_at.desc(), tasks.c.id.desc())
                .limit(limit)
            ).all()
        return [row_to_task(row) for row in rows]

    def request_cancel(self, task_id: str, now: datetime) -> Task:
        now = as_utc(now)
        with self._db.write() as connection:
            row = connection.execute(
                select(tasks.c.state).where(tasks.c.id == task_id).with_for_update()
            ).first()
            if row is None:
                raise TaskNotFound()
            apply_change(connection, task_id, lifecycle.request_cancel(TaskState(row.state), now=now))
            task = load_task(connection, task_id)
            assert task is not None
            return task

    def mark_queueing(self, task_id: str) -> None:
        with self._db.write() as connection:
            apply_change(connection, task_id, lifecycle.mark_queueing())
