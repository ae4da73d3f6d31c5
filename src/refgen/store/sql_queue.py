"""The task queue in the SQL store: claim, heartbeat, complete, fail, reap and release a dead
worker's tasks.

The claim picks its task ``FOR UPDATE SKIP LOCKED`` (two workers never wait for, nor take, the
same task) and locks the key row ``FOR UPDATE`` before counting the key's processing tasks, so two
workers claiming two tasks of one key at once cannot both slip under its concurrency limit (on
SQLite the write lock serialises claims). What each change does to the task is decided by
:mod:`refgen.lifecycle`; this module finds the rows, locks them, and applies the answer with its
callback in the same transaction (:func:`~refgen.store.sql_changes.apply_change`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, and_, false, func, or_, select

from refgen import lifecycle
from refgen.domain import Creation, Route, Task, TaskState
from refgen.err_codes import ErrCode
from refgen.store.base import Heartbeat
from refgen.store.schema import api_keys, tasks, workers
from refgen.store.sql_changes import apply_change
from refgen.store.sql_rows import WAITING, load_task
from refgen.store.sql_transactions import SqlTransactions
from refgen.store.times import as_utc

LEASED = lifecycle.LEASED.value


class SqlQueue:
    """:class:`~refgen.store.base.TaskQueue` on the ``tasks`` table (the task table is the queue)."""

    def __init__(self, db: SqlTransactions) -> None:
        self._db = db

    def claim(
        self, worker_id: str, routes: Collection[Route] | None, lease_seconds: float, now: datetime
    ) -> Task | None:
        now = as_utc(now)
        running = tasks.alias("running")
        running_count = (
            select(func.count())
            .select_from(running)
            .where(running.c.key_id == tasks.c.key_id, running.c.state == LEASED)
            .scalar_subquery()
        )
        with self._db.write() as connection:
            full_keys: set[str] = set()
            while True:
                candidate = (
                    select(tasks.c.id, tasks.c.key_id, tasks.c.state, tasks.c.cancel_requested)
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
                    select(func.count()).where(tasks.c.key_id == row.key_id, tasks.c.state == LEASED)
                ).scalar_one()
                if processing >= concurrency:
                    full_keys.add(row.key_id)
                    continue
                change = lifecycle.claim(
                    TaskState(row.state),
                    cancel_requested=bool(row.cancel_requested),
                    worker_id=worker_id,
                    lease_seconds=lease_seconds,
                    now=now,
                )
                if not apply_change(connection, row.id, change):  # cannot happen under the locks above
                    continue
                task = load_task(connection, row.id)
                assert task is not None
                return task

    def heartbeat(
        self, task_id: str, worker_id: str, progress: int, lease_seconds: float, now: datetime
    ) -> Heartbeat:
        now = as_utc(now)
        with self._db.write() as connection:
            row = connection.execute(
                select(tasks.c.state, tasks.c.worker_id, tasks.c.progress, tasks.c.cancel_requested)
                .where(tasks.c.id == task_id)
                .with_for_update()
            ).first()
            if row is None:
                return Heartbeat(still_owner=False, cancel_requested=False)
            state = TaskState(row.state)
            owner = lifecycle.held_by(state, row.worker_id, worker_id)
            if owner:
                change = lifecycle.heartbeat(
                    state,
                    progress=row.progress,
                    reported=progress,
                    worker_id=worker_id,
                    lease_seconds=lease_seconds,
                    now=now,
                )
                owner = apply_change(connection, task_id, change)
            return Heartbeat(still_owner=owner, cancel_requested=bool(row.cancel_requested))

    def complete(self, task_id: str, worker_id: str, creations: Sequence[Creation], now: datetime) -> bool:
        now = as_utc(now)
        with self._db.write() as connection:
            row = _owned(connection, task_id, worker_id)
            if row is None:
                return False
            change = lifecycle.complete(
                TaskState(row.state),
                cancel_requested=bool(row.cancel_requested),
                creations=creations,
                now=now,
            )
            return apply_change(connection, task_id, change) and change.succeeded

    def fail(self, task_id: str, worker_id: str, err_code: ErrCode, now: datetime) -> bool:
        now = as_utc(now)
        with self._db.write() as connection:
            row = _owned(connection, task_id, worker_id)
            if row is None:
                return False
            change = lifecycle.fail(
                TaskState(row.state), cancel_requested=bool(row.cancel_requested), err_code=err_code, now=now
            )
            return apply_change(connection, task_id, change)

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
        with self._db.write() as connection:
            changed = _take_back(connection, expired, now, max_attempts, skip_locked=True)
            stale = connection.execute(
                select(tasks.c.id, tasks.c.state, tasks.c.off_peak)
                .where(tasks.c.off_peak.is_(True), tasks.c.state.in_(WAITING), tasks.c.created_at < cutoff)
                .order_by(tasks.c.created_at, tasks.c.id)
                .with_for_update(skip_locked=True)
            ).all()
            for row in stale:
                change = lifecycle.expire_off_peak(TaskState(row.state), off_peak=bool(row.off_peak), now=now)
                if apply_change(connection, row.id, change):
                    changed.append(row.id)
        return changed

    def release_worker(self, worker_id: str, now: datetime, max_attempts: int | None = None) -> list[str]:
        """Take back the tasks of a worker known to be dead, without waiting for their leases:
        as :meth:`reap` does for an expired lease (:func:`refgen.lifecycle.hand_back`, with
        ``max_attempts`` when given). Returns the changed ids."""
        now = as_utc(now)
        with self._db.write() as connection:
            return _take_back(connection, tasks.c.worker_id == worker_id, now, max_attempts)


def _take_back(
    connection: Connection,
    condition: ColumnElement[bool],
    now: datetime,
    max_attempts: int | None,
    *,
    skip_locked: bool = False,
) -> list[str]:
    """Processing tasks matching ``condition`` lose their worker (:func:`refgen.lifecycle.hand_back`)."""
    rows = connection.execute(
        select(tasks.c.id, tasks.c.state, tasks.c.attempts, tasks.c.cancel_requested)
        .where(tasks.c.state == LEASED, condition)
        .order_by(tasks.c.created_at, tasks.c.id)
        .with_for_update(skip_locked=skip_locked)
    ).all()
    changed: list[str] = []
    for row in rows:
        change = lifecycle.hand_back(
            TaskState(row.state),
            cancel_requested=bool(row.cancel_requested),
            attempts=row.attempts,
            max_attempts=max_attempts,
            now=now,
        )
        if apply_change(connection, row.id, change):
            changed.append(row.id)
    return changed


def _owned(connection: Connection, task_id: str, worker_id: str) -> Row[Any, Any] | None:
    """The task's row, locked, when ``worker_id`` still holds it; else None."""
    return connection.execute(
        select(tasks.c.state, tasks.c.cancel_requested)
        .where(tasks.c.id == task_id, tasks.c.worker_id == worker_id, tasks.c.state == LEASED)
        .with_for_update()
    ).first()
