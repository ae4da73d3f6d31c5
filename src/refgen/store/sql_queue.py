"""The task queue in the SQL store: claim, heartbeat, complete, fail, reap and release a dead
worker's tasks.

The claim picks its task ``FOR UPDATE SKIP LOCKED`` (two workers never wait for, nor take, the
same task) and locks the key row ``FOR UPDATE`` before counting the key's processing tasks, so two
workers claiming two tasks of one key at once cannot both slip under its concurrency limit (on
SQLite the write lock serialises claims). Each state change queues its callback in the same
transaction (:func:`~refgen.store.sql_outbox.enqueue_callback`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, and_, case, false, func, or_, select, update

from refgen.domain import Creation, Task, TaskState
from refgen.err_codes import ErrCode
from refgen.store.base import Heartbeat, Route
from refgen.store.schema import api_keys, tasks, workers
from refgen.store.sql_outbox import enqueue_callback
from refgen.store.sql_rows import creations_json
from refgen.store.sql_tasks import PROCESSING, WAITING, load_task
from refgen.store.sql_transactions import SqlTransactions
from refgen.store.times import as_utc


class SqlQueue(SqlTransactions):
    """:class:`~refgen.store.base.TaskQueue` on the ``tasks`` table (the task table is the queue)."""

    def claim(
        self, worker_id: str, routes: Collection[Route] | None, lease_seconds: float, now: datetime
    ) -> Task | None:
        now = as_utc(now)
        running = tasks.alias("running")
        running_count = (
            select(func.count())
            .select_from(running)
            .where(running.c.key_id == tasks.c.key_id, running.c.state == PROCESSING)
            .scalar_subquery()
        )
        with self._write() as connection:
            full_keys: set[str] = set()
            while True:
                candidate = (
                    select(tasks.c.id, tasks.c.key_id)
                    .join(api_keys, api_keys.c.id == tasks.c.key_id)
                    .where(
                        tasks.c.state.in_(WAITING),
                        tasks.c.cancel_requested.is_(False),
                        running_count < api_keys.c.concurrency,
                    )
                    .order_by(tasks.c.off_peak, tasks.c.created_at, tasks.c.id)
                    .limit(1)
                    .with_for_update(skip_locked=True, of=tasks)
                )
                if routes is not None:
                    served = [
                        and_(tasks.c.kind == kind.value, tasks.c.model == model) for kind, model in routes
                    ]
                    candidate = candidate.where(or_(false(), *served))
                if full_keys:
                    candidate = candidate.where(tasks.c.key_id.not_in(sorted(full_keys)))
                row = connection.execute(candidate).first()
                if row is None:
                    return None
                # lock the key, then count: a concurrent claim of the same key waits here (PostgreSQL)
                concurrency = connection.execute(
                    select(api_keys.c.concurrency).where(api_keys.c.id == row.key_id).with_for_update()
                ).scalar_one()
                processing = connection.execute(
                    select(func.count()).where(tasks.c.key_id == row.key_id, tasks.c.state == PROCESSING)
                ).scalar_one()
                if processing >= concurrency:
                    full_keys.add(row.key_id)
                    continue
                result = connection.execute(
                    update(tasks)
                    .where(
                        tasks.c.id == row.id, tasks.c.state.in_(WAITING), tasks.c.cancel_requested.is_(False)
                    )
                    .values(
                        state=PROCESSING,
                        worker_id=worker_id,
                        lease_expires_at=now + timedelta(seconds=lease_seconds),
                        started_at=now,
                        attempts=tasks.c.attempts + 1,
                    )
                )
                if result.rowcount != 1:  # taken meanwhile; cannot happen under the locks above
                    continue
                enqueue_callback(connection, row.id, TaskState.PROCESSING, now)
                task = load_task(connection, row.id)
                assert task is not None
                return task

    def heartbeat(
        self, task_id: str, worker_id: str, progress: int, lease_seconds: float, now: datetime
    ) -> Heartbeat:
        now = as_utc(now)
        progress = max(0, min(100, progress))
        with self._write() as connection:
            result = connection.execute(
                update(tasks)
                .where(tasks.c.id == task_id, tasks.c.worker_id == worker_id, tasks.c.state == PROCESSING)
                .values(
                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                    progress=case((tasks.c.progress < progress, progress), else_=tasks.c.progress),
                )
            )
            flag = connection.execute(
                select(tasks.c.cancel_requested).where(tasks.c.id == task_id)
            ).scalar_one_or_none()
            return Heartbeat(still_owner=result.rowcount == 1, cancel_requested=bool(flag))

    def complete(self, task_id: str, worker_id: str, creations: Sequence[Creation], now: datetime) -> bool:
        now = as_utc(now)
        with self._write() as connection:
            row = _owned(connection, task_id, worker_id)
            if row is None:
                return False
            if row.cancel_requested:
                _finish(connection, task_id, TaskState.FAILED, now, err_code=ErrCode.USER_CANCELLED.value)
                enqueue_callback(connection, task_id, TaskState.FAILED, now)
                return False
            _finish(
                connection,
                task_id,
                TaskState.SUCCESS,
                now,
                progress=100,
                creations=creations_json(creations),
            )
            connection.execute(
                update(api_keys)
                .where(api_keys.c.id == row.key_id, api_keys.c.credits.is_not(None))
                .values(credits=api_keys.c.credits - row.credits)
            )
            enqueue_callback(connection, task_id, TaskState.SUCCESS, now)
            return True

    def fail(self, task_id: str, worker_id: str, err_code: ErrCode, now: datetime) -> bool:
        now = as_utc(now)
        with self._write() as connection:
            row = _owned(connection, task_id, worker_id)
            if row is None:
                return False
            _finish(
                connection,
                task_id,
                TaskState.FAILED,
                now,
                err_code=ErrCode.USER_CANCELLED.value if row.cancel_requested else str(err_code),
            )
            enqueue_callback(connection, task_id, TaskState.FAILED, now)
            return True

    def reap(
        self,
        now: datetime,
        max_attempts: int,
        off_peak_expiry_seconds: float,
        worker_timeout: float | None = None,
    ) -> list[str]:
        now = as_utc(now)
        cutoff = now - timedelta(seconds=off_peak_expiry_seconds)
        expired = tasks.c.lease_expires_at < now
        if worker_timeout is not None:  # never take a task from a worker seen within the timeout
            alive = select(workers.c.id).where(
                workers.c.stopped_at.is_(None),
                workers.c.last_seen_at >= now - timedelta(seconds=worker_timeout),
            )
            expired = and_(expired, or_(tasks.c.worker_id.is_(None), tasks.c.worker_id.not_in(alive)))
        with self._write() as connection:
            changed = _take_back(connection, expired, now, max_attempts, skip_locked=True)
            stale = (
                connection.execute(
                    select(tasks.c.id)
                    .where(
                        tasks.c.off_peak.is_(True), tasks.c.state.in_(WAITING), tasks.c.created_at < cutoff
                    )
                    .order_by(tasks.c.created_at, tasks.c.id)
                    .with_for_update(skip_locked=True)
                )
                .scalars()
                .all()
            )
            for task_id in stale:
                result = connection.execute(
                    update(tasks)
                    .where(tasks.c.id == task_id, tasks.c.state.in_(WAITING))
                    .values(
                        state=TaskState.FAILED.value, err_code=ErrCode.QUOTA_EXCEEDED.value, finished_at=now
                    )
                )
                if result.rowcount == 1:
                    enqueue_callback(connection, task_id, TaskState.FAILED, now)
                    changed.append(task_id)
        return changed

    def release_worker(self, worker_id: str, now: datetime, max_attempts: int | None = None) -> list[str]:
        """Take back the tasks of a worker known to be dead, without waiting for their leases:
        as :meth:`reap` does for an expired lease (requeue; fail a cancel-flagged task, or one
        that already had ``max_attempts`` attempts when that is given). Returns the changed ids."""
        now = as_utc(now)
        with self._write() as connection:
            return _take_back(connection, tasks.c.worker_id == worker_id, now, max_attempts)


def _take_back(
    connection: Connection,
    condition: ColumnElement[bool],
    now: datetime,
    max_attempts: int | None,
    *,
    skip_locked: bool = False,
) -> list[str]:
    """Processing tasks matching ``condition`` lose their worker: back to the queue, or failed."""
    rows = connection.execute(
        select(tasks.c.id, tasks.c.attempts, tasks.c.cancel_requested)
        .where(tasks.c.state == PROCESSING, condition)
        .order_by(tasks.c.created_at, tasks.c.id)
        .with_for_update(skip_locked=skip_locked)
    ).all()
    changed: list[str] = []
    for row in rows:
        values: dict[str, Any] = {"worker_id": None, "lease_expires_at": None}
        if row.cancel_requested:
            values.update(
                state=TaskState.FAILED.value, err_code=ErrCode.USER_CANCELLED.value, finished_at=now
            )
        elif max_attempts is not None and row.attempts >= max_attempts:
            values.update(
                state=TaskState.FAILED.value, err_code=ErrCode.INTERNAL_SERVICE_FAILURE.value, finished_at=now
            )
        else:
            values.update(state=TaskState.QUEUEING.value, progress=0)
        result = connection.execute(
            update(tasks).where(tasks.c.id == row.id, tasks.c.state == PROCESSING).values(**values)
        )
        if result.rowcount == 1:
            if values["state"] == TaskState.FAILED.value:
                enqueue_callback(connection, row.id, TaskState.FAILED, now)
            changed.append(row.id)
    return changed


def _owned(connection: Connection, task_id: str, worker_id: str) -> Row[Any, Any, Any] | None:
    """The task's row, locked, when ``worker_id`` still holds it; else None."""
    return connection.execute(
        select(tasks.c.key_id, tasks.c.credits, tasks.c.cancel_requested)
        .where(tasks.c.id == task_id, tasks.c.worker_id == worker_id, tasks.c.state == PROCESSING)
        .with_for_update()
    ).first()


def _finish(connection: Connection, task_id: str, state: TaskState, now: datetime, **values: Any) -> None:
    connection.execute(
        update(tasks)
        .where(tasks.c.id == task_id)
        .values(state=state.value, finished_at=now, lease_expires_at=None, **values)
    )
