"""Tasks in the SQL store: insert (with the credit check), read, list and query (filters, keyset
pages), a key's usage, cancel and mark queueing (the last two apply what :mod:`refgen.lifecycle`
decides).

A query is served by ``ix_tasks_key_created`` (``key_id, created_at, id``): the key's tasks in the
list order, the keyset condition a range on the same index.

Credit checks lock the key row (``FOR UPDATE`` on PostgreSQL, the write lock on SQLite) before
summing the credits the key's unfinished tasks hold; the queue limits (:class:`QueueLimits`) are
counted in the same transaction, each count stopping at its limit (the server-wide one walks
``ix_tasks_claim``). An ``Idempotency-Key`` is looked up and recorded in that transaction too
(:mod:`refgen.store.sql_idempotency`), before the credits and limits: a duplicate is answered with
the earlier task, never refused for the credits or the queue place that task holds.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal,
    or_,
    select,
)

from refgen import lifecycle
from refgen.domain import Task, TaskKind, TaskState
from refgen.errors import (
    CreditInsufficient,
    KeyQueueFull,
    StoreError,
    SystemThrottling,
    TaskNotFound,
    Unauthorized,
)
from refgen.store.base import IdempotentCreate, QueueCount, QueueLimits
from refgen.store.schema import api_keys, tasks
from refgen.store.sql_changes import apply_change
from refgen.store.sql_idempotency import is_duplicate_key, live_record, record
from refgen.store.sql_rows import UNFINISHED, WAITING, load_task, row_to_task, task_values
from refgen.store.sql_transactions import SqlTransactions
from refgen.store.times import as_utc
from refgen.task_query import KeyUsage, TaskQuery


class SqlTasks:
    """:class:`~refgen.store.base.TaskStore` on the ``tasks`` table."""

    def __init__(self, db: SqlTransactions) -> None:
        self._db = db

    def insert_task(
        self, task: Task, limits: QueueLimits | None = None, idempotency: IdempotentCreate | None = None
    ) -> str:
        try:
            return self._insert(task, limits, idempotency)
        except StoreError as error:
            if idempotency is None or not is_duplicate_key(error):
                raise
            # a concurrent create with the same key committed first: answer its task
            found = self.find_idempotent(task.key_id, idempotency)
            if found is None:
                raise
            return found

    def find_idempotent(self, key_id: str, create: IdempotentCreate) -> str | None:
        with self._db.read() as connection:
            found = live_record(connection, key_id, create)
        return None if found is None else found.task_for(create)

    def _insert(self, task: Task, limits: QueueLimits | None, idempotency: IdempotentCreate | None) -> str:
        values = task_values(task)
        key_id = {"key_id": task.key_id}
        with self._db.write() as connection:
            balance_row = connection.execute(_KEY_FOR_INSERT, key_id).first()
            if balance_row is None:
                raise StoreError(f"unknown key id {task.key_id!r}")
            if balance_row.revoked_at is not None:  # the caller's key may come from a cache
                raise Unauthorized("invalid API key")
            if idempotency is not None:
                earlier = live_record(connection, task.key_id, idempotency)
                if earlier is not None:
                    return earlier.task_for(idempotency)
            balance: int | None = balance_row.credits
            if balance is not None:
                reserved = connection.execute(_RESERVED_CREDITS, key_id).scalar_one()
                if balance - int(reserved) < task.spec.credits:
                    raise CreditInsufficient()
            if limits is not None and not task.spec.off_peak:
                of_key = connection.execute(_WAITING_OF_KEY, {**key_id, "cap": limits.per_key}).scalar_one()
                if of_key >= limits.per_key:
                    raise KeyQueueFull()
                if connection.execute(_WAITING, {"cap": limits.total}).scalar_one() >= limits.total:
                    raise SystemThrottling()
            # the statement is built once; the row goes as parameters (no expression per column)
            connection.execute(_INSERT_TASK, values)
            if idempotency is not None:
                record(connection, task.key_id, task.id, idempotency)
        return task.id

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

    def query_tasks(self, query: TaskQuery) -> list[Task]:
        statement = (
            select(tasks)
            .where(*_conditions(query))
            .order_by(tasks.c.created_at.desc(), tasks.c.id.desc())
            .limit(query.limit)
            .offset(query.offset)
        )
        with self._db.read() as connection:
            return [row_to_task(row) for row in connection.execute(statement).all()]

    def key_usage(self, key_id: str) -> KeyUsage:
        state = tasks.c.state
        with self._db.read() as connection:
            row = connection.execute(
                select(
                    select(api_keys.c.credits).where(api_keys.c.id == key_id).scalar_subquery(),
                    select(api_keys.c.swept_credits).where(api_keys.c.id == key_id).scalar_subquery(),
                    _sum_where(state == TaskState.SUCCESS.value, tasks.c.credits),
                    _sum_where(state.in_(UNFINISHED), tasks.c.credits),
                    _sum_where(state == TaskState.PROCESSING.value, 1),
                    _sum_where(state.in_(WAITING), 1),
                ).where(tasks.c.key_id == key_id)
            ).one()
        balance = None if row[0] is None else int(row[0])
        swept = int(row[1] or 0)  # charged for success tasks retention has removed
        return KeyUsage(balance, swept + int(row[2]), int(row[3]), int(row[4]), int(row[5]))

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

    def queue_depth(self) -> list[QueueCount]:
        with self._db.read() as connection:
            rows = connection.execute(
                select(tasks.c.state, tasks.c.kind, tasks.c.model, func.count())
                .where(tasks.c.state.in_(UNFINISHED))
                .group_by(tasks.c.state, tasks.c.kind, tasks.c.model)
            ).all()
        return [QueueCount(TaskState(state), TaskKind(kind), model, int(n)) for state, kind, model, n in rows]


def _waiting(*conditions: ColumnElement[bool]) -> Select[int]:
    """How many tasks (passing ``conditions``) wait and are not off-peak, counted up to ``:cap``."""
    found = (
        select(literal(1))
        .select_from(tasks)
        .where(tasks.c.state.in_(WAITING), tasks.c.off_peak.is_(False), *conditions)
        .limit(bindparam("cap", type_=Integer))
        .subquery()
    )
    return select(func.count()).select_from(found)


# a create's statements, built once (building one costs more than running it on SQLite)
_KEY_FOR_INSERT = (
    select(api_keys.c.credits, api_keys.c.revoked_at)
    .where(api_keys.c.id == bindparam("key_id"))
    .with_for_update()
)
_RESERVED_CREDITS = select(func.coalesce(func.sum(tasks.c.credits), 0)).where(
    tasks.c.key_id == bindparam("key_id"), tasks.c.state.in_(UNFINISHED)
)
_WAITING_OF_KEY = _waiting(tasks.c.key_id == bindparam("key_id"))
_WAITING = _waiting()
_INSERT_TASK = insert(tasks)


def _conditions(query: TaskQuery) -> list[ColumnElement[bool]]:
    """The WHERE clause of a query: its key, each filter given, and the keyset position."""
    conditions: list[ColumnElement[bool]] = [tasks.c.key_id == query.key_id]
    for column, values in (
        (tasks.c.id, query.task_ids),
        (tasks.c.state, None if query.states is None else [s.value for s in query.states]),
        (tasks.c.model, query.models),
        (tasks.c.resolution, query.resolutions),
    ):
        if values is not None:
            conditions.append(column.in_(sorted(set(values))))
    if query.created_from is not None:
        conditions.append(tasks.c.created_at >= as_utc(query.created_from))
    if query.created_to is not None:
        conditions.append(tasks.c.created_at < as_utc(query.created_to))
    if query.after is not None:
        at = as_utc(query.after.created_at)
        conditions.append(
            or_(tasks.c.created_at < at, and_(tasks.c.created_at == at, tasks.c.id < query.after.id))
        )
    return conditions


def _sum_where(condition: ColumnElement[bool], value: ColumnElement[int] | int) -> ColumnElement[int]:
    """``SUM(CASE WHEN condition THEN value ELSE 0 END)``, portable, 0 when there are no rows."""
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)
